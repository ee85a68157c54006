"""Writes for contacts with customers: the visit figures and the keep-in-touch schedule."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm.kernel.bulk import copy_into_temp
from crm.kernel.models import Location
from customers import schedule, signals
from customers.models import Customer, Tag


def keep_in_touch_cadence(customer: Customer, tags: list[Tag]) -> int | None:
    """The customer's own cadence, else the shortest of their tags' cadences."""
    if customer.keep_in_touch_days:
        return customer.keep_in_touch_days
    return min((tag.keep_in_touch_days for tag in tags if tag.keep_in_touch_days), default=None)


def _keep_in_touch_due(customer: Customer, tags: list[Tag]) -> datetime.date | None:
    last_contact = customer.last_contact_at or customer.created_at
    local_day = timezone.localtime(last_contact, customer.home_location.tzinfo).date() if last_contact else None
    return schedule.keep_in_touch_due(local_day, keep_in_touch_cadence(customer, tags))


def refresh_keep_in_touch(customer: Customer, tags: list[Tag]) -> None:
    due = _keep_in_touch_due(customer, tags)
    if due != customer.keep_in_touch_due_on:
        customer.keep_in_touch_due_on = due
        customer.save(update_fields=["keep_in_touch_due_on"])


@transaction.atomic
def customer_contact_record(
    *, customer: Customer, location: Location, at: datetime.datetime, is_visit: bool
) -> Customer:
    """Note any contact with the customer: it resets the keep-in-touch clock; a visit also
    makes the location know them and moves the brief's visit figures."""
    customer = Customer.objects.select_for_update().select_related("home_location").get(pk=customer.pk)
    fields = []
    if customer.last_contact_at is None or at > customer.last_contact_at:
        customer.last_contact_at = at
        fields.append("last_contact_at")
    if is_visit:
        customer.locations.add(location)
        customer.visit_count += 1
        if customer.first_visit_at is None or at < customer.first_visit_at:
            customer.first_visit_at = at
        if customer.last_visit_at is None or at >= customer.last_visit_at:
            customer.last_visit_at = at
            customer.last_visit_location = location
        fields += ["visit_count", "first_visit_at", "last_visit_at", "last_visit_location"]
    if fields:
        customer.save(update_fields=fields)
    refresh_keep_in_touch(customer, list(customer.tags.all()))
    signals.contact_recorded.send(sender=Customer, customer=customer)
    return customer


@transaction.atomic
def customers_contacts_add(contacts: Iterable[tuple[int, int, datetime.datetime, bool]]) -> int:
    """Record many contacts at once (an import): (customer id, location id, when, is it a visit).

    The same effect as customer_contact_record for each, in a few statements per thousand customers.
    """
    figures = ContactFigures()
    for contact in contacts:
        figures.add(*contact)
    return figures.save()


class ContactFigures:
    """Visit figures of many contacts, summed per customer as they come (an import's batches), then
    saved in a few set-based statements: each customer's row is written once, however many rows name them."""

    def __init__(self) -> None:
        self.per_customer: dict[int, list] = {}

    def add(self, customer_id: int, location_id: int, at: datetime.datetime, is_visit: bool) -> None:
        # [visits, first visit, last visit, last visit's location, last contact, locations]
        seen = self.per_customer.get(customer_id)
        if seen is None:
            seen = self.per_customer[customer_id] = [0, None, None, None, at, set()]
        if at > seen[4]:
            seen[4] = at
        if is_visit:
            seen[0] += 1
            seen[5].add(location_id)
            if seen[1] is None or at < seen[1]:
                seen[1] = at
            if seen[2] is None or at >= seen[2]:
                seen[2], seen[3] = at, location_id

    @transaction.atomic
    def save(self) -> int:
        """Write the figures; return how many customers they touched."""
        ids = sorted(self.per_customer)
        size = 10_000
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            _add_contact_figures_in_sql(chunk, self.per_customer)
            _add_locations_in_sql([(cid, lid) for cid in chunk for lid in self.per_customer[cid][5]])
            _refresh_keep_in_touch_of(chunk)
            signals.contacts_recorded.send(sender=Customer, customer_ids=chunk)
        self.per_customer = {}
        return len(ids)


CONTACT_FIGURES_SQL = """
UPDATE customers_customer AS c SET
    visit_count = c.visit_count + v.visits,
    first_visit_at = LEAST(c.first_visit_at, v.first_visit),
    last_visit_location_id = CASE
        WHEN v.last_visit IS NOT NULL AND (c.last_visit_at IS NULL OR v.last_visit >= c.last_visit_at)
        THEN v.last_location ELSE c.last_visit_location_id END,
    last_visit_at = GREATEST(c.last_visit_at, v.last_visit),
    last_contact_at = GREATEST(c.last_contact_at, v.contact)
FROM contact_figures_in AS v
WHERE c.id = v.id
"""


def _add_contact_figures_in_sql(chunk: list[int], per_customer: dict[int, list]) -> None:
    """PostgreSQL does the arithmetic (LEAST and GREATEST skip NULLs) for the chunk in one UPDATE."""
    rows = [(customer_id, *per_customer[customer_id][:5]) for customer_id in chunk]
    with connection.cursor() as cursor:
        copy_into_temp(
            cursor,
            "contact_figures_in",
            "id bigint, visits integer, first_visit timestamptz, "
            "last_visit timestamptz, last_location bigint, contact timestamptz",
            rows,
        )
        cursor.execute(CONTACT_FIGURES_SQL)


def _add_locations_in_sql(pairs: list[tuple[int, int]]) -> None:
    """The locations know these customers: (customer id, location id) pairs, the new ones inserted in one
    statement (what bulk_create(ignore_conflicts=True) does, without building a model instance a pair)."""
    if not pairs:
        return
    table = Customer.locations.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (customer_id, location_id) "  # noqa: S608 - our own table
            "SELECT v.customer_id, v.location_id "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(customer_id, location_id) "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t "
            "WHERE t.customer_id = v.customer_id AND t.location_id = v.location_id) "
            "ON CONFLICT (customer_id, location_id) DO NOTHING",
            [[pair[0] for pair in pairs], [pair[1] for pair in pairs]],
        )


def _refresh_keep_in_touch_of(chunk: list[int]) -> None:
    """Reschedule keep-in-touch for those of these customers who have a cadence (their own or a tag's)."""
    # Which have one, asked with the ids as one array (an import's chunk is thousands of customers, most
    # without a cadence): only those are loaded.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id FROM {Customer._meta.db_table} c WHERE c.id = ANY(%s) AND "  # noqa: S608 - our tables
            f"(c.keep_in_touch_days IS NOT NULL OR EXISTS (SELECT 1 FROM {Customer.tags.through._meta.db_table} ct "
            f"JOIN {Tag._meta.db_table} t ON t.id = ct.tag_id "
            "WHERE ct.customer_id = c.id AND t.keep_in_touch_days IS NOT NULL))",
            [chunk],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    if ids:
        reschedule_keep_in_touch(Customer.objects.filter(pk__in=ids))


def reschedule_keep_in_touch(customers: QuerySet[Customer]) -> None:
    """Recompute these customers' keep-in-touch days; write the ones that changed, in bulk."""
    changed = []
    for customer in customers.select_related("home_location").prefetch_related("tags").iterator(chunk_size=2000):
        due = _keep_in_touch_due(customer, list(customer.tags.all()))
        if due != customer.keep_in_touch_due_on:
            customer.keep_in_touch_due_on = due
            changed.append(customer)
    Customer.objects.bulk_update(changed, ["keep_in_touch_due_on"], batch_size=500)
