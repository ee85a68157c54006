import datetime
import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError

from crm.kernel import business, confidences
from crm.kernel.models import Location, User
from crm.kernel.uploads import check_receipt
from customers.access import PRIVATE_NOTE, show_follow_ups
from customers.models import Customer, FollowUp
from microcx.access import budget_locations_for, gesture_locations_for
from microcx.models import Budget, DiscretionRule, Gesture
from microcx.services import clean_amount, currency_places


class AmountField(forms.DecimalField):
    """A money amount written plainly ("20", "19.50"): refused when negative, absurd, with too many
    decimal places, or in any other notation ("1e3", "NaN", "Infinity", "1,000", "0x10")."""

    def __init__(self, *args, allow_negative: bool = False, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
        super().__init__(*args, **kwargs)
        self.allow_negative = allow_negative

    def to_python(self, value):
        text = str(value).strip() if value is not None else ""
        if text in self.empty_values:
            return None
        places = currency_places()
        if not re.fullmatch(r"-?[0-9]+(\.[0-9]*)?|-?\.[0-9]+", text, flags=re.ASCII):
            example = "20 or 19.50" if places else "20"
            raise ValidationError(f"Write the amount as a plain number, such as {example}.", code="invalid")
        _whole, _, decimals = text.partition(".")
        if len(decimals) > places:
            raise ValidationError(
                f"Amounts in {business.current().currency} have at most {places} decimal places.", code="invalid"
            )
        return super().to_python(text)

    def clean(self, value):
        amount = super().clean(value)
        if amount is None:
            return amount
        return clean_amount(amount, allow_negative=self.allow_negative)


class GestureForm(forms.Form):
    category = forms.ChoiceField(choices=Gesture.Category.choices)
    description = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "What you will do, and why it suits this customer"}),
        help_text="What, and why it fits this customer.",
    )
    amount = AmountField(min_value=0, help_text="Zero is fine for a favour or a handwritten card.")
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    inspired_by = forms.ChoiceField(label="Inspired by", required=False)
    occasion = forms.ChoiceField(
        label="Why this gesture?",
        required=False,
        choices=[("", "Not sure"), *Gesture.Occasion.choices],
        help_text="Putting right a bad experience and delighting are measured apart on the loyalty dashboard.",
    )
    genuine = forms.BooleanField(
        required=False, label="Yes, this is genuine for this customer", widget=forms.CheckboxInput()
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, customer: Customer, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        locations = gesture_locations_for(user, customer)
        self.fields["location"].queryset = locations
        self.fields["location"].initial = customer.home_location_id if customer.home_location in locations else None
        notes = customer.notes.visible_to(user).order_by("-created_at")[:5]
        self.notes = confidences.mask(user, notes, fields={"text": PRIVATE_NOTE}, source="")
        self.follow_ups = show_follow_ups(user, customer.follow_ups.filter(status=FollowUp.Status.OPEN)[:5])
        choices = [("", "—")]
        choices += [(f"note:{n.pk}", f"Note: {n.text[:60]}") for n in self.notes]
        choices += [(f"follow_up:{f.pk}", f"Follow-up: {f.shown_prompt[:60]}") for f in self.follow_ups]
        self.fields["inspired_by"].choices = choices

    def clean_inspired_by(self):
        value = self.cleaned_data.get("inspired_by") or ""
        kind, _, pk = value.partition(":")
        if kind == "note":
            return {"note": next(n for n in self.notes if str(n.pk) == pk)}
        if kind == "follow_up":
            return {"follow_up": next(f for f in self.follow_ups if str(f.pk) == pk)}
        return {}


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"placeholder": "Why not?"}))


class DeliverForm(forms.Form):
    delivered_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reaction = forms.CharField(
        label="How did they react?",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "She laughed and hugged us"}),
    )
    receipt = forms.FileField(
        required=False,
        help_text="A photo or PDF of the receipt (5 MB at most).",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/heic,image/webp,application/pdf"}),
    )

    def clean_receipt(self):
        receipt = self.cleaned_data.get("receipt")
        if receipt:
            check_receipt(receipt)
        return receipt

    def clean_delivered_on(self):
        day = self.cleaned_data["delivered_on"]
        if day > datetime.date.today() + datetime.timedelta(days=1):  # noqa: DTZ011 - a plausibility bound
            raise ValidationError("A delivery date cannot be in the future.")
        return day


class BudgetForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    period = forms.ChoiceField(choices=Budget.Period.choices)
    day = forms.DateField(label="For the period containing", widget=forms.DateInput(attrs={"type": "date"}))
    amount = AmountField(min_value=0)
    rolls_over = forms.BooleanField(label="Unspent money rolls over to the next period", required=False)
    renews = forms.BooleanField(label="Create the next period's budget automatically", required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = budget_locations_for(user)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Set budget", css_class="btn-lg"))


class AdjustForm(forms.Form):
    amount = AmountField(allow_negative=True, help_text="Negative to take money away.")
    reason = forms.CharField(max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Adjust", css_class="btn-lg"))


class DiscretionRuleForm(forms.ModelForm):
    class Meta:
        model = DiscretionRule
        fields = ["per_gesture_limit", "monthly_cap"]

    def clean_per_gesture_limit(self):
        return clean_amount(self.cleaned_data["per_gesture_limit"])

    def clean_monthly_cap(self):
        return clean_amount(self.cleaned_data["monthly_cap"])

    def clean(self):
        cleaned = super().clean()
        limit, cap = cleaned.get("per_gesture_limit"), cleaned.get("monthly_cap")
        if limit is not None and cap is not None and limit > cap:
            self.add_error("monthly_cap", "The monthly cap cannot be below the limit for one gesture.")
        return cleaned
