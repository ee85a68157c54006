"""Consent and restraint, in one place: whether a message may go to a customer on a channel.

Every path calls `may_send`: composing a message, the task when it sends an email, marking a card
posted. A refusal carries a reason written for the sender, shown on the form.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from customers.models import Customer
from outreach.models import ContactPreference, Message, OutreachSettings, Suppression

COUNTED_STATES = (Message.State.QUEUED, Message.State.SENDING, Message.State.SENT)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    # What the refusal is about, so a form can put it beside the right field: channel, marketing, limit.
    about: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


def address_hash(address: str, secret: str | None = None) -> str:
    """A keyed hash of an email or postal address: it proves an address was suppressed without keeping it.

    Keyed with SECRET_KEY (or the older `secret` given): the list is looked up under every key in
    SECRET_KEY_FALLBACKS too, so rotating SECRET_KEY does not empty it.
    """
    normal = " ".join(address.lower().split())
    return salted_hmac("outreach.suppression", normal, secret=secret, algorithm="sha256").hexdigest()


def _hashes_under_every_key(address: str) -> list[str]:
    """The address's hash under SECRET_KEY first, then under each fallback key."""
    return [address_hash(address), *(address_hash(address, key) for key in settings.SECRET_KEY_FALLBACKS)]


def suppressed_among(addresses: list[str]) -> set[str]:
    """Those of the addresses (lower-cased) on the do-not-send list, in one query.

    A row found under an old key is re-keyed with SECRET_KEY on the way, so the list outlives the old key
    for every address that is looked up again.
    """
    by_hash: dict[str, tuple[str, str]] = {}
    for address in addresses:
        if address.strip():
            hashes = _hashes_under_every_key(address)
            for found in hashes:
                by_hash.setdefault(found, (address.strip().lower(), hashes[0]))
    held = Suppression.objects.filter(address_hash__in=list(by_hash)).values_list("address_hash", flat=True)
    suppressed = set()
    for found in held:
        address, current = by_hash[found]
        suppressed.add(address)
        if found != current:
            _rekey(found, current)
    return suppressed


def _rekey(old: str, current: str) -> None:
    """Move a suppression from an old key's hash to SECRET_KEY's (drop it if SECRET_KEY's is there already)."""
    try:
        with transaction.atomic():
            Suppression.objects.filter(address_hash=old).update(address_hash=current)
    except IntegrityError:
        Suppression.objects.filter(address_hash=old).delete()


def is_suppressed(address: str) -> bool:
    return bool(address.strip()) and bool(suppressed_among([address]))


def preference_of(customer: Customer) -> ContactPreference:
    """The customer's contact preferences (an unsaved empty row when none were recorded)."""
    try:
        return customer.reach
    except ContactPreference.DoesNotExist:
        return ContactPreference(customer=customer)


def fatigue_count(customer: Customer, *, settings_row: OutreachSettings, exclude: Message | None = None) -> int:
    since = timezone.now() - datetime.timedelta(days=settings_row.period_days)
    messages = Message.objects.filter(customer=customer, created_at__gte=since, state__in=COUNTED_STATES)
    if exclude is not None and exclude.pk:
        # At send time only what went out before this one counts (it was counted when it was written).
        messages = messages.exclude(pk=exclude.pk).filter(state=Message.State.SENT)
    return messages.count()


def may_send(
    *, customer: Customer, channel: str, is_marketing: bool = False, message: Message | None = None
) -> Verdict:
    """Return whether a message may go to this customer on this channel now, and if not, why.

    With `message` (one already written), the check is the one made when it is sent: the contact
    limit counts only the messages sent before it.
    """
    name = customer.greeting_name
    if customer.erased_at is not None:
        return Verdict(False, "This customer's details were erased; they cannot be contacted.", "channel")
    if customer.archived_at is not None:
        return Verdict(False, f"{name} is archived; restore them before writing to them.", "channel")
    preference = preference_of(customer)
    if preference.do_not_contact_at is not None:
        why = f" ({preference.do_not_contact_reason})" if preference.do_not_contact_reason else ""
        return Verdict(False, f"{name} asked not to be contacted{why}. Nothing can be sent to them.", "channel")
    if channel == Message.Channel.EMAIL:
        if not customer.email:
            return Verdict(False, f"There is no email address for {name}.", "channel")
        if customer.consent_email_at is None:
            return Verdict(
                False, f"{name} has not agreed to be emailed (or unsubscribed). Send a card, or ask them.", "channel"
            )
        if is_suppressed(customer.email):
            return Verdict(False, "This email address is on the do-not-send list.", "channel")
    elif channel == Message.Channel.MAIL:
        if not preference.postal_address.strip():
            return Verdict(
                False, f"There is no postal address for {name}. Add one in their contact preferences.", "channel"
            )
        if customer.consent_mail_at is None:
            return Verdict(False, f"{name} has not agreed to receive post. Send an email, or ask them.", "channel")
        if is_suppressed(preference.postal_address):
            return Verdict(False, "This postal address is on the do-not-send list.", "channel")
    else:
        return Verdict(False, "Choose email or a card in the post.", "channel")
    if is_marketing and preference.marketing_consent_at is None:
        return Verdict(
            False,
            f"An offer is marketing, and {name} has not agreed to marketing. Send the message without the offer.",
            "marketing",
        )
    settings_row = OutreachSettings.current()
    count = fatigue_count(customer, settings_row=settings_row, exclude=message)
    if count >= settings_row.max_messages:
        return Verdict(
            False,
            f"{name} already had {count} message{'s' if count != 1 else ''} from us in the last "
            f"{settings_row.period_days} days (the limit is {settings_row.max_messages}, set by the owner). "
            "Talk to them next time they come in.",
            "limit",
        )
    return ALLOWED


def channels_open(customer: Customer) -> dict[str, Verdict]:
    """For the compose page: whether each channel is open for this customer right now."""
    return {channel: may_send(customer=customer, channel=channel) for channel in Message.Channel.values}
