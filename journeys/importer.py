"""Bring interactions in from a till, a booking system or a spreadsheet: CSV files and JSON records.

One import kind of the import framework (crm.kernel.imports) serves the `import_interactions` command, the
managers' import page, background imports and the JSON endpoint:

    plan = importer.check(raw_or_stream, options={"location": pk, "create": False}, progress=None)
    summary = importer.commit(plan, user=user, progress=None)

A record names its customer by email, phone or external id (customers.matching), its time, touchpoint,
optional amount and external reference. Every bad row is reported by line; a file with a bad row imports
nothing; a record already imported (same external reference) is skipped, so importing a file twice adds
nothing the second time. Records without a reference get one made from their content (and, for identical
rows, their occurrence in the file), for the same reason. Saving is set-based: new customers in bulk,
interactions by COPY, rollups and visit figures in one statement a batch, one audit entry per import.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from crm.kernel import audit, imports
from crm.kernel.bulk import copy_rows, fetch_later
from crm.kernel.models import Location
from customers import signals
from customers.matching import CustomerKeys, match_customers_later
from customers.models import Customer
from customers.services import ContactFigures, customers_create_bulk, normalise_phone
from journeys import rollups
from journeys.models import CustomerJourneyStat, Interaction, Touchpoint, TouchpointMonth
from journeys.services import stage_of

MAX_ROWS = 200_000
# The touchpoint of rows that name none, unless the options choose another: a till's sales are in store.
DEFAULT_TOUCHPOINT = "in-store"
VISIT_KINDS = frozenset(Interaction.VISIT_KINDS)
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
    # An offer the purchase used: outreach redeems it on the imported interaction (customers.signals).
    "offer_code": ["offer_code", "offer code", "offer", "voucher", "voucher code", "promo code", "coupon"],
}
TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M"]
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y"]
SENTIMENTS = {"negative": -1, "-1": -1, "neutral": 0, "0": 0, "": 0, "positive": 1, "1": 1, "+1": 1}


# Clocks on Earth run from UTC-12:00 to UTC+14:00 (PostgreSQL refuses anything past ±15:59).
MAX_UTC_OFFSET = datetime.timedelta(hours=14)
TEXT = {"required": False, "strip": True}


class InteractionRowForm(forms.Form):
    """One interaction as a till or spreadsheet writes it (all text); clean() turns it into our values."""

    email = forms.CharField(**TEXT)
    phone = forms.CharField(**TEXT)
    customer_id = forms.CharField(**TEXT)
    first_name = forms.CharField(**TEXT)
    last_name = forms.CharField(**TEXT)
    occurred_at = forms.CharField(**TEXT)
    touchpoint = forms.CharField(**TEXT)
    kind = forms.CharField(**TEXT)
    amount = forms.CharField(**TEXT)
    external_ref = forms.CharField(max_length=100, **TEXT)
    location = forms.CharField(**TEXT)
    sentiment = forms.CharField(**TEXT)
    summary = forms.CharField(**TEXT)
    offer_code = forms.CharField(max_length=40, **TEXT)

    def __init__(
        self,
        *args,
        touchpoints: dict,
        locations: dict,
        default_location: Location | None,
        default_touchpoint: Touchpoint | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.touchpoints, self.locations, self.default_location = touchpoints, locations, default_location
        self.default_touchpoint = default_touchpoint
        # How often each content-made reference has been seen in this file: identical rows are real
        # repeated purchases (two coffees), the second one of the file is "...:2".
        self.seen_content: dict[str, int] = defaultdict(int)
        # Later than this is in the future (read once: the form serves every row of a file).
        self.latest = timezone.now() + datetime.timedelta(days=1)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if email and not _is_email(email):
            raise ValidationError("Enter a valid email address.")
        return email

    def clean_phone(self) -> str:
        return _phone(self.cleaned_data["phone"])

    def clean_first_name(self) -> str:
        return self.cleaned_data["first_name"][:80]

    def clean_last_name(self) -> str:
        return self.cleaned_data["last_name"][:80]

    def clean_summary(self) -> str:
        return self.cleaned_data["summary"][:2000]

    def clean_location(self) -> Location:
        name = self.cleaned_data["location"]
        location = self.locations.get(name.lower()) if name else self.default_location
        if location is None:
            raise ValidationError(f"Unknown location {name!r}." if name else "Required.")
        return location

    def clean_touchpoint(self) -> Touchpoint:
        name = self.cleaned_data["touchpoint"]
        touchpoint = self.touchpoints.get(name.lower()) if name else self.default_touchpoint
        if touchpoint is None:
            raise ValidationError(f"Unknown touchpoint {name!r}." if name else "Required.")
        return touchpoint

    def clean_amount(self) -> Decimal | None:
        return read_amount(self.cleaned_data["amount"])

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"].lower()
        if kind and kind not in Interaction.Kind.values:
            raise ValidationError(f"Use one of: {', '.join(Interaction.Kind.values)}.")
        return kind

    def clean_sentiment(self) -> int:
        sentiment = self.cleaned_data["sentiment"].lower()
        if sentiment not in SENTIMENTS:
            raise ValidationError("Use negative, neutral or positive.")
        return SENTIMENTS[sentiment]

    def clean(self) -> dict:
        data = self.cleaned_data
        keys = CustomerKeys(
            external_id=data.get("customer_id", ""), email=data.get("email", ""), phones=_phones(data.get("phone"))
        )
        if not keys and not {"email", "phone"} & set(self.errors):
            self.add_error("customer", "Give the customer's email, phone or external id.")
        data["keys"] = keys
        when, problem = read_when(data.get("occurred_at", ""), data.get("location"), latest=self.latest)
        if problem:
            self.add_error("occurred_at", problem)
        data["occurred_at"] = when
        if not data.get("kind") and "kind" not in self.errors:
            data["kind"] = default_kind(data.get("amount"), data.get("touchpoint"))
        if not data.get("external_ref") and not self.errors:
            data["external_ref"] = self._content_ref(data)
        return data

    def quick(self, values: dict) -> dict | None:
        """The row's cleaned data as full_clean would make it, read with plain parsing (no form machinery),
        or None when any cell is not plainly good: the caller then cleans the row with the form, which
        words every problem. Only rows the form accepts unchanged are taken here, so both agree."""
        try:
            # Every cell text (join refuses anything else) and none with a NUL (the form refuses those).
            if "\x00" in "".join(values.values()):
                return None
        except TypeError:
            return None
        get = values.get
        external_ref, offer_code = get("external_ref", "").strip(), get("offer_code", "").strip()
        if len(external_ref) > REF_LENGTH or len(offer_code) > OFFER_CODE_LENGTH:
            return None
        email, phone, customer_id = get("email", "").strip().lower(), get("phone", "").strip(), get("customer_id", "")
        if email and not _is_email(email):
            return None
        try:
            phone = _phone(phone) if phone else ""
            amount = read_amount(get("amount", "").strip())
        except ValidationError:
            return None
        keys = CustomerKeys(external_id=customer_id.strip(), email=email, phones=(phone,) if phone else ())
        if not keys:
            return None
        name = get("location", "").strip()
        location = self.locations.get(name.lower()) if name else self.default_location
        touchpoint_name = get("touchpoint", "").strip()
        touchpoint = self.touchpoints.get(touchpoint_name.lower()) if touchpoint_name else self.default_touchpoint
        kind = get("kind", "").strip().lower()
        sentiment = SENTIMENTS.get(get("sentiment", "").strip().lower())
        if location is None or touchpoint is None or sentiment is None or (kind and kind not in KINDS):
            return None
        when, problem = read_when(get("occurred_at", "").strip(), location, latest=self.latest)
        if problem:
            return None
        # The form's cleaned_data: its fields in its order, then the keys clean() adds.
        data = {
            "email": email,
            "phone": phone,
            "customer_id": keys.external_id,
            "first_name": get("first_name", "").strip()[:80],
            "last_name": get("last_name", "").strip()[:80],
            "occurred_at": when,
            "touchpoint": touchpoint,
            "kind": kind or default_kind(amount, touchpoint),
            "amount": amount,
            "external_ref": external_ref,
            "location": location,
            "sentiment": sentiment,
            "summary": get("summary", "").strip()[:2000],
            "offer_code": offer_code,
            "keys": keys,
        }
        if not external_ref:
            data["external_ref"] = self._content_ref(data)
        return data

    def add_error(self, field, error):
        # "customer" is not a field of the form: its errors go under its own name, for the API.
        if field == "customer":
            self._errors.setdefault("customer", self.error_class()).append(error)
            return
        super().add_error(field, error)

    def _content_ref(self, data: dict) -> str:
        content = "|".join(
            str(value)
            for value in (
                data["keys"].key,
                data["occurred_at"].isoformat(),
                data["touchpoint"].slug,
                data["amount"],
                data["kind"],
                data["location"].pk,
            )
        )
        ref = "auto:" + hashlib.sha256(content.encode()).hexdigest()[:40]
        self.seen_content[ref] += 1
        seen = self.seen_content[ref]
        return ref if seen == 1 else f"{ref}:{seen}"


KINDS = frozenset(Interaction.Kind.values)
# The longest cells the form takes (its CharFields' max_length), for quick().
REF_LENGTH = InteractionRowForm.base_fields["external_ref"].max_length
OFFER_CODE_LENGTH = InteractionRowForm.base_fields["offer_code"].max_length
CENT = Decimal("0.01")


def read_amount(text: str) -> Decimal | None:
    """An amount as tills write it ("$1,234.50"), or None for none; raises ValidationError."""
    text = text.replace(",", "").lstrip("$£€")
    if not text:
        return None
    try:
        amount = Decimal(text)
        if not amount.is_finite() or amount < 0 or amount >= 10**8:
            raise InvalidOperation
    except InvalidOperation:
        raise ValidationError(f"Not an amount: {text!r}.") from None
    if amount != amount.quantize(CENT):
        raise ValidationError("At most 2 decimal places.")
    return amount


@functools.lru_cache(maxsize=50_000)
def _is_email(email: str) -> bool:
    """Django's email check, remembered: a file names each customer on many rows."""
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


