"""Reads the outreach pages share: a customer's recent messages, today's cards to print."""

from __future__ import annotations

from django.db.models import QuerySet

from crm.kernel.access import locations_for
from crm.kernel.models import User
from customers.access import customers_for
from customers.models import Customer
from outreach.models import Message


def recent_messages(customer: Customer, limit: int = 3) -> list[Message]:
    return list(customer.messages.select_related("sender").order_by("-created_at")[:limit])


def cards_to_print(user: User) -> QuerySet[Message]:
    """Cards waiting to be printed and posted at the user's locations, oldest first (today's batch)."""
    return (
        Message.objects.filter(
            channel=Message.Channel.MAIL,
            state=Message.State.QUEUED,
            location__in=locations_for(user),
            customer__in=customers_for(user),
        )
        .select_related("customer", "customer__reach", "location", "sender", "offer")
        .order_by("created_at")
    )
