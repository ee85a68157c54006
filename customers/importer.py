"""Import customers from what a small business already keeps: its own spreadsheet (CSV), the customer
export of its till (Square, Shopify) or a phone's contacts (vCard, .vcf).

The file's kind is recognised from its content (a vCard's BEGIN:VCARD, the columns the vendors document),
so no hand-made mapping is needed; any other CSV is read by its column names (COLUMNS). Every row is
validated with a Django form, so a bad row is reported by line number and reason; a file with any bad row
imports nothing. Rows match existing customers on external id, then email, then phone (a contact's every
number), so importing the same file twice changes nothing the second time.

A till's marketing-email consent ("Subscribed", "yes") becomes email consent given on the import's day;
anything else gives none (and takes none away). A birthday becomes the customer's birthday date. Till notes
(Square's Memo, Shopify's Note) are left out: notes here are written by a member of staff at a location.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import vobject
from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower

from crm.kernel.csvfiles import NOT_CSV, CsvError, csv_problem, decode_csv, malformed, map_columns, open_csv
from crm.kernel.models import Location
from customers.models import Customer, ImportantDate
from customers.services import customer_save, important_date_save, normalise_phone, tags_from_text

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
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d, %Y"]


# The customer exports of tills, by the columns their vendors document. A file is one of these when it has
# all of its `signature` columns; `columns` maps our field names to the vendor's (first non-empty wins).
GENERIC = "CSV file"
SQUARE = "Square customer export"
SHOPIFY = "Shopify customer export"
VCARD = "vCard contacts"
VENDOR_FORMATS = [
    (
        SQUARE,
        {"square customer id", "email address", "email subscription status"},
        {
            "first_name": ["First Name"],
            "last_name": ["Last Name"],
            "preferred_name": ["Nickname"],
            "company": ["Company Name"],
            "email": ["Email Address"],
            "phone": ["Phone Number"],
            "external_id": ["Square Customer ID"],
            "tags": ["Groups"],
            "customer_since": ["First Visit", "Creation Date"],
            "birthday": ["Birthday"],
            "email_consent": ["Email Subscription Status"],
        },
    ),
    (
        SHOPIFY,
        {"customer id", "email", "accepts email marketing"},
        {
            "first_name": ["First Name"],
            "last_name": ["Last Name"],
            "company": ["Default Address Company"],
            "email": ["Email"],
            "phone": ["Phone", "Default Address Phone"],
            "external_id": ["Customer ID"],
            "tags": ["Tags"],
            "email_consent": ["Accepts Email Marketing"],
        },
    ),
]
# Shopify's exports before 2023 named the consent column "Accepts Marketing".
VENDOR_FORMATS.append(
    (
        SHOPIFY,
        {"customer id", "email", "accepts marketing"},
        {**VENDOR_FORMATS[1][2], "email_consent": ["Accepts Marketing"]},
    )
)
# What the vendors write when the customer agreed to marketing email (Square: Subscribed; Shopify: yes).
CONSENT_YES = {"subscribed", "yes", "true"}


def parse_birthday(text: str) -> tuple[int | None, int, int]:
    """Return (year or None, month, day) of a birthday as tills and phones write it: 1986-06-14, 19860614,
    0000-06-14 or --06-14 (no year), 06-14, 06/14/1986; raise ValidationError otherwise."""
    text = text.strip()
    patterns = [
        (r"(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?", ("y", "m", "d")),
        (r"--(\d{2})-?(\d{2})", ("m", "d")),
        (r"(\d{1,2})[-/](\d{1,2})[-/](\d{4})", ("m", "d", "y")),
        (r"(\d{1,2})[-/](\d{1,2})", ("m", "d")),
    ]
    for pattern, parts in patterns:
        found = re.fullmatch(pattern, text)
        if found:
            values = dict(zip(parts, map(int, found.groups()), strict=True))
            # Square writes an unknown year as 0000, Apple's Contacts as 1604.
            year = values.get("y") if values.get("y", 0) >= 1900 else None
            try:
                datetime.date(year or 2000, values["m"], values["d"])
            except ValueError:
                break
            if year and year > datetime.date.today().year:  # noqa: DTZ011 - a plausibility bound, not "today"
                break
            return year, values["m"], values["d"]
    raise ValidationError(f"{text!r} is not a birthday we can read (use 1986-06-14, or 06-14 without the year).")


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
    birthday = forms.CharField(max_length=40, required=False)
    email_consent = forms.CharField(max_length=40, required=False)
    # A contact's other phone numbers (vCard), comma-separated: matched on, not stored.
    other_phones = forms.CharField(max_length=400, required=False)

    def __init__(self, *args, locations: dict[str, Location], default_location: Location | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.locations = locations
        self.default_location = default_location

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])

    def clean_birthday(self):
        text = self.cleaned_data["birthday"]
        return parse_birthday(text) if text.strip() else None

    def clean_email_consent(self):
        return self.cleaned_data["email_consent"].strip().lower() in CONSENT_YES

    def clean_other_phones(self):
        return [normalise_phone(phone) for phone in self.cleaned_data["other_phones"].split(",") if phone.strip()]

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
    kind: str = GENERIC

    @property
    def summary(self) -> str:
        """Say what the file is and how many customers it holds: "Square customer export, 3 customers"."""
        count = len(self.rows)
        return f"{self.kind}, {count:,} customer{'' if count == 1 else 's'}"

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
    """Read and check a customer file (CSV, a till's export or vCards) without saving anything."""
    plan = ImportPlan()
    by_name = {location.name.lower(): location for location in locations}
    seen: dict[str, int] = {}
    try:
        for line, values in _records(raw, plan):
            if len(plan.rows) >= MAX_ROWS:
                plan.file_errors.append(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")
                break
            if not any(values.values()):
                continue
            problem = values.pop("problem", None)
            form = ImportRowForm(values, locations=by_name, default_location=default_location)
            row = RowResult(line=line, data={})
            if problem:
                row.errors.append(problem)
            elif not form.is_valid():
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
    except CsvError as error:
        plan.file_errors.append(str(error))
    if not plan.rows and not plan.file_errors:
        plan.file_errors.append("The file has no customer rows.")
    _match_existing(plan)
    return plan


def _records(raw: bytes, plan: ImportPlan) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, our field name -> cell text) for each customer in the file, recognising its kind
    (set on the plan); a problem with the whole file goes into plan.file_errors or raises CsvError."""
    text = decode_csv(raw) if csv_problem(raw) is None else None
    if text is not None and text.lstrip().upper().startswith("BEGIN:VCARD"):
        plan.kind = VCARD
        yield from _vcard_records(text)
        return
    reader = open_csv(raw)
    if reader is None:
        plan.file_errors.append(NOT_CSV)
        return
    headers = {" ".join((name or "").lower().split()): name for name in reader.fieldnames or []}
    vendor = next(((kind, columns) for kind, signature, columns in VENDOR_FORMATS if signature <= headers.keys()), None)
    if vendor:
        plan.kind = vendor[0]
        mapping = {ours: [headers.get(name.lower()) for name in names] for ours, names in vendor[1].items()}
    else:
        mapping = {ours: [column] for ours, column in map_columns(reader.fieldnames, COLUMNS).items()}
        if "first_name" not in mapping:
            plan.file_errors.append("The first line must name the columns, including a first name column.")
            return
    try:
        for record in reader:
            values = {
                ours: next((cell for column in columns if column and (cell := (record.get(column) or "").strip())), "")
                for ours, columns in mapping.items()
            }
            yield reader.line_num, _tidy(values)
    except csv.Error as error:
        raise CsvError(malformed(error, reader.line_num)) from error


def _tidy(values: dict[str, str]) -> dict[str, str]:
    """Make a till's cells what our form reads: a customer known only by their company is named by it,
    a date with a time is its date, Shopify's quoted id ('7393446...) loses its quote."""
    company = values.pop("company", "")
    if not values.get("first_name"):
        values["first_name"] = values.get("preferred_name") or company
    since = values.get("customer_since", "")
    if re.match(r"\d{4}-\d{2}-\d{2}[T ]", since):
        values["customer_since"] = since[:10]
    values["external_id"] = values.get("external_id", "").lstrip("'")
    return values


def _vcard_records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line of its BEGIN:VCARD, fields) for each contact; a contact vobject cannot read is a bad row."""
    card: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not card and not line.strip():
            continue
        if not card:
            start = number
            if line.strip().upper() != "BEGIN:VCARD":
                raise CsvError(f"Line {number}: a contact must start with BEGIN:VCARD. Is this the right file?")
        card.append(line)
        if line.strip().upper() == "END:VCARD":
            yield start, _vcard_fields("\r\n".join(card) + "\r\n")
            card = []
    if card:
        raise CsvError(f"Line {start}: this contact has no END:VCARD; the file is cut short.")


