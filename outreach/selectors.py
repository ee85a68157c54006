"""Reads the outreach pages share: a customer's recent messages, today's cards to print."""

from __future__ import annotations

import dataclasses

from django.db.models import QuerySet

from crm.kernel.access import locations_for
from crm.kernel.models import Location, User
from customers.access import customers_for, get_for_user, get_suggestion_for_user
from customers.models import Customer, FollowUp
from outreach import policy, texts
from outreach.models import Message, Occasion


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


def sender_location(user: User, customer: Customer) -> Location:
    """Where the message is from: the sender's location that knows the customer, else the customer's home."""
    mine = user.locations.filter(is_active=True)
    return mine.filter(customers=customer).first() or mine.first() or customer.home_location


def source_text(user: User, source: str, source_id: int | None) -> str:
    """What the message is about, read through the customers app's access rules (404 if not theirs)."""
    if not source_id:
        return ""
    if source == Message.Source.FOLLOW_UP:
        return get_for_user(FollowUp, user, source_id).prompt
    if source == Message.Source.SUGGESTION:
        return get_suggestion_for_user(user, source_id).summary
    return ""


def _source_of(params) -> tuple[str, int | None]:
    source = params.get("source") or Message.Source.BRIEF
    if source not in Message.Source.values:
        source = Message.Source.BRIEF
    try:
        source_id = int(params.get("source_id") or 0) or None
    except ValueError:
        source_id = None
    return source, source_id


def _open_channel(asked: str | None, open_channels: dict) -> str:
    if asked in Message.Channel.values and open_channels[asked]:
        return asked
    return next((c for c, verdict in open_channels.items() if verdict), Message.Channel.EMAIL)


@dataclasses.dataclass
class ComposeStart:
    """Where a message to one customer starts: from where, about what, the occasion, the channel, the draft."""

    location: Location
    open_channels: dict
    source: str
    source_id: int | None
    about: str
    occasion: str
    channel: str
    subject: str
    body: str

    @property
    def channels(self) -> list[dict]:
        """Each channel with the policy's verdict on it, for the compose page's choice."""
        return [
            {"value": value, "label": label, "verdict": self.open_channels[value]}
            for value, label in Message.Channel.choices
        ]

    @property
    def nothing_open(self) -> bool:
        return not any(self.open_channels.values())


def compose_start(user: User, customer: Customer, get, post) -> ComposeStart:
    """Read the compose page's query (or the posted hidden fields) into its starting point."""
    location = sender_location(user, customer)
    open_channels = policy.channels_open(customer)
    source, source_id = _source_of({k: get.get(k) or post.get(k) for k in ("source", "source_id")})
    about = source_text(user, source, source_id)
    occasion = get.get("occasion") or texts.guess_occasion(about) or Occasion.CONGRATULATIONS
    if occasion not in Occasion.values:
        occasion = Occasion.CONGRATULATIONS
    values = texts.merge_values(customer=customer, staff=user, location=location)
    subject, body = texts.draft(occasion, values)
    return ComposeStart(
        location=location,
        open_channels=open_channels,
        source=source,
        source_id=source_id,
        about=about,
        occasion=occasion,
        channel=_open_channel(get.get("channel"), open_channels),
        subject=subject,
        body=body,
    )
