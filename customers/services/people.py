"""Writes for a customer's people, pets and important dates."""

from __future__ import annotations

from django.db import transaction

from customers.models import ImportantDate, Person


@transaction.atomic
def person_save(*, person: Person) -> Person:
    person.full_clean()
    person.save()
    return person


@transaction.atomic
def person_delete(*, person: Person) -> None:
    person.delete()


@transaction.atomic
def important_date_delete(*, important_date: ImportantDate) -> None:
    important_date.delete()


@transaction.atomic
def important_date_save(*, important_date: ImportantDate) -> ImportantDate:
    """Save a date and schedule its next prompt in the customer's home location's day."""
    important_date.full_clean()
    important_date.schedule_from(important_date.customer.home_location.local_today())
    important_date.save()
    return important_date
