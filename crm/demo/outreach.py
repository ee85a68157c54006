"""Demo messages, a card and an offer for seed_demo (idempotent), written through the outreach services.

Ben's congratulation email (from Daniel, who works at both shops) went last month with an offer he
used at the till, and he opened it and clicked its link; Anna's get-well card for Rex went in the post;
Farid's thank-you went two days ago and has not been opened. The dashboard's offer figures and the email
touchpoint's measured open and click rates then have something to show.

Emails are not handed to a mail server: the demo records each one as sent when it went (the services
send "now"; the demo's stories happened earlier), with the tracking row the email renderer writes.
"""

from __future__ import annotations

import datetime
import uuid

from django.utils import timezone

from crm.kernel.models import User
from customers.models import Customer
from outreach import emails, offers, services, tracking
from outreach.models import Message

BEN = (
    "Congratulations, Ben!",
    "Dear Ben,\n\nCarla told us the news when she picked up her frames: congratulations to you both! "
    "For the big day, 20% off a pair of sunglasses for the honeymoon is on us.\n\nDaniel at Clearview",
)
ANNA = (
    "Get well soon, Rex",
    "Dear Anna,\n\nWe were sorry to hear Rex has been poorly. We hope the vet sorted him out and he is "
    "back to chasing the postman soon.\n\nMaya and everyone at Clearview",
)
FARID = (
    "Thank you, Farid",
    "Dear Farid,\n\nThank you for coming in between shifts at the harbour office. I hope the new glasses "
    "make the long screens easier.\n\nDaniel at Clearview",
)


def seed(customers: list[Customer], staff: list[User]) -> None:
    if Message.objects.exists():
        return
    frontline, manager, _owner = staff
    by_name = {c.first_name: c for c in customers}
    ben, anna, farid = by_name.get("Benjamin"), by_name.get("Anna"), by_name.get("Farid")
    now = timezone.now()
    if ben is not None and ben.consent_email_at is not None:
        services.contact_preference_save(
            customer=ben, by=manager, postal_address="", marketing_consent=True, do_not_contact=False
        )
        # The 10th of last month, mid-morning at his shop: last month's figures on any day it is run.
        home = ben.home_location
        last_month = (home.local_today().replace(day=1) - datetime.timedelta(days=1)).replace(day=10)
        sent_at = datetime.datetime.combine(last_month, datetime.time(10, 15), tzinfo=home.tzinfo)
        message = offers.message_compose_with_offer(
            customer=ben,
            sender=manager,
            location=ben.home_location,
            draft=_draft("congratulations", *BEN),
            kind=offers.Offer.Kind.DISCOUNT,
            description="20% off a pair of sunglasses for the honeymoon",
        )
        _sent(message, sent_at, opened_after=datetime.timedelta(hours=3), clicked=True)
        offers.Offer.objects.filter(message=message).update(created_at=sent_at - datetime.timedelta(minutes=2))
        offers.offer_redeem(
            offer=message.offer,
            via=offers.Offer.Via.TILL,
            by=manager,
            location=ben.home_location,
            at=sent_at + datetime.timedelta(days=12, hours=2),
        )
    if anna is not None:
        # She asked for post on her own preferences page, and staff noted her address.
        services.preferences_save(customer_id=anna.pk, email=False, mail=True, marketing=False, nothing=False)
        services.contact_preference_save(
            customer=anna,
            by=frontline,
            postal_address="Anna Kowalski\n8 Fore Street\nPortland, ME 04101",
            marketing_consent=False,
            do_not_contact=False,
        )
        anna.refresh_from_db()
        card = services.message_compose(
            customer=anna, sender=frontline, location=anna.home_location, draft=_draft("get_well", *ANNA, "mail")
        )
        services.card_mark_posted(message=card, by=frontline)
    if farid is not None and farid.consent_email_at is not None:
        message = services.message_compose(
            customer=farid, sender=manager, location=farid.home_location, draft=_draft("thank_you", *FARID)
        )
        _sent(message, now - datetime.timedelta(days=2))


def _draft(occasion: str, subject: str, body: str, channel: str = "email") -> services.Draft:
    return services.Draft(
        channel=channel,
        occasion=occasion,
        subject=subject,
        body=body,
        template_body="",
        idempotency_key=uuid.uuid4(),
    )


def _sent(
    message: Message,
    sent_at: datetime.datetime,
    *,
    opened_after: datetime.timedelta | None = None,
    clicked: bool = False,
) -> None:
    """Record a queued email as sent at `sent_at` (with its tracking row, as if rendered then), and when it
    was first opened and clicked."""
    message = Message.objects.select_related("customer", "location", "sender").get(pk=message.pk)
    emails.render_parts(message)  # writes the tracking row (its links), as the send does
    Message.objects.filter(pk=message.pk).update(
        state=Message.State.SENT,
        created_at=sent_at - datetime.timedelta(minutes=2),
        sent_at=sent_at,
        sent_to=message.customer.email,
        message_id=emails.message_id_for(message),
        updated_at=sent_at,
    )
    message.refresh_from_db()
    services._record_interaction(message)
    if opened_after is not None:
        opened_at = sent_at + opened_after
        tracking.MessageTracking.objects.filter(message=message).update(
            opened_at=opened_at, clicked_at=opened_at + datetime.timedelta(minutes=1) if clicked else None
        )
