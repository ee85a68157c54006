import datetime
import math

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import BadRequest
from django.utils import timezone

from crm.kernel import roles
from crm.kernel.models import Location, User

# The days a page can be asked about: wide enough for
# any real record, far enough from year 1 and 9999 that the days and months around them all exist.
LATEST_DAY = datetime.date(2999, 12, 31)
# Dates the dashboard answers for: far enough back for any imported history.
EARLIEST_DAY = datetime.date(1900, 1, 1)


class RequestRefused(BadRequest):
    """A request we cannot answer, with a message for the person who sent it (a 400 page shows it)."""


def day_from(text: str, default: datetime.date, what: str = "date") -> datetime.date:
    """Read a day from a query string ("2026-11-02", or "2026-11" for a month's first day): the default
    when it is empty or unreadable, RequestRefused when it is outside the days this app deals in."""
    if not text:
        return default
    try:
        day = datetime.date.fromisoformat(text + "-01" if len(text) <= 7 else text)
    except ValueError:
        year = text.split("-", 1)[0]
        if year.isdigit() and len(year) > 4:
            raise RequestRefused(_out_of_range(what)) from None
        return default
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise RequestRefused(_out_of_range(what))
    return day


def _out_of_range(what: str) -> str:
    return f"Choose a {what} between {EARLIEST_DAY:%-d %B %Y} and {LATEST_DAY:%-d %B %Y}."


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


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "pattern": "[0-9 ]*"}
        ),
    )

    def __init__(self, *args, device=None, submit_label="Continue", **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", submit_label, css_class="btn-lg w-100"))

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        if self.device is not None:
            allowed, _why = self.device.verify_is_allowed()
            if not allowed:
                # django-otp doubles the wait after each wrong code (1 s, 2 s, 4 s...).
                failures = self.device.throttling_failure_count
                wait = min(self.device.get_throttle_factor() * 2 ** (failures - 1), 3600)
                since = (timezone.now() - self.device.throttling_failure_timestamp).total_seconds()
                seconds = max(1, math.ceil(wait - since))
                unit = "second" if seconds == 1 else "seconds"
                raise forms.ValidationError(f"Too many wrong codes: wait {seconds} {unit}, then try the current code.")
        if self.device is None or not self.device.verify_token(code):
            raise forms.ValidationError("That code did not match. Codes change every 30 seconds: try the current one.")
        return code


class SecurityPolicyForm(forms.ModelForm):
    class Meta:
        from crm.kernel.models import SecurityPolicy

        model = SecurityPolicy
        fields = ["require_owner_two_factor", "note_retention_years"]
        widgets = {"note_retention_years": forms.NumberInput(attrs={"min": 1, "max": 50})}

    def __init__(self, *args, owner_has_device: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_has_device = owner_has_device
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save policy", css_class="btn-lg"))

    def clean_require_owner_two_factor(self):
        required = self.cleaned_data["require_owner_two_factor"]
        if required and not self.owner_has_device:
            raise forms.ValidationError("Set up two-factor on your own account first, so you are not locked out.")
        return required

    def clean_note_retention_years(self):
        years = self.cleaned_data["note_retention_years"]
        if years is not None and not 1 <= years <= 50:
            raise forms.ValidationError("Choose between 1 and 50 years, or leave empty to keep notes.")
        return years


class BusinessSettingsForm(forms.ModelForm):
    class Meta:
        from crm.kernel.models import BusinessSettings

        model = BusinessSettings
        fields = ["name", "currency", "timezone", "postal_address", "track_email"]
        widgets = {"postal_address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save business settings", css_class="btn-lg"))

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the business a name.")
        return name


class FirstRunForm(forms.Form):
    """A fresh install's business, first location and first owner."""

    business_name = forms.CharField(label="Business name", max_length=120)
    currency = forms.ChoiceField(help_text="ISO 4217: the currency of budgets, gestures and revenue.")
    timezone = forms.ChoiceField(label="Time zone", help_text="Of the first location, and the default for new ones.")
    location_name = forms.CharField(
        label="First location", max_length=120, help_text="The shop's name as staff know it, e.g. Downtown."
    )
    first_name = forms.CharField(label="Your first name", max_length=150)
    last_name = forms.CharField(label="Your last name", max_length=150, required=False)
    email = forms.EmailField(label="Your email")
    username = forms.CharField(label="User name", max_length=150, help_text="What you type to log in.")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text="At least 10 characters, not a common password, not like your name.",
    )
    password_again = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )

    def __init__(self, *args, **kwargs):
        from crm.kernel.models import currency_choices, timezone_choices

        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = currency_choices()
        self.fields["timezone"].choices = timezone_choices()
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Set up and log in", css_class="btn-lg w-100"))

    def clean_business_name(self):
        name = self.cleaned_data["business_name"].strip()
        if not name:
            raise forms.ValidationError("Give the business a name.")
        return name

    def clean_location_name(self):
        name = self.cleaned_data["location_name"].strip()
        if Location.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError("A location with this name exists already.")
        return name

    def clean_username(self):
        username = self.cleaned_data["username"]
        User.username_validator(username)
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That user name is taken.")
        return username

    def clean_password(self):
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["password"]
        person = User(
            username=self.data.get("username", ""),
            first_name=self.data.get("first_name", ""),
            last_name=self.data.get("last_name", ""),
            email=self.data.get("email", ""),
        )
        validate_password(password, person)
        return password

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return cleaned


