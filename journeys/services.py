"""Writes for interactions: the conversation log, visits and purchases."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from crm.kernel.models import Location, User
from customers.models import Customer, FollowUp, Note
from customers.selectors import check_in_location, checked_in_at
from customers.services import customer_contact_record, follow_up_create, note_create
from journeys import rollups
from journeys.models import CustomerOrigin, Interaction, Touchpoint


def stage_of(kind: str, touchpoint: Touchpoint) -> str:
    """A purchase is the sale itself; anything else is at its touchpoint's usual stage."""
    return Touchpoint.Stage.DURING if kind == Interaction.Kind.PURCHASE else touchpoint.stage


@transaction.atomic
def interaction_record(
    *,
    customer: Customer,
    touchpoint: Touchpoint,
    location: Location,
    staff: User | None,
    kind: str = Interaction.Kind.CONVERSATION,
    occurred_at: datetime.datetime | None = None,
    summary: str = "",
    sentiment: int = Interaction.Sentiment.NEUTRAL,
    amount: Decimal | None = None,
    external_ref: str | None = None,
) -> Interaction:
    """Record one contact with a customer; a visit or purchase also moves the customer's visit figures."""
    interaction = Interaction(
        customer=customer,
        touchpoint=touchpoint,
        location=location,
        staff=staff,
        kind=kind,
        stage=stage_of(kind, touchpoint),
        occurred_at=occurred_at or timezone.now(),
        summary=summary.strip(),
        sentiment=sentiment,
        amount=amount,
        external_ref=external_ref or None,
    )
    interaction.full_clean()
    interaction.save()
    rollups.add(
        [(customer.pk, touchpoint.pk, location.pk, interaction.stage, interaction.sentiment, interaction.occurred_at)]
    )
    customer_contact_record(
        customer=customer, location=location, at=interaction.occurred_at, is_visit=interaction.is_visit
    )
    return interaction


@transaction.atomic
def customer_check_in(*, customer: Customer, staff: User) -> tuple[Interaction, bool]:
    """Record that the customer walked in, at the staff member's location; return (the visit, new?).

    A second tap within CHECK_IN_MINUTES at the same location (a double tap, two colleagues, a resent
    request) is the same visit: nothing new is recorded. The customer row is locked first, so two
    taps at the same moment still make one visit.
    """
    customer = Customer.objects.select_for_update(of=("self",)).select_related("home_location").get(pk=customer.pk)
    location = check_in_location(staff, customer)
    began = checked_in_at(customer, location)
    if began is not None:
        visit = (
            Interaction.objects.filter(
                customer=customer,
                location=location,
                kind__in=Interaction.VISIT_KINDS,
                occurred_at=customer.last_visit_at,
            )
            .order_by("-pk")
            .first()
        )
        if visit is not None:
            return visit, False
    visit = interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=location,
        staff=staff,
        kind=Interaction.Kind.VISIT,
        summary="Checked in",
    )
    return visit, True


@transaction.atomic
def conversation_log(
    *,
    customer: Customer,
    staff: User,
    location: Location,
    touchpoint: Touchpoint,
    kind: str,
    summary: str,
    sentiment: int = Interaction.Sentiment.NEUTRAL,
    note_text: str = "",
    note_is_sensitive: bool = False,
    follow_up_prompt: str = "",
    follow_up_due: str = FollowUp.Due.NEXT_VISIT,
    follow_up_due_date: datetime.date | None = None,
) -> tuple[Interaction, Note | None, FollowUp | None]:
    """Log a conversation or visit from the customer page, with an optional note and follow-up, all or nothing."""
    interaction = interaction_record(
        customer=customer,
        touchpoint=touchpoint,
        location=location,
        staff=staff,
        kind=kind,
        summary=summary,
        sentiment=sentiment,
    )
    note = None
    if note_text.strip():
        note = note_create(
            customer=customer, author=staff, text=note_text, is_sensitive=note_is_sensitive, location=location
        )
    follow_up = None
    if follow_up_prompt.strip():
        follow_up = follow_up_create(
            customer=customer,
            created_by=staff,
            prompt=follow_up_prompt,
            due=follow_up_due,
            due_date=follow_up_due_date,
            location=location,
            note=note,
        )
    return interaction, note, follow_up


@transaction.atomic
def customer_origin_set(*, customer: Customer, touchpoint: Touchpoint | None) -> CustomerOrigin | None:
    """Record where the customer first heard of us (None forgets it)."""
    if touchpoint is None:
        CustomerOrigin.objects.filter(customer=customer).delete()
        return None
    origin, _ = CustomerOrigin.objects.update_or_create(customer=customer, defaults={"touchpoint": touchpoint})
    return origin
