"""The loyalty dashboard's forms: its date range and the owner's win-back rule."""

import datetime

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone

from crm.insights.models import LoyaltyRule
from crm.kernel.forms import EARLIEST_DAY

# Not past next year, and three years at most.
LONGEST_RANGE_DAYS = 3 * 366


class LoyaltyRangeForm(forms.Form):
    """The dashboard's range, read from ?from=&to=: bad dates and reversed ranges get a message, not a guess."""

    def __init__(self, data, *, default: tuple[datetime.date, datetime.date]):
        super().__init__(data)
        self.default = default
        # "from" is a Python keyword, so the fields are added by name.
        message = {"invalid": "Enter a date like 2026-01-31."}
        self.fields["from"] = forms.DateField(
            label="From", required=False, input_formats=["%Y-%m-%d"], error_messages=message
        )
        self.fields["to"] = forms.DateField(
            label="To", required=False, input_formats=["%Y-%m-%d"], error_messages=message
        )

    def _in_bounds(self, name: str, day: datetime.date | None) -> datetime.date | None:
        latest = timezone.localdate() + datetime.timedelta(days=366)
        if day is not None and not EARLIEST_DAY <= day <= latest:
            self.add_error(name, f"Choose a date between {EARLIEST_DAY:%-d %b %Y} and {latest:%-d %b %Y}.")
            return None
        return day

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        start = self._in_bounds("from", cleaned.get("from"))
        end = self._in_bounds("to", cleaned.get("to"))
        if self.errors:
            return cleaned
        start, end = start or self.default[0], end or self.default[1]
        if end < start:
            self.add_error(
                "to",
                f"The range ends ({end:%-d %b %Y}) before it starts ({start:%-d %b %Y}): "
                "swap the dates, or pick a later end.",
            )
        elif (end - start).days > LONGEST_RANGE_DAYS:
            self.add_error("from", "Choose a range of three years at most.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned


class LoyaltyRuleForm(forms.ModelForm):
    """The owner's win-back rule."""

    class Meta:
        model = LoyaltyRule
        fields = ["regular_visit_days", "regular_months", "quiet_weeks"]
        widgets = {
            "regular_visit_days": forms.NumberInput(attrs={"min": 2, "max": 100}),
            "regular_months": forms.NumberInput(attrs={"min": 1, "max": 36}),
            "quiet_weeks": forms.NumberInput(attrs={"min": 1, "max": 104}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save the win-back rule"))
