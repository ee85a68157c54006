import calendar
import contextlib
import re
import uuid

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from crm.kernel.access import locations_for
from crm.kernel.models import Location, User
from crm.kernel.uploads import CONTACT_SUFFIXES, CsvFileField
from customers import extensions
from customers.access import customers_for, follow_up_locations_for, referrers_for
from customers.models import Customer, FollowUp, ImportantDate, Note, Person, Tag
from customers.services import normalise_phone

CONSENT_CHANNELS = [("email", "consent_email_at"), ("mail", "consent_mail_at"), ("phone", "consent_phone_at")]


class CustomerSearchForm(forms.Form):
    """The search box: any text, but no NUL (Django's CharField refuses it), which PostgreSQL cannot compare."""

    q = forms.CharField(required=False, max_length=200)


class CustomerForm(forms.ModelForm):
    tags_text = forms.CharField(
        label="Tags", required=False, max_length=300, help_text="Comma-separated: regular, VIP, contact lenses."
    )
    referred_by_lookup = forms.CharField(
        label="Referred by",
        required=False,
        max_length=254,
        help_text="Email or phone of the customer who sent them to us (word of mouth).",
    )
    consent_email = forms.BooleanField(label="Email", required=False)
    consent_mail = forms.BooleanField(label="Mail", required=False)
    consent_phone = forms.BooleanField(label="Phone", required=False)
    # Rendered once with the form; sent back with every submission of it (a double click, the back button).
    form_token = forms.UUIDField(required=False, widget=forms.HiddenInput, initial=uuid.uuid4)

    class Meta:
        model = Customer
        fields = [
            "first_name",
            "last_name",
            "preferred_name",
            "email",
            "phone",
            "home_location",
            "customer_since",
            "preferences",
            "keep_in_touch_days",
            "external_id",
        ]
        widgets = {
            "customer_since": forms.DateInput(attrs={"type": "date"}),
            "preferences": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # A customer whose home is another location keeps it: staff here may edit them (they visited here)
        # without the form blanking or moving their home location.
        home = Q(pk__in=locations_for(user).filter(is_active=True).values("pk"))
        if self.instance.pk and self.instance.home_location_id:
            home |= Q(pk=self.instance.home_location_id)
        self.fields["home_location"].queryset = Location.objects.filter(home).order_by("name")
        # Fields other apps add (journeys: where they first heard of us), saved by customer_save.
        self.part_fields = []
        for part in extensions.slots.form:
            for name, field in part.fields(self).items():
                self.fields[name] = field
                self.part_fields.append(name)
        customer = self.instance
        # A referrer this user may not open stays as it is, and their contact details are not shown.
        self.hidden_referrer = None
        if customer.pk:
            self.fields["tags_text"].initial = ", ".join(tag.name for tag in customer.tags.all())
            if customer.referred_by_id and referrers_for(user).filter(pk=customer.referred_by_id).exists():
                self.fields["referred_by_lookup"].initial = customer.referred_by.email or customer.referred_by.phone
            elif customer.referred_by_id:
                self.hidden_referrer = customer.referred_by
                hint = "Referred by a customer of another location: kept unless you name someone else."
                self.fields["referred_by_lookup"].help_text = hint
            for channel, field in CONSENT_CHANNELS:
                given = getattr(customer, field)
                self.fields[f"consent_{channel}"].initial = given is not None
                if given:
                    self.fields[f"consent_{channel}"].help_text = f"Given on {given:%-d %b %Y}"
        elif len(self.fields["home_location"].queryset) == 1:
            self.fields["home_location"].initial = self.fields["home_location"].queryset[0]
        self.helper = FormHelper()
        self.helper.form_tag = False
        if customer.pk:
            del self.fields["form_token"]
        self.helper.layout = Layout(
            *(["form_token"] if "form_token" in self.fields else []),
            Row(
                Column("first_name", css_class="col-md-4"),
                Column("last_name", css_class="col-md-4"),
                Column("preferred_name", css_class="col-md-4"),
            ),
            Row(Column("email", css_class="col-md-6"), Column("phone", css_class="col-md-6")),
            Row(Column("home_location", css_class="col-md-6"), Column("customer_since", css_class="col-md-6")),
            Row(
                *(Column(name, css_class="col-md-6") for name in self.part_fields),
                Column("referred_by_lookup", css_class="col-md-6"),
            ),
            "tags_text",
            "preferences",
            Fieldset("Contact consent", Row(Column("consent_email"), Column("consent_mail"), Column("consent_phone"))),
            Row(Column("keep_in_touch_days", css_class="col-md-6"), Column("external_id", css_class="col-md-6")),
        )

    def clean_phone(self):
        try:
            return normalise_phone(self.cleaned_data["phone"])
        except ValidationError as error:
            raise ValidationError(error.messages) from None

    def clean_referred_by_lookup(self):
        lookup = self.cleaned_data["referred_by_lookup"].strip()
        if not lookup:
            return None
        # Only customers this user may open: a lookup must not confirm who else is on file.
        referrers = referrers_for(self.user).exclude(pk=self.instance.pk)
        referrer = referrers.with_email(lookup).first()
        with contextlib.suppress(ValidationError):  # not a phone number: match on email only
            referrer = referrer or referrers.filter(phone=normalise_phone(lookup)).first()
        if referrer is None:
            raise ValidationError("No customer has that email or phone. Add the referrer first.")
        return referrer

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if email:
            self._refuse_taken("email", Customer.objects.with_email(email), "this email")
        phone = cleaned.get("phone")
        if phone:
            self._refuse_taken("phone", Customer.objects.filter(phone=phone), "this phone number")
        return cleaned

    def _refuse_taken(self, field: str, holders, what: str) -> None:
        """Refuse an email or phone another customer has: naming them (with a link) only to staff who
        may open that customer; to others the refusal says nothing of who, or whether, anyone has it.
        Either way the duplicate is not saved."""
        holders = holders.exclude(pk=self.instance.pk)
        seen = customers_for(self.user).filter(pk__in=holders.values("pk")).first()
        if seen is not None:
            link = format_html(
                'Another customer already has {}: <a href="{}">{}</a>.',
                what,
                reverse("customer-detail", args=[seen.pk]),
                seen.full_name,
            )
            self.add_error(field, link)
        elif holders.exists():
            self.add_error(field, f"You cannot use {what} here. A manager can tell you more.")

    def save(self, commit=True):
        customer = super().save(commit=False)
        if self.cleaned_data.get("form_token"):
            customer.form_token = self.cleaned_data["form_token"]
        customer.referred_by = self.cleaned_data.get("referred_by_lookup") or self.hidden_referrer
        today = timezone.localdate()
        for channel, field in CONSENT_CHANNELS:
            if self.cleaned_data.get(f"consent_{channel}"):
                setattr(customer, field, getattr(customer, field) or today)
            else:
                setattr(customer, field, None)
        return customer


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["name", "relation", "species", "birthday", "notes"]
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save", css_class="btn-lg"))


MONTHS = [(i, calendar.month_name[i]) for i in range(1, 13)]


class ImportantDateForm(forms.ModelForm):
    month = forms.TypedChoiceField(choices=MONTHS, coerce=int)

    class Meta:
        model = ImportantDate
        fields = ["kind", "label", "month", "day", "year", "person", "lead_days"]
        widgets = {
            "day": forms.NumberInput(attrs={"min": 1, "max": 31}),
            "year": forms.NumberInput(attrs={"min": 1900, "placeholder": "Unknown"}),
            "lead_days": forms.NumberInput(attrs={"min": 0, "max": 60}),
        }

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.customer = customer
        self.fields["person"].queryset = customer.people.all()
        self.fields["person"].required = False
        self.fields["lead_days"].max_value = 60
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Row(Column("kind", css_class="col-md-6"), Column("label", css_class="col-md-6")),
            Row(
                Column("month", css_class="col-5"), Column("day", css_class="col-3"), Column("year", css_class="col-4")
            ),
            Row(Column("person", css_class="col-md-6"), Column("lead_days", css_class="col-md-6")),
        )
        self.helper.add_input(Submit("submit", "Save", css_class="btn-lg"))


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["text", "is_sensitive", "relevant_until"]
        widgets = {
            "text": forms.Textarea(
                attrs={"rows": 3, "placeholder": "What did they tell you? e.g. her dog is sick, vet on Tuesday"}
            ),
            "relevant_until": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {"text": "Personal note"}

    # Pages and htmx answers render it in plain HTML (customers/_note_form_fields.html); crispy only
    # on the full-page form a browser without JavaScript falls back to (simple_form.html).
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class FollowUpForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ["prompt", "due", "due_date", "assignee", "location"]
        widgets = {
            "due": forms.RadioSelect,
            "due_date": forms.DateInput(attrs={"type": "date"}),
            "prompt": forms.TextInput(attrs={"placeholder": "e.g. ask how the dog is feeling"}),
        }

    def __init__(self, *args, customer: Customer, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.customer = customer
        self.instance.created_by = user
        locations = follow_up_locations_for(user, customer)
        self.fields["location"].queryset = locations
        self.fields["location"].initial = customer.home_location_id
        self.fields["assignee"].queryset = User.objects.filter(locations__in=locations, is_active=True).distinct()
        self.fields["assignee"].empty_label = "Whole location"
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save follow-up", css_class="btn-lg"))


class FollowUpDoneForm(forms.Form):
    outcome = forms.CharField(
        label="How did it go?",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Saved as a personal note.",
    )

    def __init__(self, *args, prompt: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].widget.attrs["placeholder"] = outcome_placeholder(prompt)


def outcome_placeholder(prompt: str) -> str:
    """Ask for what the follow-up's own question found out, never another customer's story."""
    asked = re.match(r"ask (?:gently )?(how|whether|if|about) (.+)", prompt.strip().rstrip("?."), re.IGNORECASE)
    if asked:
        return f"Optional: what they said when you asked {asked.group(1).lower()} {asked.group(2)}"
    return "Optional: what they told you"


class CustomerImportForm(forms.Form):
    file = CsvFileField(
        label="File",
        suffixes=CONTACT_SUFFIXES,
        help_text="A CSV (first name, last name, email, phone, location, tags...), a Square or Shopify "
        "customer export, or a phone's contacts (.vcf).",
    )
    default_location = forms.ModelChoiceField(
        queryset=None, required=False, help_text="For rows without a location column."
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_location"].queryset = locations_for(user).filter(is_active=True)


class TagCadenceForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["keep_in_touch_days"]
        labels = {"keep_in_touch_days": ""}
        widgets = {
            "keep_in_touch_days": forms.NumberInput(
                attrs={"min": 1, "max": 730, "placeholder": "no reminder", "class": "form-control"}
            )
        }

    def clean_keep_in_touch_days(self):
        days = self.cleaned_data["keep_in_touch_days"]
        if days is not None and not 1 <= days <= 730:
            raise ValidationError("Between 1 and 730 days, or empty for no reminder.")
        return days
