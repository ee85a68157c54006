"""Forms for writing to a customer, their contact preferences, and the contact limit."""

from __future__ import annotations

from django import forms

from outreach import texts
from outreach.models import Message, Occasion, OutreachSettings


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

    def clean(self):
        data = super().clean()
        body, template = data.get("body", ""), data.get("template_body", "")
        if body and template and texts.words(body) == texts.words(template) and not data.get("confirm_unchanged"):
            self.add_error(
                "body",
                "This is the template word for word. Change it to make it yours, or tick the box below to "
                "confirm you read it and it says what you mean.",
            )
        if body and "{" in body and texts._FIELD.search(body):
            self.add_error("body", "A merge field was left in braces; write the words instead.")
        return data

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
