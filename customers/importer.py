"""Import customers from what a small business already keeps: its own spreadsheet (CSV), the customer
export of its till (Square, Shopify) or a phone's contacts (vCard, .vcf).

The file's kind is recognised from its content (a vCard's BEGIN:VCARD, the columns the vendors document),
so no hand-made mapping is needed; any other CSV is read by its column names (COLUMNS). It is one import
kind of the import framework (crm.kernel.imports): `check(raw, options=...)` then `commit(plan, user=...)`. Every
row is validated with a Django form, so a bad row is reported by line number and reason; a file with any
bad row imports nothing. Rows match existing customers (customers.matching) on external id, then email,
then phone (a contact's every number), so importing the same file twice changes nothing the second time.
New customers are created in bulk; the import leaves one audit entry, not one per customer.

A till's marketing-email consent ("Subscribed", "yes") becomes email consent given on the import's day;
anything else gives none (and takes none away). A birthday becomes the customer's birthday date. Till notes
(Square's Memo, Shopify's Note) are left out: notes here are written by a member of staff at a location.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

import vobject
from auditlog.context import disable_auditlog
from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import pluralize
from django.utils.html import format_html

from crm.kernel import audit, imports
from crm.kernel.csvfiles import map_columns
from crm.kernel.models import Location
from customers import signals
from customers.matching import CustomerKeys, match_customers
from customers.models import Customer, ImportantDate, Tag
from customers.services import customer_save, customers_create_bulk, important_date_save, normalise_phone

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


def _records(lines: Iterator[str], plan: imports.Plan) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, our field name -> cell text) for each customer in the file, recognising its kind
    (set on the plan); a problem with the whole file raises FileProblem."""
    first = next(lines, "")
    lines = _again(first, lines)
    if first.lstrip().upper().startswith("BEGIN:VCARD"):
        plan.kind = VCARD
        yield from _vcard_records(lines)
        return
    reader, header = imports.csv_reader(lines)
    headers = {" ".join((name or "").lower().split()): at for at, name in enumerate(header)}
    vendor = next(((kind, columns) for kind, signature, columns in VENDOR_FORMATS if signature <= headers.keys()), None)
    if vendor:
        plan.kind = vendor[0]
        index = {
            ours: [headers[name.lower()] for name in names if name.lower() in headers]
            for ours, names in vendor[1].items()
        }
    else:
        index = {ours: [header.index(column)] for ours, column in map_columns(header, COLUMNS).items()}
        if "first_name" not in index:
            raise imports.FileProblem("The first line must name the columns, including a first name column.")
    for line, values in imports.csv_cells(reader, index):
        yield line, _tidy(values)