@functools.lru_cache(maxsize=50_000)
def _phone(text: str) -> str:
    """normalise_phone, remembered (a ValidationError is raised again each time: not cached)."""
    return normalise_phone(text)


def _phones(phone: str | None) -> tuple[str, ...]:
    return (phone,) if phone else ()


def default_kind(amount: Decimal | None, touchpoint: Touchpoint | None) -> str:
    """Any amount, $0.00 included (a free repair, a voucher spent in full), makes a purchase; else an
    in-store row is a visit and anything else a conversation."""
    if amount is not None:
        return Interaction.Kind.PURCHASE
    if touchpoint is not None and touchpoint.slug == "in-store":
        return Interaction.Kind.VISIT
    return Interaction.Kind.CONVERSATION


def read_when(
    text: str, location: Location | None, *, latest: datetime.datetime | None = None
) -> tuple[datetime.datetime | None, str | None]:
    """Read a date or time; return (moment, None) or (None, the problem).

    One without a zone is the row's location's local time, and a date alone is a visit at noon on that
    local date (so a later change of zone of up to 11 hours keeps its day)."""
    if not text:
        return None, "Give the date or time."
    parsed = _parse_when(text)
    if parsed is None:
        return None, f"Not a date or time: {text!r} (use 2026-11-02 or 2026-11-02 14:30)."
    if parsed.tzinfo is None:  # what fromisoformat and strptime read without a zone
        zone = location.tzinfo if location is not None else timezone.get_current_timezone()
        # timezone.make_aware's own step, for a datetime known to be naive.
        parsed = parsed.replace(hour=12, tzinfo=zone) if _is_date_only(text) else parsed.replace(tzinfo=zone)
    elif abs(parsed.utcoffset()) > MAX_UTC_OFFSET:
        return None, f"The UTC offset of {text!r} is beyond ±14:00, which no place on Earth uses."
    if parsed > (latest or timezone.now() + datetime.timedelta(days=1)):
        return parsed, "This is in the future."
    return parsed, None


