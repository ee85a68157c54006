"""Bring interactions in from a till, a booking system or a spreadsheet: CSV files and JSON records.

One code path serves the `import_interactions` command, the managers' import
page and the JSON endpoint. A record names its customer by email, phone or
external id, its time, touchpoint, optional amount and external reference.
Every bad row is reported by line; a file with a bad row imports nothing; a
record already imported (same external reference) is skipped, so importing a
file twice adds nothing the second time. Records without a reference get one
made from their content, for the same reason.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from crm.kernel.csvfiles import NOT_CSV, CsvError, malformed, map_columns, open_csv
from crm.kernel.models import Location
from customers.models import Customer
from customers.services import customer_save, customers_contacts_add, normalise_phone
from journeys import rollups
from journeys.models import Interaction, Touchpoint
from journeys.services import stage_of

MAX_ROWS = 200_000
CHUNK = 2000
COLUMNS = {
    "email": ["email", "e-mail", "customer email"],
    "phone": ["phone", "mobile", "customer phone", "telephone"],
    "customer_id": ["customer_id", "customer id", "external id", "external_id", "customer"],
    "first_name": ["first_name", "first name"],
    "last_name": ["last_name", "last name"],
    "occurred_at": ["occurred_at", "date", "time", "datetime", "when", "visited at"],
    "touchpoint": ["touchpoint", "channel", "source"],
    "kind": ["kind", "type"],
    "amount": ["amount", "total", "value"],
    "external_ref": ["external_ref", "reference", "ref", "receipt", "receipt number", "transaction id"],
    "location": ["location", "shop", "store", "branch"],
    "sentiment": ["sentiment", "mood"],
    "summary": ["summary", "notes", "what happened", "description"],
}
TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M"]
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y"]
SENTIMENTS = {"negative": -1, "-1": -1, "neutral": 0, "0": 0, "": 0, "positive": 1, "1": 1, "+1": 1}


@dataclass
class Row:
    line: int
    data: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    customer: Customer | None = None
    duplicate: bool = False

    def error(self, name: str, message: str) -> None:
        self.errors[name].append(message)

    @property
    def messages(self) -> list[str]:
        return [f"{name.replace('_', ' ')}: {m}" for name, msgs in self.errors.items() for m in msgs]


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    create_customers: bool = False

    @property
    def bad_rows(self) -> list[Row]:
        return [row for row in self.rows if row.errors]

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and not self.bad_rows and bool(self.rows)

    @property
    def to_import(self) -> int:
        return sum(1 for row in self.rows if not row.errors and not row.duplicate)

    @property
    def already_imported(self) -> int:
        return sum(1 for row in self.rows if row.duplicate)

    @property
    def new_customers(self) -> int:
        return len({row.data["customer_key"] for row in self.rows if not row.errors and row.customer is None})


# Clocks on Earth run from UTC-12:00 to UTC+14:00 (PostgreSQL refuses anything past ±15:59).
MAX_UTC_OFFSET = datetime.timedelta(hours=14)


class Reader:
    """Turn one record (a CSV row or a JSON object, as strings) into clean values or errors by field."""

    def __init__(self, *, default_location: Location | None) -> None:
        self.touchpoints = {}
        for touchpoint in Touchpoint.objects.all():
            self.touchpoints[touchpoint.slug] = touchpoint
            self.touchpoints[touchpoint.name.lower()] = touchpoint
        active = list(Location.objects.filter(is_active=True))
        self.locations = {location.name.lower(): location for location in active}
        # A business with one shop needs no location column.
        self.default_location = default_location or (active[0] if len(active) == 1 else None)
        self.kinds = {value: value for value in Interaction.Kind.values}
        self.seen_content: dict[str, int] = defaultdict(int)

    def read(self, row: Row, values: dict[str, str]) -> Row:
        # A NUL can come in through JSON ("\u0000"); PostgreSQL cannot store or compare it.
        for name, value in values.items():
            if value and "\x00" in value:
                row.error(name, "Cannot contain a NUL character.")
        values = {name: (value or "").replace("\x00", "") for name, value in values.items()}
        get = lambda name: (values.get(name) or "").strip()  # noqa: E731 - a tiny local helper
        email, phone, external_id = get("email").lower(), get("phone"), get("customer_id")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                row.error("email", "Enter a valid email address.")
        if phone:
            try:
                phone = normalise_phone(phone)
            except ValidationError as error:
                row.error("phone", error.messages[0])
        if not (email or phone or external_id):
            row.error("customer", "Give the customer's email, phone or external id.")
        row.data["customer_key"] = (
            ("external_id", external_id) if external_id else (("email", email) if email else ("phone", phone))
        )
        row.data.update(email=email, phone=phone, external_id=external_id)
        row.data["first_name"] = get("first_name")[:80]
        row.data["last_name"] = get("last_name")[:80]
        location_name = get("location").lower()
        location = self.locations.get(location_name) if location_name else self.default_location
        if location is None:
            row.error("location", f"Unknown location {get('location')!r}." if location_name else "Required.")
        row.data["location"] = location
        row.data["occurred_at"] = self._when(row, get("occurred_at"), location)
        touchpoint = self.touchpoints.get(get("touchpoint").lower())
        if touchpoint is None:
            row.error("touchpoint", f"Unknown touchpoint {get('touchpoint')!r}." if get("touchpoint") else "Required.")
        row.data["touchpoint"] = touchpoint
        amount = get("amount").replace(",", "").lstrip("$£€")
        row.data["amount"] = None
        if amount:
            try:
                row.data["amount"] = Decimal(amount)
                if not row.data["amount"].is_finite() or row.data["amount"] < 0 or row.data["amount"] >= 10**8:
                    raise InvalidOperation
                if row.data["amount"] != row.data["amount"].quantize(Decimal("0.01")):
                    row.error("amount", "At most 2 decimal places.")
            except InvalidOperation:
                row.error("amount", f"Not an amount: {amount!r}.")
        kind = get("kind").lower()
        if kind and kind not in self.kinds:
            row.error("kind", f"Use one of: {', '.join(self.kinds)}.")
        if not kind:
            visit = touchpoint is not None and touchpoint.slug == "in-store"
            # Any amount, $0.00 included (a free repair, a voucher spent in full), makes it a purchase.
            kind = (
                Interaction.Kind.PURCHASE
                if row.data["amount"] is not None
                else (Interaction.Kind.VISIT if visit else Interaction.Kind.CONVERSATION)
            )
        row.data["kind"] = kind
        sentiment = get("sentiment").lower()
        if sentiment not in SENTIMENTS:
            row.error("sentiment", "Use negative, neutral or positive.")
        row.data["sentiment"] = SENTIMENTS.get(sentiment, 0)
        row.data["summary"] = get("summary")[:2000]
        ref = get("external_ref")
        if len(ref) > 100:
            row.error("external_ref", "At most 100 characters.")
        if not ref and not row.errors:
            content = "|".join(
                str(v)
                for v in (
                    row.data["customer_key"],
                    row.data["occurred_at"].isoformat(),
                    touchpoint.slug,
                    row.data["amount"],
                    kind,
                    location.pk,
                )
            )
            ref = "auto:" + hashlib.sha256(content.encode()).hexdigest()[:40]
            # Identical rows are real repeated purchases (two coffees, two receipts): the second one of
            # the file is "…:2", so each is imported once and importing the file again adds nothing.
            self.seen_content[ref] += 1
            if self.seen_content[ref] > 1:
                ref = f"{ref}:{self.seen_content[ref]}"
        row.data["external_ref"] = ref
        return row

    def _when(self, row: Row, text: str, location: Location | None) -> datetime.datetime | None:
        """Read a date or time; one without a zone is the row's location's local time, and a date alone is
        a visit at noon on that local date (so a later change of zone of up to 11 hours keeps its day)."""
        if not text:
            row.error("occurred_at", "Give the date or time.")
            return None
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            parsed = None
            for fmt in TIME_FORMATS + DATE_FORMATS:
                try:
                    parsed = datetime.datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware just below
                    break
                except ValueError:
                    continue
        if parsed is None:
            row.error("occurred_at", f"Not a date or time: {text!r} (use 2026-11-02 or 2026-11-02 14:30).")
            return None
        if timezone.is_naive(parsed):
            if _is_date_only(text):
                parsed = parsed.replace(hour=12)
            zone = location.tzinfo if location is not None else timezone.get_current_timezone()
            parsed = timezone.make_aware(parsed, zone)
        elif abs(parsed.utcoffset()) > MAX_UTC_OFFSET:
            row.error("occurred_at", f"The UTC offset of {text!r} is beyond ±14:00, which no place on Earth uses.")
            return None
        if parsed > timezone.now() + datetime.timedelta(days=1):
            row.error("occurred_at", "This is in the future.")
        return parsed


def _is_date_only(text: str) -> bool:
    return len(text) <= 10 and ":" not in text


def plan_file(raw: bytes, *, default_location: Location | None = None, create_customers: bool = False) -> Plan:
    """Read and check a CSV file of interactions without saving anything."""
    plan = Plan(create_customers=create_customers)
    try:
        reader = open_csv(raw)
    except CsvError as error:
        plan.file_errors.append(str(error))
        return plan
    if reader is None:
        plan.file_errors.append(NOT_CSV)
        return plan
    mapping = map_columns(reader.fieldnames, COLUMNS)
    missing = [name for name in ("occurred_at", "touchpoint") if name not in mapping]
    if not {"email", "phone", "customer_id"} & set(mapping):
        missing.append("email, phone or customer id")
    if missing:
        plan.file_errors.append(f"The first line must name the columns; missing: {', '.join(missing)}.")
        return plan
    record_reader = Reader(default_location=default_location)
    try:
        for record in reader:
            if len(plan.rows) >= MAX_ROWS:
                plan.file_errors.append(f"More than {MAX_ROWS:,} rows: split the file.")
                break
            values = {ours: record.get(column) for ours, column in mapping.items()}
            if not any((v or "").strip() for v in values.values()):
                continue
            plan.rows.append(record_reader.read(Row(line=reader.line_num), values))
    except csv.Error as error:
        plan.file_errors.append(malformed(error, reader.line_num))
    if not plan.rows and not plan.file_errors:
        plan.file_errors.append("The file has no rows.")
    _resolve(plan)
    return plan


def plan_records(records: list[dict], *, create_customers: bool = False) -> Plan:
    """Check JSON records (the API): the same rules as a file, line numbers counting records from 1."""
    plan = Plan(create_customers=create_customers)
    reader = Reader(default_location=None)
    for number, record in enumerate(records, start=1):
        plan.rows.append(reader.read(Row(line=number), record))
    _resolve(plan)
    return plan


def _resolve(plan: Plan) -> None:
    """Match customers, spot references already imported and repeated within the file."""
    good = [row for row in plan.rows if not row.errors]
    seen_refs: dict[str, int] = {}
    for row in good:
        ref = row.data["external_ref"]
        if ref in seen_refs:
            row.error("external_ref", f"Same reference as line {seen_refs[ref]}.")
        else:
            seen_refs[ref] = row.line
    good = [row for row in good if not row.errors]
    for start in range(0, len(good), CHUNK):
        chunk = good[start : start + CHUNK]
        keys = defaultdict(set)
        for row in chunk:
            for kind in ("external_id", "email", "phone"):
                if row.data[kind]:
                    keys[kind].add(row.data[kind])
        customers = (
            Customer.objects.filter(erased_at__isnull=True)
            .alias(email_lower=Lower("email"))
            .filter(
                Q(external_id__in=keys["external_id"]) | Q(email_lower__in=keys["email"]) | Q(phone__in=keys["phone"])
            )
        )
        by = {"external_id": {}, "email": {}, "phone": {}}
        for customer in customers:
            for kind, value in (
                ("external_id", customer.external_id),
                ("email", customer.email.lower()),
                ("phone", customer.phone),
            ):
                if value:
                    by[kind].setdefault(value, customer)
        existing = set(
            Interaction.objects.filter(external_ref__in=[row.data["external_ref"] for row in chunk]).values_list(
                "external_ref", flat=True
            )
        )
        for row in chunk:
            row.customer = next(
                (by[kind][row.data[kind]] for kind in ("external_id", "email", "phone") if row.data[kind] in by[kind]),
                None,
            )
            row.duplicate = row.data["external_ref"] in existing
            if row.customer is None and not plan.create_customers and not row.duplicate:
                row.error("customer", "No such customer (allow creating unknown customers, or add them first).")


@transaction.atomic
def run(plan: Plan) -> dict[str, int]:
    """Import a checked plan, all or nothing; return what it did."""
    if not plan.is_valid:
        raise ValidationError("The file has errors; nothing was imported.")
    rows = [row for row in plan.rows if not row.duplicate]
    created_customers = _create_customers(rows)
    # Plain tuples, not model instances: building 100,000 of those costs seconds.
    interactions = [
        (
            row.customer.pk,
            row.data["touchpoint"].pk,
            row.data["location"].pk,
            row.data["kind"],
            stage_of(row.data["kind"], row.data["touchpoint"]),
            row.data["occurred_at"],
            row.data["summary"],
            row.data["sentiment"],
            row.data["amount"],
            row.data["external_ref"],
        )
        for row in rows
    ]
    _insert(interactions)
    rollups.add((i[0], i[1], i[2], i[4], i[7], i[5]) for i in interactions)
    customers_contacts_add([(i[0], i[2], i[5], i[3] in Interaction.VISIT_KINDS) for i in interactions])
    return {
        "imported": len(interactions),
        "already_imported": plan.already_imported,
        "customers_created": created_customers,
    }


COPY_FIELDS = [
    "customer",
    "touchpoint",
    "location",
    "kind",
    "stage",
    "occurred_at",
    "summary",
    "sentiment",
    "amount",
    "external_ref",
    "created_at",
]


def _insert(interactions: list[tuple]) -> None:
    """Insert interaction rows (in COPY_FIELDS order, without created_at) with COPY."""
    now = timezone.now()
    columns = ", ".join(Interaction._meta.get_field(name).column for name in COPY_FIELDS)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY journeys_interaction ({columns}) FROM STDIN") as copy,
    ):
        for row in interactions:
            copy.write_row((*row, now))


def _create_customers(rows: list[Row]) -> int:
    """Create the unknown customers of the plan (once each) and point their rows at them."""
    created: dict[tuple, Customer] = {}
    for row in rows:
        if row.customer is not None:
            continue
        key = row.data["customer_key"]
        if key not in created:
            created[key] = customer_save(
                customer=Customer(
                    first_name=row.data["first_name"] or "Unknown",
                    last_name=row.data["last_name"],
                    email=row.data["email"],
                    phone=row.data["phone"],
                    external_id=row.data["external_id"],
                    home_location=row.data["location"],
                )
            )
        row.customer = created[key]
    return len(created)
