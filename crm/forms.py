from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from crm.models import Location


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["name", "address", "timezone", "is_active"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "timezone": "The shop's local day decides when reminders and birthdays fall due.",
            "is_active": "Untick when a location closes; its history is kept.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save location", css_class="btn-lg"))