def _parse_when(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in TIME_FORMATS + DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware by the caller
        except ValueError:
            continue
    return None


def _is_date_only(text: str) -> bool:
    return len(text) <= 10 and ":" not in text


class InteractionImport(imports.ImportSpec):
    """Interactions (visits, purchases, conversations): matched on customer, skipped when already imported."""

    kind = "CSV file"
    noun, nouns = "interaction", "interactions"
    columns = COLUMNS
    # No touchpoint column (a till's export has none): each row is at the options' touchpoint, by default
    # in store.
    required = ("occurred_at", ("email", "phone", "customer_id"))
    row_form = InteractionRowForm
    max_rows = MAX_ROWS
    batch_size = 5000

    def context(self, options: dict) -> dict:
        touchpoints = {}
        for touchpoint in Touchpoint.objects.all():
            touchpoints[touchpoint.slug] = touchpoint
            touchpoints[touchpoint.name.lower()] = touchpoint
        active = list(Location.objects.filter(is_active=True))
        chosen = next((loc for loc in active if loc.pk == options.get("location")), None)
        default = next((t for t in touchpoints.values() if t.pk == options.get("touchpoint")), None)
        return {
            "touchpoints": touchpoints,
            "default_touchpoint": default or touchpoints.get(DEFAULT_TOUCHPOINT),
            "locations": {location.name.lower(): location for location in active},
            # A business with one shop needs no location column.
            "default_location": chosen or (active[0] if len(active) == 1 else None),
        }

    def form(self, context: dict) -> InteractionRowForm:
        return InteractionRowForm(**context)

    def read(self, form: InteractionRowForm, line: int, values: dict, context: dict) -> imports.RowResult:
        """A plainly good row is read without the form's machinery; any other is cleaned by the form."""
        data = form.quick(values)
        if data is None:
            return super().read(form, line, values, context)
        return imports.RowResult(line=line, data=data)

    # Its two queries a batch are answered while the next batch is read (crm.kernel.imports).
    match_ahead = True
    tables = (Interaction, Customer, Customer.locations.through, CustomerJourneyStat, TouchpointMonth)

    def match(self, rows: list[imports.RowResult], context: dict, plan: imports.Plan) -> None:
        self.match_later(rows, context, plan)()

    def match_later(self, rows: list[imports.RowResult], context: dict, plan: imports.Plan):
        """Spot references repeated in the file; send the queries for customers and references already
        imported; return what reads their answers, sets each row's action and notes new customers."""
        refs = plan.state.setdefault("refs", {})
        for row in rows:
            ref = row.data["external_ref"]
            if ref in refs:
                row.error("external_ref", f"Same reference as line {refs[ref]}.")
            else:
                refs[ref] = row.line
        rows = [row for row in rows if not row.errors]
        customer_ids = match_customers_later([row.data["keys"] for row in rows])
        existing = _imported_refs_later([row.data["external_ref"] for row in rows])
        return functools.partial(self._matched, rows, customer_ids, existing, plan)

    def _matched(self, rows: list[imports.RowResult], customer_ids, existing, plan: imports.Plan) -> None:
        customer_ids, existing = customer_ids(), existing()
        new = plan.state.setdefault("new", {})
        figures = plan.state.setdefault("new_figures", ContactFigures())
        create = plan.options.get("create", False)
        codes = plan.state.setdefault("offer_codes", {})
        for row, customer_id in zip(rows, customer_ids, strict=True):
            row.customer_id = customer_id
            if row.data.get("offer_code") and row.data["external_ref"] not in existing:
                codes[row.line] = row.data["offer_code"]
            if row.data["external_ref"] in existing:
                row.action = "skip"
            elif customer_id is None and not create:
                row.error("customer", "No such customer (allow creating unknown customers, or add them first).")
            elif customer_id is None:
                data = row.data
                key = data["keys"].key
                if key not in new:
                    new[key] = (data["first_name"], data["last_name"], data["keys"], data["location"].pk)
                # A new customer is created with their visit figures: their row is written once.
                figures.add(key, data["location"].pk, data["occurred_at"], data["kind"] in VISIT_KINDS)

    def new_customers(self, plan: imports.Plan) -> int:
        return len(plan.state.get("new", {}))

    def ready(self, plan: imports.Plan) -> str:
        said = [format_html("<strong>{}</strong> interaction{} to import", plan.to_import, pluralize(plan.to_import))]
        if plan.already_imported:
            said.append(format_html("{} already imported (skipped)", plan.already_imported))
        if plan.new_customers:
            said.append(format_html("{} new customer{}", plan.new_customers, pluralize(plan.new_customers)))
        return format_html_join(", ", "{}", ((part,) for part in said))

    def pack(self, row: imports.RowResult) -> tuple:
        data = row.data
        return (
            row.line,
            row.action,
            row.customer_id,
            None if row.customer_id else data["keys"].key,
            data["touchpoint"].pk,
            data["location"].pk,
            data["kind"],
            stage_of(data["kind"], data["touchpoint"]),
            # The same moment in UTC: a datetime in a ZoneInfo costs twice as much to spool.
            data["occurred_at"].astimezone(datetime.UTC),
            data["summary"],
            data["sentiment"],
            data["amount"],
            data["external_ref"],
        )

    def unpack(self, packed: tuple) -> imports.RowResult:
        line, action, customer_id, key, touchpoint, location, kind, stage, at, summary, sentiment, amount, ref = packed
        data = {
            "customer_key": key,
            "touchpoint_id": touchpoint,
            "location_id": location,
            "kind": kind,
            "stage": stage,
            "occurred_at": at,
            "summary": summary,
            "sentiment": sentiment,
            "amount": amount,
            "external_ref": ref,
        }
        return imports.RowResult(line=line, action=action, customer_id=customer_id, data=data)

    def commit_start(self, plan: imports.Plan, *, user) -> dict:
        """Create the customers the file names that we did not know, all at once, with their visit figures."""
        new = plan.state.get("new", {})
        figures = plan.state["new_figures"].per_customer if new else {}
        customers, places = [], []
        for key, (first, last, keys, location_id) in new.items():
            visits, first_visit, last_visit, last_location, contact, locations = figures[key]
            customers.append(
                Customer(
                    first_name=first or "Unknown",
                    last_name=last,
                    email=keys.email,
                    phone=keys.phones[0] if keys.phones else "",
                    external_id=keys.external_id,
                    home_location_id=location_id,
                    visit_count=visits,
                    first_visit_at=first_visit,
                    last_visit_at=last_visit,
                    last_visit_location_id=last_location,
                    last_contact_at=contact,
                )
            )
            places.append(locations)
        created = customers_create_bulk(customers=customers, locations=places)
        ids = {key: customer.pk for key, customer in zip(new, created, strict=True)}
        return {
            "user": user,
            "ids": ids,
            "imported": 0,
            "now": timezone.now(),
            "rollups": rollups.Sums(),
            "contacts": ContactFigures(),
        }

    def commit_batch(self, batch: list, state: dict, plan: imports.Plan) -> None:
        ids = state["ids"]
        # Packed rows: (line, action, customer id, new customer's key, then the interaction's columns).
        batch = [packed for packed in batch if packed[1] != "skip"]
        rows = [(packed[2] or ids[packed[3]], *packed[4:]) for packed in batch]
        _insert(rows, state["now"])
        # Summed over the whole file and written once at the end: a customer's row is updated once
        # (and a new customer's figures were written with them).
        state["rollups"].add((r[0], r[1], r[2], r[4], r[7], r[5]) for r in rows)
        contacts = state["contacts"]
        for packed, r in zip(batch, rows, strict=True):
            if packed[2]:
                contacts.add(r[0], r[2], r[5], r[3] in VISIT_KINDS)
        state["imported"] += len(rows)
        # Offer codes the purchases carried: (line, reference, customer, code, when, location), redeemed at the end.
        codes = plan.state.get("offer_codes") or {}
        state.setdefault("offer_codes", []).extend(
            (packed[0], r[-1], r[0], codes[packed[0]], r[5], r[2])
            for packed, r in zip(batch, rows, strict=True)
            if packed[0] in codes
        )

    def commit_end(self, state: dict, plan: imports.Plan) -> dict:
        state["rollups"].save()
        state["contacts"].save()
        summary = {
            "imported": state["imported"],
            "already_imported": plan.already_imported,
            "customers_created": len(state["ids"]),
        }
        if state["imported"] or state["ids"]:
            audit.record_import(user=state["user"], what="interactions", figures=summary)
        if state.get("offer_codes"):
            coded = state["offer_codes"]
            ids = dict(
                Interaction.objects.filter(external_ref__in=[c[1] for c in coded]).values_list("external_ref", "pk")
            )
            codes = [(line, ids[ref], customer, code, at, where) for line, ref, customer, code, at, where in coded]
            summary.update(signals.offer_codes_redeem(codes))
        return summary


SPEC = InteractionImport()


def check(raw, *, options: dict, progress: imports.Progress | None = None) -> imports.Plan:
    """Read and check a CSV file of interactions without saving anything.

    options: "location" (the pk of the location of rows without one), "touchpoint" (the pk of the touchpoint
    of rows without one; by default in store), "create" (create unknown customers).
    """
    return imports.check(SPEC, raw, options=options, progress=progress)


def check_records(records: list[dict], *, options: dict | None = None) -> imports.Plan:
    """Check JSON records (the API): the same rules as a file, line numbers counting records from 1."""
    return imports.check_records(SPEC, records, options=options or {})


def commit(plan: imports.Plan, *, user, progress: imports.Progress | None = None) -> dict[str, int]:
    """Import a checked plan, all or nothing; return what it did."""
    return imports.commit(plan, user=user, progress=progress)


def done_message(summary: dict) -> str:
    """What the page says after an import."""
    imported, already, created = summary["imported"], summary["already_imported"], summary["customers_created"]
    text = (
        f"Imported {imported} interaction{pluralize(imported)}; "
        f"{already} {'was' if already == 1 else 'were'} already there; "
        f"{created} new customer{pluralize(created)}."
    )
    # Offer codes the purchases carried (outreach redeems them, customers.signals.offer_codes_imported).
    redeemed, refused = summary.get("offers_redeemed", 0), summary.get("offer_codes_refused") or []
    if redeemed or refused:
        text += f" {redeemed} offer code{pluralize(redeemed)} redeemed."
    if refused:
        text += (
            " Not redeemed: "
            + " ".join(refused[:10])
            + (f" (and {len(refused) - 10} more)" if len(refused) > 10 else "")
        )
    return text


def _imported_refs_later(refs: list[str]) -> Callable[[], set[str]]:
    """Which of these references are imported already: one query, the references as one array, sent now;
    the function returned reads the answer (crm.kernel.bulk.fetch_later)."""
    if not refs:
        return set
    found = fetch_later(
        f"SELECT external_ref FROM {Interaction._meta.db_table} WHERE external_ref = ANY(%s)",  # noqa: S608
        [refs],
    )
    return lambda: {ref for (ref,) in found()}


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


def _insert(interactions: list[tuple], now: datetime.datetime) -> None:
    """Insert interaction rows (in COPY_FIELDS order, without created_at) with COPY."""
    columns = [Interaction._meta.get_field(name).column for name in COPY_FIELDS]
    with connection.cursor() as cursor:
        copy_rows(cursor, Interaction._meta.db_table, columns, ((*row, now) for row in interactions))
