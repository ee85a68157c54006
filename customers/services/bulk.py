"""Writes for many new customers at once (an import): COPY, no audit entry per customer."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from crm.kernel.bulk import copy_rows, next_ids
from crm.kernel.models import Location
from customers import schedule
from customers.models import Customer, ImportantDate, Tag
from customers.services.contacts import _refresh_keep_in_touch_of


@transaction.atomic
def customers_create_bulk(
    *,
    customers: list[Customer],
    tags: list[list[Tag]] | None = None,
    birthdays: list[tuple[int | None, int, int] | None] | None = None,
    locations: list[Iterable[int]] | None = None,
) -> list[Customer]:
    """Create many checked customers at once (an import) by COPY: ids taken from the sequence up front,
    then the customers, their locations (the home one and any in `locations`), tags and birthdays.

    The fields must be clean already (the import's row form) and may carry visit figures; no audit entry
    per customer: the import records one for all of them (crm.audit.record_import).
    """
    if not customers:
        return []
    tags = tags or [[] for _ in customers]
    todays = {
        location.pk: location.local_today()
        for location in Location.objects.filter(pk__in={c.home_location_id for c in customers})
    }
    # Generated columns (search_name, phone_digits) are PostgreSQL's to fill: COPY may not name them.
    fields = [f for f in Customer._meta.concrete_fields if not f.generated]
    with connection.cursor() as cursor:
        ids = next_ids(cursor, Customer._meta.db_table, len(customers))
        _ready_for_copy(customers, ids, tags, todays)
        copy_rows(
            cursor,
            Customer._meta.db_table,
            [f.column for f in fields],
            ([getattr(c, f.attname) for f in fields] for c in customers),
        )
        known_at = [{c.home_location_id, *extra} for c, extra in zip(customers, locations or [], strict=False)]
        known_at += [{c.home_location_id} for c in customers[len(known_at) :]]
        copy_rows(
            cursor,
            Customer.locations.through._meta.db_table,
            ["customer_id", "location_id"],
            ((c.pk, place) for c, places in zip(customers, known_at, strict=True) for place in places),
        )
        copy_rows(
            cursor,
            Customer.tags.through._meta.db_table,
            ["customer_id", "tag_id"],
            ((c.pk, tag.pk) for c, tag_list in zip(customers, tags, strict=True) for tag in tag_list),
        )
    _birthdays_create(customers, birthdays or [], todays)
    if any(tags):
        _refresh_keep_in_touch_of([c.pk for c, tag_list in zip(customers, tags, strict=True) if tag_list])
    return customers


def _ready_for_copy(customers: list[Customer], ids: list[int], tags: list[list[Tag]], todays: dict) -> None:
    """Give each new customer their id and what customer_save would have worked out."""
    now = timezone.now()
    for customer, customer_id, tag_list in zip(customers, ids, tags, strict=True):
        if customer.home_location_id not in todays:
            raise ValidationError("A customer needs a home location.")
        customer.pk = customer_id
        customer.email = customer.email.strip().lower()
        anniversary = schedule.customer_anniversary(customer.customer_since, todays[customer.home_location_id])
        customer.next_anniversary_on = anniversary[0] if anniversary else None
        customer.search_document = customer.build_search_document(sorted(tag.name for tag in tag_list))
        customer.created_at = customer.updated_at = now
        customer._state.adding = False


def _birthdays_create(customers: list[Customer], birthdays: list, todays: dict) -> None:
    dates = []
    for customer, birthday in zip(customers, birthdays, strict=False):
        if birthday:
            year, month, day = birthday
            date = ImportantDate(customer=customer, kind=ImportantDate.Kind.BIRTHDAY, year=year, month=month, day=day)
            date.schedule_from(todays[customer.home_location_id])
            dates.append(date)
    ImportantDate.objects.bulk_create(dates, batch_size=1000)