def _vcard_fields(card_text: str) -> dict[str, str]:
    try:
        card = vobject.readOne(card_text)
    except Exception as error:  # noqa: BLE001 - vobject raises many kinds for one broken contact
        # vobject's own line numbers count within the contact; the row's line is the contact's first.
        reason = str(error.args[0] if error.args else error)[:120]
        return {"problem": f"row: this contact cannot be read ({reason})."}
    contents = card.contents

    def first(name: str, value=lambda item: item.value):
        return next((str(value(item)).strip() for item in contents.get(name, []) if str(value(item)).strip()), "")

    def preferred(items):
        """The contact's own preferred entry (pref), else a mobile, else the first."""

        def rank(item):
            types = {t.lower() for t in item.params.get("TYPE", []) + list(item.singletonparams)}
            return (0 if "pref" in types or item.params.get("PREF") else 1, 0 if "cell" in types else 1)

        return sorted(items, key=rank)

    given = first("n", lambda item: item.value.given)
    family = first("n", lambda item: item.value.family)
    if not given and not family:
        given, _, family = first("fn").partition(" ")
    phones = [str(item.value).strip() for item in preferred(contents.get("tel", [])) if str(item.value).strip()]
    emails = [str(item.value).strip() for item in preferred(contents.get("email", [])) if str(item.value).strip()]
    categories = [name for item in contents.get("categories", []) for name in item.value]
    return _tidy(
        {
            "first_name": given,
            "last_name": family,
            "preferred_name": first("nickname"),
            "company": first("org", lambda item: item.value[0] if item.value else ""),
            "email": emails[0] if emails else "",
            "phone": phones[0] if phones else "",
            "other_phones": ",".join(phones[1:]),
            "tags": ",".join(categories),
            "birthday": first("bday"),
        }
    )


