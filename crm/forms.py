from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from crm.models import Location, User


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["name", "address", "timezone", "digest_time", "is_active"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3}), "digest_time": forms.TimeInput(attrs={"type": "time"})}
        help_texts = {
            "timezone": "The shop's local day decides when reminders and birthdays fall due.",
            "is_active": "Untick when a location closes; its history is kept.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save location", css_class="btn-lg"))


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "email_digest"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save", css_class="btn-lg"))

    def save(self, commit=True):
        user = super().save(commit=False)
        if "email" in self.changed_data:
            # A new address gets a fresh start: it is tried again even if the old one was failing.
            user.email_failures, user.email_failing_since = 0, None
        if commit:
            user.save(
                update_fields=[
                    "first_name",
                    "last_name",
                    "email",
                    "email_digest",
                    "email_failures",
                    "email_failing_since",
                ]
            )
        return user
