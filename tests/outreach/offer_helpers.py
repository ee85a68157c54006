"""Sent messages carrying offers, for the offers and tracking tests."""

from __future__ import annotations

import datetime

from django.utils import timezone

from customers.models import Customer
from outreach.models import ContactPreference, Message, OutreachSettings
from outreach.offers import Offer, offer_attach

CONSENT_DAY = datetime.date(2026, 1, 1)


def consenting(customer: Customer) -> Customer:
    """The customer, agreed to email and to marketing (and no contact limit in the way)."""
    Customer.objects.filter(pk=customer.pk).update(consent_email_at=CONSENT_DAY, consent_mail_at=CONSENT_DAY)
    ContactPreference.objects.update_or_create(
        customer=customer, defaults={"marketing_consent_at": CONSENT_DAY, "postal_address": "1 Main St"}
    )
    OutreachSettings.objects.update_or_create(pk=1, defaults={"max_messages": 100, "period_days": 30})
    return Customer.objects.get(pk=customer.pk)


def message_for(customer: Customer, *, location=None, sender=None, channel: str = Message.Channel.EMAIL) -> Message:
    return Message.objects.create(
        customer=customer,
        location=location or customer.home_location,
        sender=sender,
        channel=channel,
        occasion="congratulations",
        subject="Congratulations on your engagement",
        body="Dear Anna, congratulations! Come and see us.",
    )


def mark_sent(message: Message, at: datetime.datetime | None = None) -> Message:
    Message.objects.filter(pk=message.pk).update(state=Message.State.SENT, sent_at=at or timezone.now())
    return Message.objects.get(pk=message.pk)


def sent_offer(
    customer: Customer,
    *,
    location=None,
    sender=None,
    sent_at: datetime.datetime | None = None,
    expires_on: datetime.date | None = None,
    description: str = "15% off your honeymoon booking",
    kind: str = Offer.Kind.DISCOUNT,
) -> Offer:
    """An offer attached to a message to this (now consenting) customer, whose message went out."""
    customer = consenting(customer)
    message = message_for(customer, location=location, sender=sender)
    offer = offer_attach(message=message, kind=kind, description=description, expires_on=expires_on)
    mark_sent(message, sent_at)
    return Offer.objects.select_related("message", "location", "customer").get(pk=offer.pk)