def _match_existing(plan: ImportPlan) -> None:
    """Find which rows are customers we already have (external id, then email, then phone, then a contact's
    other numbers). Two rows that find the same customer (a shared landline, say) are a bad row, not a merge."""
    good = [row for row in plan.rows if not row.errors]
    matched_at: dict[int, int] = {}
    for start in range(0, len(good), 1000):
        chunk = good[start : start + 1000]
        ids = {r.data["external_id"] for r in chunk if r.data.get("external_id")}
        emails = {r.data["email"] for r in chunk if r.data.get("email")}
        phones = {phone for r in chunk for phone in [r.data.get("phone"), *r.data.get("other_phones", [])] if phone}
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
                or next(
                    (by_phone[p] for p in [row.data.get("phone"), *row.data.get("other_phones", [])] if p in by_phone),
                    None,
                )
            )
            if row.match is not None and row.match.pk in matched_at:
                row.errors.append(
                    f"row: matches the same existing customer as line {matched_at[row.match.pk]}; "
                    "give each row its own email or phone, or keep one of them"
                )
                row.match = None
            elif row.match is not None:
                matched_at[row.match.pk] = row.line


@transaction.atomic
def run_import(plan: ImportPlan) -> tuple[int, int]:
    """Save a checked plan, all or nothing; return (created, updated)."""
    if not plan.is_valid:
        raise ValidationError("The file has errors; nothing was imported.")
    created = updated = 0
    for row in plan.rows:
        data = dict(row.data)
        birthday = data.pop("birthday", None)
        email_consent = data.pop("email_consent", False)
        data.pop("other_phones", None)
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
        if email_consent and customer.email and customer.consent_email_at is None:
            # The till says they agreed to marketing email: consent recorded on the day it reached us.
            customer.consent_email_at = customer.home_location.local_today()
            changed = True
        is_new = customer.pk is None
        if changed or tags is not None:
            customer_save(customer=customer, tags=tags)
        if birthday and (
            is_new or not customer.important_dates.filter(kind=ImportantDate.Kind.BIRTHDAY, person=None).exists()
        ):
            year, month, day = birthday
            important_date_save(
                important_date=ImportantDate(
                    customer=customer, kind=ImportantDate.Kind.BIRTHDAY, year=year, month=month, day=day
                )
            )
            changed = True
        if is_new:
            created += 1
        elif changed:
            updated += 1
    return created, updated
