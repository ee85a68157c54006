"""Writes for the customer record itself: save, tags, archive, restore and erase."""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
from auditlog.context import disable_auditlog
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from crm.kernel import audit, uploads
from crm.kernel.models import User
from customers import extensions, privacy, schedule, signals
from customers.models import Customer, Note, Tag
from customers.services.contacts import refresh_keep_in_touch, reschedule_keep_in_touch


def normalise_phone(raw: str) -> str:
    """Return the phone number in international E.164 form, or raise ValidationError."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, settings.BUSINESS_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a phone number such as (207) 555-0123 or +44 20 7946 0958.") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationError("This is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def tags_from_text(text: str) -> list[Tag]:
    """Return the tags named in a comma-separated list, creating new ones."""
    names = []
    for name in (text or "").split(","):
        name = " ".join(name.split()).lower()[:40]
        if name and name not in names:
            names.append(name)
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    return [existing.get(name) or Tag.objects.create(name=name) for name in names]


def _refresh_search_document(customer: Customer, tag_names: Iterable[str]) -> None:
    customer.search_document = customer.build_search_document(sorted(tag_names))
    customer.save(update_fields=["search_document"])


@transaction.atomic
def customer_save(
    *, customer: Customer, tags: list[Tag] | None = None, form_data: dict | None = None, by: User | None = None
) -> Customer:
    """Validate and save a new or changed customer; the home location always knows them.

    `form_data` is the customer form's cleaned data: the parts other apps added to the form
    (customers.extensions.slots.form) save their fields from it, in this transaction.
    """
    customer.phone = normalise_phone(customer.phone)
    customer.email = customer.email.strip().lower()
    customer.full_clean(exclude=["search_document"])
    today = customer.home_location.local_today()
    anniversary = schedule.customer_anniversary(customer.customer_since, today)
    customer.next_anniversary_on = anniversary[0] if anniversary else None
    customer.save()
    customer.locations.add(customer.home_location)
    if tags is not None:
        customer.tags.set(tags)
    tag_list = list(customer.tags.all())
    _refresh_search_document(customer, [tag.name for tag in tag_list])
    refresh_keep_in_touch(customer, tag_list)
    if form_data is not None:
        for part in extensions.slots.form:
            part.save(customer=customer, cleaned_data=form_data, by=by)
    return customer


@transaction.atomic
def tag_save(*, tag: Tag) -> Tag:
    """Save a tag; a new keep-in-touch cadence reschedules every customer with the tag."""
    tag.full_clean()
    tag.save()
    reschedule_keep_in_touch(Customer.objects.filter(tags=tag, erased_at__isnull=True))
    return tag


@transaction.atomic
def customer_archive(*, customer: Customer) -> Customer:
    """Archive: the customer leaves lists and search but keeps their history."""
    if customer.archived_at is None:
        customer.archived_at = timezone.now()
        customer.save(update_fields=["archived_at", "updated_at"])
    return customer


@transaction.atomic
def customer_restore(*, customer: Customer) -> Customer:
    customer.archived_at = None
    customer.save(update_fields=["archived_at", "updated_at"])
    return customer


@transaction.atomic
def customer_erase(*, customer: Customer, by: User) -> Customer:
    """Remove the customer's personal data for good, keeping anonymous counts.

    Names, contact details, preferences, people, dates, notes (and their
    history), follow-ups and suggestions go; the row stays, marked erased, so
    visits, purchases and referrals still count without saying who.
    """
    if not by.has_perm("customers.erase_customer"):
        raise PermissionDenied("Only an owner can erase a customer.")
    # Nothing of what is removed may be copied into the audit trail on its way out.
    with disable_auditlog():
        _erase_personal_data(customer, by)
    # Who did what and when stays in the trail; what it said about the customer goes.
    audit.record_erasure(user=by, customer=customer)
    return customer


def _erase_personal_data(customer: Customer, by: User) -> None:
    customer.notes.all().delete()
    # Deleting notes writes history rows with their text; remove all of them last.
    Note.history.filter(customer_id=customer.pk).delete()
    customer.follow_ups.all().delete()
    customer.important_dates.all().delete()
    customer.people.all().delete()
    # A tag only they wear may name them ("Zenobia's tortoise"): it goes; shared tags stay.
    worn_by_others = Customer.tags.through.objects.filter(tag_id=OuterRef("pk")).exclude(customer_id=customer.pk)
    Tag.objects.filter(customers=customer).exclude(Exists(worn_by_others)).delete()
    customer.tags.clear()
    # Import previews waiting for confirmation that have a row about them go too.
    uploads.discard_waiting_holding(privacy.row_matcher(customer))
    signals.customer_erasing.send(sender=Customer, customer=customer, by=by)
    now = timezone.now()
    customer.first_name = "Erased customer"
    customer.last_name = f"#{customer.pk}"
    customer.preferred_name = ""
    customer.email = ""
    customer.phone = ""
    customer.external_id = ""
    customer.preferences = ""
    customer.consent_email_at = customer.consent_mail_at = customer.consent_phone_at = None
    customer.search_document = ""
    customer.erased_at = now
    customer.archived_at = customer.archived_at or now
    customer.save()