class StaffForm(forms.ModelForm):
    """An owner adds a member of staff or changes their role, locations or access."""

    role = forms.ChoiceField(
        choices=[(key, roles.GROUP_NAMES[key]) for key in roles.RANK[::-1]],
        help_text="Frontline staff serve customers; managers also approve gestures and keep the catalogue; "
        "owners also manage locations, budgets, staff and security.",
    )
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.none(), widget=forms.CheckboxSelectMultiple, required=False
    )
    password = forms.CharField(
        label="First password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text="Give it to them in person; they can change it from their profile.",
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "is_active"]
        labels = {"is_active": "Can log in"}
        help_texts = {"is_active": "Untick when someone leaves; their notes and history are kept."}

    def __init__(self, *args, editor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor = editor
        self.fields["locations"].queryset = Location.objects.filter(is_active=True)
        self.fields["first_name"].required = True
        if self.instance.pk:
            del self.fields["password"]
            self.fields["role"].initial = roles.role_of(self.instance) or roles.FRONTLINE
            self.fields["locations"].initial = list(self.instance.locations.all())
        else:
            del self.fields["is_active"]
            self.fields["role"].initial = roles.FRONTLINE
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save", css_class="btn-lg"))

    def clean_password(self):
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["password"]
        validate_password(password, User(username=self.data.get("username", ""), email=self.data.get("email", "")))
        return password

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") != roles.OWNER and not cleaned.get("locations"):
            self.add_error("locations", "Choose at least one location (owners see every location).")
        if self.instance.pk and self.instance.pk == self.editor.pk:
            if cleaned.get("role") != roles.OWNER:
                self.add_error("role", "You cannot take away your own owner role; another owner can.")
            if cleaned.get("is_active") is False:
                self.add_error("is_active", "You cannot lock yourself out; another owner can.")
        return cleaned


class LoginForm(AuthenticationForm):
    """The login form; a user name no account can have (too long, a NUL) is refused before any
    password is checked, so nothing (django-axes included) tries to record it."""

    def clean_username(self):
        username = self.cleaned_data["username"]
        limit = self.fields["username"].max_length
        if len(username) > limit:
            # Django sets the field's max_length for the browser only; check it here too.
            raise forms.ValidationError(f"A user name has at most {limit} characters.", code="max_length")
        return username

    def clean(self):
        if self.errors:
            return self.cleaned_data
        return super().clean()

    @property
    def malformed(self) -> bool:
        """True when a field itself is bad, not the user name and password pair."""
        return any(name in self.errors for name in self.fields)
