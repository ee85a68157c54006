"""The code staff type at the till, and the optional offer a sender adds to a message."""

from __future__ import annotations

from django import forms

from outreach.offers import CODE_LENGTH, Offer, normalise_code


class OfferCodeForm(forms.Form):
    code = forms.CharField(
        label="Offer code",
        max_length=40,
        help_text="As the customer shows it, e.g. KX7PM-Q4RTA (any case, dashes optional).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if len(code) != CODE_LENGTH + 1:
            raise forms.ValidationError(
                f"A code has {CODE_LENGTH} letters and digits (two groups of five, such as KX7PM-Q4RTA)."
            )
        return code


class OfferForm(forms.Form):
    """The optional offer of a message on the compose page (prefix "offer"); outreach.offers saves it."""

    include = forms.BooleanField(required=False, label="Add an offer (needs their consent to marketing)")
    kind = forms.ChoiceField(
        choices=Offer.Kind.choices, initial=Offer.Kind.DISCOUNT, label="Kind of offer", required=False
    )
    description = forms.CharField(
        max_length=200,
        required=False,
        label="What they get",
        help_text="As they will read it, e.g. 15% off your honeymoon booking.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Valid until",
        help_text="The last day it can be used. Empty: 60 days from today.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("include") and not (data.get("description") or "").strip():
            self.add_error("description", "Say what the offer gives them.")
        data["kind"] = data.get("kind") or Offer.Kind.DISCOUNT
        return data

    @property
    def wanted(self) -> bool:
        return self.is_bound and self.is_valid() and self.cleaned_data["include"]