def _again(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


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


def _vcard_records(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line of its BEGIN:VCARD, fields) for each contact; a contact vobject cannot read is a bad row."""
    card: list[str] = []
    start = 0
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not card and not line.strip():
            continue
        if not card:
            start = number
            if line.strip().upper() != "BEGIN:VCARD":
                raise imports.FileProblem(
                    f"Line {number}: a contact must start with BEGIN:VCARD. Is this the right file?"
                )
        card.append(line)
        if line.strip().upper() == "END:VCARD":
            yield start, _vcard_fields("\r\n".join(card) + "\r\n")
            card = []
    if card:
        raise imports.FileProblem(f"Line {start}: this contact has no END:VCARD; the file is cut short.")


def _vcard_fields(card_text: str) -> dict[str, str]:
    try:
        card = vobject.readOne(card_text)
    except Exception as error:  # noqa: BLE001 - vobject raises many kinds for one broken contact
        # vobject's own line numbers count within the contact; the row's line is the contact's first.
        reason = str(error.args[0] if error.args else error)[:120]
        return {"problem": f"this contact cannot be read ({reason})."}
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


class CustomerImport(imports.ImportSpec):
    """Customers: new ones created in bulk, known ones (matched) updated where the file says more."""

    kind = GENERIC
    noun, nouns = "customer", "customers"
    row_form = ImportRowForm
    max_rows = MAX_ROWS
    batch_size = 1000
    empty = "The file has no customer rows."
    tables = (Customer, Customer.locations.through, Customer.tags.through, ImportantDate)

    def records(self, lines, plan):
        yield from _records(lines, plan)

    def context(self, options: dict) -> dict:
        locations = Location.objects.filter(is_active=True)
        if options.get("locations") is not None:
            locations = locations.filter(pk__in=options["locations"])
        by_name = {location.name.lower(): location for location in locations}
        default = next((loc for loc in by_name.values() if loc.pk == options.get("location")), None)
        return {"locations": by_name, "default_location": default}

    def form(self, context: dict) -> ImportRowForm:
        return ImportRowForm(**context)

    def read(self, form, line, values, context) -> imports.RowResult:
        problem = values.pop("problem", None)
        if problem:
            return imports.RowResult(line=line, errors={"row": [problem]})
        row = super().read(form, line, values, context)
        if not row.errors:
            row.data = dict(row.data)
        return row

    def match(self, rows, context, plan) -> None:
        """Rows naming the same customer twice are bad rows; others are matched (external id, email, phone).
        Two rows that find the same customer (a shared landline, say) are a bad row, not a merge."""
        seen = plan.state.setdefault("seen", {})
        matched_at = plan.state.setdefault("matched_at", {})
        for row in rows:
            for key in ("external_id", "email", "phone"):
                value = row.data.get(key)
                if value and f"{key}:{value}" in seen:
                    row.error("row", f"same {key.replace('_', ' ')} as line {seen[f'{key}:{value}']}")
                elif value:
                    seen[f"{key}:{value}"] = row.line
        keys = [
            CustomerKeys(
                external_id=row.data.get("external_id", ""),
                email=row.data.get("email", ""),
                phones=tuple(p for p in [row.data.get("phone"), *row.data.get("other_phones", [])] if p),
            )
            for row in rows
        ]
        for row, customer_id in zip(rows, match_customers(keys), strict=True):
            if customer_id is not None and customer_id in matched_at:
                row.error(
                    "row",
                    f"matches the same existing customer as line {matched_at[customer_id]}; "
                    "give each row its own email or phone, or keep one of them",
                )
            elif customer_id is not None:
                matched_at[customer_id] = row.line
            row.customer_id = customer_id if not row.errors else None
            row.action = "update" if row.customer_id else "create"

    def ready(self, plan) -> str:
        return format_html(
            "<strong>{}</strong> new customer{}, <strong>{}</strong> to match existing ones",
            plan.to_create,
            pluralize(plan.to_create),
            plan.to_update,
        )

    def pack(self, row):
        data = dict(row.data)
        data["home_location"] = data["home_location"].pk
        return (row.line, row.action, row.customer_id, data)

    def commit_start(self, plan, *, user) -> dict:
        return {"user": user, "created": 0, "updated": 0, "tags": {}, "todays": {}}

    def commit_batch(self, batch, state, plan) -> None:
        rows = [self.unpack(packed) for packed in batch]
        tags = _tags_named(rows, state["tags"])
        creates = [row for row in rows if row.customer_id is None]
        # An erased customer's address stays suppressed: an import cannot make them reachable again.
        suppressed = signals.suppressed_addresses(
            [row.data.get("email", "") for row in creates if row.data.get("email_consent")]
        )
        customers, birthdays = [], []
        for row in creates:
            data = dict(row.data)
            birthdays.append(data.pop("birthday", None))
            consent = data.pop("email_consent", False)
            data.pop("other_phones", None)
            data.pop("tags", None)
            data["home_location_id"] = data.pop("home_location")
            customer = Customer(**data)
            if consent and customer.email and customer.email.lower() not in suppressed:
                # The till says they agreed to marketing email: consent recorded on the day it reached us.
                customer.consent_email_at = _today(customer.home_location_id, state)
            customers.append(customer)
        customers_create_bulk(customers=customers, tags=[tags[row.line] or [] for row in creates], birthdays=birthdays)
        state["created"] += len(creates)
        updates = [row for row in rows if row.customer_id is not None]
        # One entry for the import (commit_end), not one per customer it touched.
        with disable_auditlog():
            state["updated"] += _update(updates, tags, state)

    def commit_end(self, state, plan) -> dict:
        figures = {"created": state["created"], "updated": state["updated"]}
        if state["created"] or state["updated"]:
            audit.record_import(user=state["user"], what="customers", figures=figures)
        return figures


def _today(location_id: int, state: dict) -> datetime.date:
    todays = state["todays"]
    if location_id not in todays:
        todays[location_id] = Location.objects.get(pk=location_id).local_today()
    return todays[location_id]


def _tags_named(rows: list[imports.RowResult], known: dict[str, Tag]) -> dict[int, list[Tag] | None]:
    """The tags each row names (None: the file says nothing), new tags created once for the batch."""
    names_of = {}
    for row in rows:
        text = row.data.get("tags", "")
        names = []
        for name in text.replace(";", ",").split(","):
            name = " ".join(name.split()).lower()[:40]
            if name and name not in names:
                names.append(name)
        names_of[row.line] = names if text else None
    wanted = {name for names in names_of.values() for name in names or []} - known.keys()
    if wanted:
        known.update({tag.name: tag for tag in Tag.objects.filter(name__in=wanted)})
        missing = sorted(wanted - known.keys())
        known.update({tag.name: tag for tag in Tag.objects.bulk_create([Tag(name=name) for name in missing])})
    return {line: None if names is None else [known[name] for name in names] for line, names in names_of.items()}


def _update(rows: list[imports.RowResult], tags: dict, state: dict) -> int:
    """Update matched customers where the file says more; an empty cell never wipes what staff know."""
    if not rows:
        return 0
    customers = Customer.objects.select_related("home_location").in_bulk([row.customer_id for row in rows])
    with_birthday = set(
        ImportantDate.objects.filter(
            customer_id__in=customers, kind=ImportantDate.Kind.BIRTHDAY, person=None
        ).values_list("customer_id", flat=True)
    )
    suppressed = signals.suppressed_addresses(
        [customers[row.customer_id].email for row in rows if row.data.get("email_consent")]
    )
    updated = 0
    for row in rows:
        customer = customers[row.customer_id]
        data = dict(row.data)
        birthday = data.pop("birthday", None)
        email_consent = data.pop("email_consent", False)
        data.pop("other_phones", None)
        data.pop("tags", None)
        row_tags = tags[row.line]
        changed = False
        for key, value in data.items():
            attname = "home_location_id" if key == "home_location" else key
            if value in ("", None):
                continue
            if getattr(customer, attname) != value:
                setattr(customer, attname, value)
                changed = True
        if (
            email_consent
            and customer.email
            and customer.consent_email_at is None
            # An erased customer's address stays suppressed: an import cannot make them reachable again.
            and customer.email.lower() not in suppressed
        ):
            customer.consent_email_at = _today(customer.home_location_id, state)
            changed = True
        if changed or row_tags is not None:
            customer_save(customer=customer, tags=row_tags)
        if birthday and customer.pk not in with_birthday:
            year, month, day = birthday
            important_date_save(
                important_date=ImportantDate(
                    customer=customer, kind=ImportantDate.Kind.BIRTHDAY, year=year, month=month, day=day
                )
            )
            changed = True
        updated += changed
    return updated


SPEC = CustomerImport()


def check(raw, *, options: dict, progress: imports.Progress | None = None) -> imports.Plan:
    """Read and check a customer file (CSV, a till's export or vCards) without saving anything.

    options: "location" (the pk of the location of rows without one), "locations" (the pks of the
    locations rows may name; all active ones when left out).
    """
    return imports.check(SPEC, raw, options=options, progress=progress)


def commit(plan: imports.Plan, *, user, progress: imports.Progress | None = None) -> dict[str, int]:
    """Save a checked plan, all or nothing; return {"created": n, "updated": m}."""
    return imports.commit(plan, user=user, progress=progress)


def done_message(summary: dict) -> str:
    created, updated = summary["created"], summary["updated"]
    return f"Imported: {created} new customer{pluralize(created)}, {updated} updated."
