"""Import customers from the spreadsheet a small business already keeps (CSV).

Every row is validated with a Django form, so a bad row is reported by line
number and reason; a file with any bad row imports nothing. Rows match
existing customers on external id, then email, then phone, so importing the
same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower

from crm.csvfiles import NOT_CSV, CsvError, malformed, map_columns, open_csv
from crm.models import Location
from customers.models import Customer
from customers.services import customer_save, normalise_phone, tags_from_text

MAX_ROWS = 50_000
# Header aliases people use in their own spreadsheets, mapped to our field names.
COLUMNS = {
    "first_name": ["first_name", "first name", "firstname", "given name", "first"],
    "last_name": ["last_name", "last name", "lastname", "surname", "family name", "last"],
    "preferred_name": ["preferred_name", "preferred name", "nickname", "known as"],
    "email": ["email", "e-mail", "email address"],
    "phone": ["phone", "phone number", "mobile", "telephone", "tel"],
    "external_id": ["external_id", "external id", "id", "customer id", "till id"],
    "home_location": ["home_location", "location", "shop", "store", "branch"],
    "tags": ["tags", "tag", "labels"],
    "customer_since": ["customer_since", "customer since", "since", "first purchase"],
    "preferences": ["preferences", "notes on preferences", "likes"],
}
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d, %Y"]


class ImportRowForm(forms.Form):
    first_name = forms.CharField(max_length=80)
    last_name = forms.CharField(max_length=80, required=False)
    preferred_name = forms.CharField(max_length=80, required=False)
    email = forms.EmailField(max_length=254, required=False)
    phone = forms.CharField(max_length=40, required=False)
    external_id = forms.CharField(max_length=64, required=False)
    home_location = forms.CharField(max_length=120, required=False)
    tags = forms.CharField(max_length=300, required=False)
    customer_since = forms.DateField(required=False, input_formats=DATE_FORMATS)
    preferences = forms.CharField(max_length=4000, required=False)

    def __init__(self, *args, locations: dict[str, Location], default_location: Location | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.locations = locations
        self.default_location = default_location

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_home_location(self):
        name = self.cleaned_data["home_location"].strip()
        if not name:
            if self.default_location is None:
                raise ValidationError("No location given and no default location chosen.")
            return self.default_location
        location = self.locations.get(name.lower())
        if location is None:
            raise ValidationError(f"Unknown location {name!r} (or not one of yours).")
        return location

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(key) for key in ("email", "phone", "external_id")) and not self.errors:
            raise ValidationError("Give an email, phone or external id, so the customer can be matched next time.")
        return cleaned


@dataclass
class RowResult:
    line: int
    data: dict
    match: Customer | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def action(self) -> str:
        return "update" if self.match else "create"


@dataclass
class ImportPlan:
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.errors]

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and not self.bad_rows and bool(self.rows)

    @property
    def to_create(self) -> int:
        return sum(1 for row in self.rows if not row.errors and row.match is None)

    @property
    def to_update(self) -> int:
        return sum(1 for row in self.rows if not row.errors and row.match is not None)


def plan_import(raw: bytes, locations: list[Location], default_location: Location | None = None) -> ImportPlan:
    """Read and check a CSV file without saving anything."""
    plan = ImportPlan()
    try:
        reader = open_csv(raw)
    except CsvError as error:
        plan.file_errors.append(str(error))
        return plan
    if reader is None:
        plan.file_errors.append(NOT_CSV)
        return plan
    mapping = map_columns(reader.fieldnames, COLUMNS)
    if "first_name" not in mapping:
        plan.file_errors.append("The first line must name the columns, including a first name column.")
        return plan
    by_name = {location.name.lower(): location for location in locations}
    seen: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if len(plan.rows) >= MAX_ROWS:
                plan.file_errors.append(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")
                break
            values = {ours: (record.get(column) or "").strip() for ours, column in mapping.items()}
            if not any(values.values()):
                continue
            form = ImportRowForm(values, locations=by_name, default_location=default_location)
            row = RowResult(line=line, data={})
            if not form.is_valid():
                for name, errors in form.errors.items():
                    label = "row" if name == "__all__" else name.replace("_", " ")
                    row.errors += [f"{label}: {error}" for error in errors]
            else:
                row.data = form.cleaned_data
                for key in ("external_id", "email", "phone"):
                    value = row.data.get(key)
                    if value and f"{key}:{value}" in seen:
                        row.errors.append(f"same {key.replace('_', ' ')} as line {seen[f'{key}:{value}']}")
                    elif value:
                        seen[f"{key}:{value}"] = line
            plan.rows.append(row)
    except csv.Error as error:
        plan.file_errors.append(malformed(error, reader.line_num))
    if not plan.rows and not plan.file_errors:
        plan.file_errors.append("The file has no customer rows.")
    _match_existing(plan)
    return plan


def _match_existing(plan: ImportPlan) -> None:
    """Find which rows are customers we already have (external id, then email, then phone)."""
    good = [row for row in plan.rows if not row.errors]
    for start in range(0, len(good), 1000):
        chunk = good[start : start + 1000]
        ids = {r.data["external_id"] for r in chunk if r.data.get("external_id")}
        emails = {r.data["email"] for r in chunk if r.data.get("email")}
        phones = {r.data["phone"] for r in chunk if r.data.get("phone")}
        # Each condition is served by its own index (lower(email), phone, external id).
        found = Customer.objects.alias(email_lower=Lower("email")).filter(
            Q(external_id__in=ids) | Q(email_lower__in=emails) | Q(phone__in=phones), erased_at__isnull=True
        )
        by_id = {c.external_id: c for c in found if c.external_id}
        by_email = {c.email: c for c in found if c.email}
        by_phone = {c.phone: c for c in found if c.phone}
        for row in chunk:
            row.match = (
                by_id.get(row.data.get("external_id") or None)
                or by_email.get(row.data.get("email") or None)
                or by_phone.get(row.data.get("phone") or None)
            )


@transaction.atomic
def run_import(plan: ImportPlan) -> tuple[int, int]:
    """Save a checked plan, all or nothing; return (created, updated)."""
    if not plan.is_valid:
        raise ValidationError("The file has errors; nothing was imported.")
    created = updated = 0
    for row in plan.rows:
        data = dict(row.data)
        tag_text = data.pop("tags", "")
        tags = tags_from_text(tag_text.replace(";", ",")) if tag_text else None
        customer = row.match or Customer()
        changed = customer.pk is None
        for key, value in data.items():
            if value in ("", None) and customer.pk:
                continue  # an empty cell never wipes what staff already know
            if getattr(customer, key if key != "home_location" else "home_location_id", None) != (
                value.pk if key == "home_location" else value
            ):
                setattr(customer, key, value)
                changed = True
        if changed or tags is not None:
            customer_save(customer=customer, tags=tags)
            if row.match:
                updated += 1 if changed else 0
            else:
                created += 1
    return created, updated
