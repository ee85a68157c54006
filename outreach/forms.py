"""Forms for writing to a customer, their contact preferences, and the contact limit."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError

from outreach import offers, services, texts
from outreach.models import Message, Occasion, OutreachSettings

# The offer's own fields: a service error about these goes beside the offer, not the message.
_OFFER_FIELDS = ("offer", "expires_on", "description")


class ComposeForm(forms.Form):
    channel = forms.ChoiceField(
        choices=Message.Channel.choices,
        widget=forms.RadioSelect,
        label="Send as",
        error_messages={"required": "Choose email or a card in the post."},
    )
    occasion = forms.ChoiceField(choices=Occasion.choices)
    subject = forms.CharField(max_length=150)
    body = forms.CharField(
        label="Message",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 9}),
        help_text="Make it yours: say something only you would know about them.",
    )
    # The merged template the sender started from; the body must differ from it, or be confirmed.
    template_body = forms.CharField(widget=forms.HiddenInput, required=False, max_length=4000)
    confirm_unchanged = forms.BooleanField(
        required=False, label="I read it and it says what I mean (send the template's words as they are)"
    )
    genuine = forms.BooleanField(required=False, label="Yes, this is genuine for this customer")
    source = forms.ChoiceField(choices=Message.Source.choices, widget=forms.HiddenInput, required=False)
    source_id = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, previewing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # A preview shows the template as the customer would read it; only sending asks for it to be made one's own.
        self.previewing = previewing

    def clean(self):
        data = super().clean()
        body, template = data.get("body", ""), data.get("template_body", "")
        unchanged = body and template and texts.words(body) == texts.words(template)
        if unchanged and not data.get("confirm_unchanged") and not self.previewing:
            self.add_error(
                "body",
                "This is the template word for word. Change it to make it yours, or tick the box below to "
                "confirm you read it and it says what you mean.",
            )
        if body and "{" in body and texts._FIELD.search(body):
            self.add_error("body", "A merge field was left in braces; write the words instead.")
        return data

    flags: list[str] = []

    @staticmethod
    def initial_from(start) -> dict:
        """The form's first values from where the message starts (a selectors.ComposeStart)."""
        return {
            "channel": start.channel,
            "occasion": start.occasion,
            "subject": start.subject,
            "body": start.body,
            "template_body": start.body,
            "source": start.source,
            "source_id": start.source_id,
            "idempotency_key": uuid.uuid4(),
        }

    def draft(self) -> services.Draft:
        data = self.cleaned_data
        return services.Draft(
            channel=data["channel"],
            occasion=data["occasion"],
            subject=data["subject"],
            body=data["body"],
            template_body=data["template_body"],
            source=data["source"] or Message.Source.BRIEF,
            source_id=data["source_id"],
            idempotency_key=data["idempotency_key"],
        )

    def check_genuine(self, customer) -> bool:
        """Ask the sender to confirm a message that looks mechanical (self.flags says why); True if it may go."""
        data = self.cleaned_data
        edited = texts.words(data["body"]) != texts.words(data["template_body"])
        self.flags = services.genuineness_flags(
            customer=customer, body=data["body"], edited=edited, occasion=data["occasion"]
        )
        if self.flags and not data["genuine"]:
            self.add_error("genuine", "Tick this box if the message is personal to them, or change it.")
            return False
        return True

    def send(self, *, customer, sender, location, offer_form) -> Message | None:
        """Send the valid message (with its offer if one is wanted); None with the errors on the forms if not."""
        if not self.check_genuine(customer):
            return None
        try:
            if offer_form.wanted:
                offer = {k: offer_form.cleaned_data[k] for k in ("kind", "description", "expires_on")}
                return offers.message_compose_with_offer(
                    customer=customer, sender=sender, location=location, draft=self.draft(), **offer
                )
            return services.message_compose(customer=customer, sender=sender, location=location, draft=self.draft())
        except services.Refused as refused:
            self._refused(refused.verdict, offer_form)
        except ValidationError as error:
            self._invalid(error, offer_form)
        return None

    def _refused(self, verdict, offer_form) -> None:
        if verdict.about == "marketing":  # the offer needs consent the message does not
            offer_form.add_error("include", verdict.reason)
        else:
            self.add_error("channel" if verdict.about == "channel" else None, verdict.reason)

    def _invalid(self, error: ValidationError, offer_form) -> None:
        for field, problems in error.message_dict.items():
            if field in _OFFER_FIELDS:
                offer_form.add_error(None if field == "offer" else field, problems)
            else:
                self.add_error(field if field in self.fields else None, problems)

    @property
    def unchanged(self) -> bool:
        body, template = self.data.get("body", ""), self.data.get("template_body", "")
        return bool(template) and texts.words(body) == texts.words(template)


class ContactPreferenceForm(forms.Form):
    postal_address = forms.CharField(
        required=False,
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="As it goes on the envelope: name, street, town, postcode, one per line.",
    )
    marketing_consent = forms.BooleanField(required=False, label="Agreed to marketing (offers)")
    do_not_contact = forms.BooleanField(
        required=False, label="Do not contact", help_text="Stops every message to them at once, queued ones too."
    )
    do_not_contact_reason = forms.CharField(required=False, max_length=200, label="Why (for colleagues)")


class PreferencesForm(forms.Form):
    """The customer's own page, reached from a signed link."""

    email = forms.BooleanField(required=False, label="Personal emails from us")
    mail = forms.BooleanField(required=False, label="Cards and letters in the post")
    marketing = forms.BooleanField(required=False, label="Offers (a discount or a gift now and then)")
    nothing = forms.BooleanField(required=False, label="Please do not contact me at all")


class OutreachSettingsForm(forms.ModelForm):
    class Meta:
        model = OutreachSettings
        fields = ["max_messages", "period_days"]

    def clean_max_messages(self):
        value = self.cleaned_data["max_messages"]
        if not 1 <= value <= 20:
            raise forms.ValidationError("Choose between 1 and 20 messages.")
        return value

    def clean_period_days(self):
        value = self.cleaned_data["period_days"]
        if not 1 <= value <= 365:
            raise forms.ValidationError("Choose between 1 and 365 days.")
        return value
