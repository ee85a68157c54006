"""Offers with codes: a discount or a gift attached to one message, redeemed once before it expires.

A code is ten characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as two groups of
five ("KX7PM-Q4RTA"): about 49 bits from `secrets`, so nobody guesses another customer's code, and staff
read it off a phone or a card without mistakes. It is unique in the database.

An offer is redeemed exactly once, by one conditional UPDATE (`redeemed_at IS NULL`), whichever way
it comes in: staff at the till (the customer page or the search-by-code page), a check-in, or an
imported purchase that carries the code (customers.signals.offer_codes_imported). A second redemption
and an expired code are refused with a message that says why.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from crm.kernel.models import Location, User
from customers import page_cache, signals
from customers.models import Customer
from outreach.models import Message

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
DEFAULT_DAYS = 60  # how long an offer runs unless the sender says otherwise
MAX_DAYS = 366


class Offer(models.Model):
    """A discount or a gift offered in one message, with its code, expiry and (once) its redemption."""

    class Kind(models.TextChoices):
        DISCOUNT = "discount", "A discount"
        GIFT = "gift", "A gift"

    class Via(models.TextChoices):
        TILL = "till", "at the till"
        CHECK_IN = "check_in", "at check-in"
        IMPORT = "import", "on an imported purchase"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="offer")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="offers")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DISCOUNT)
    description = models.CharField(
        max_length=200, help_text="What they get, as the customer reads it: 15% off your honeymoon booking."
    )
    code = models.CharField(max_length=11, unique=True, editable=False)
    expires_on = models.DateField("valid until", help_text="The last day it can be used, in the location's time.")
    created_at = models.DateTimeField(auto_now_add=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_via = models.CharField(max_length=10, choices=Via.choices, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    redeemed_location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    redeemed_interaction = models.ForeignKey(
        "journeys.Interaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        permissions = [("redeem_offer", "Can redeem an offer code at the till")]
        indexes = [models.Index(fields=["location", "created_at"], name="offer_location_recent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(redeemed_at__isnull=True, redeemed_via="")
                | models.Q(redeemed_at__isnull=False) & ~models.Q(redeemed_via=""),
                name="offer_redeemed_with_how",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"

    @property
    def is_redeemed(self) -> bool:
        return self.redeemed_at is not None

    def local_day(self, at: datetime.datetime) -> datetime.date:
        return timezone.localtime(at, self.location.tzinfo).date()

    def is_expired(self, at: datetime.datetime | None = None) -> bool:
        """Whether the offer can no longer be used at this moment (it runs through its last local day)."""
        return self.local_day(at or timezone.now()) > self.expires_on

    @property
    def status(self) -> str:
        if self.is_redeemed:
            return "redeemed"
        if self.message.state != Message.State.SENT:
            return "not sent"
        return "expired" if self.is_expired() else "open"


# --- codes -------------------------------------------------------------------------------------------


def new_code() -> str:
    """Return a fresh random code such as "KX7PM-Q4RTA"."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(text: str) -> str:
    """Read a code as staff or a till typed it: any case, spaces or dashes anywhere."""
    raw = re.sub(r"[^A-Za-z0-9]", "", text or "").upper()
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == CODE_LENGTH else raw


def find_by_code(text: str, offers: models.QuerySet[Offer] | None = None) -> Offer | None:
    """The offer with this code (among `offers`, default all), or None."""
    code = normalise_code(text)
    if len(code) != CODE_LENGTH + 1:
        return None
    offers = Offer.objects.all() if offers is None else offers
    return offers.select_related("customer", "location", "message", "redeemed_location").filter(code=code).first()


# --- writes ------------------------------------------------------------------------------------------


def _marketing_refusal(message: Message) -> str | None:
    """Why this message may not carry marketing content (the outreach policy decides), or None."""
    from outreach import policy

    customer = Customer.objects.get(pk=message.customer_id)  # consent as it stands now, not as it was loaded
    verdict = policy.may_send(customer=customer, channel=message.channel, is_marketing=True, message=message)
    return None if verdict else verdict.reason


@transaction.atomic
def offer_attach(*, message: Message, kind: str, description: str, expires_on: datetime.date | None = None) -> Offer:
    """Attach an offer with a new code to a message that has not gone yet; the message becomes marketing.

    Refused (ValidationError, by field) when the customer gave no marketing consent, the message already
    carries an offer or has gone, or the expiry is in the past or more than a year away.
    """
    if refusal := _marketing_refusal(message):
        raise ValidationError({"offer": refusal})
    if Offer.objects.filter(message=message).exists():
        raise ValidationError({"offer": "This message already carries an offer."})
    if message.state != Message.State.QUEUED:
        raise ValidationError({"offer": "This message has gone; an offer can only go with a new one."})
    today = message.location.local_today()
    expires_on = expires_on or today + datetime.timedelta(days=DEFAULT_DAYS)
    if expires_on < today:
        raise ValidationError({"expires_on": "The offer would have expired already: pick a later day."})
    if expires_on > today + datetime.timedelta(days=MAX_DAYS):
        raise ValidationError({"expires_on": "At most a year ahead."})
    offer = Offer(
        message=message,
        customer=message.customer,
        location=message.location,
        kind=kind,
        description=description.strip(),
        expires_on=expires_on,
        code=new_code(),
    )
    offer.full_clean(exclude=["code", "message"])
    for _attempt in range(5):
        offer.code = new_code()
        try:
            with transaction.atomic():  # a savepoint: a clash of codes (one in 10^14) retries
                offer.save()
            break
        except IntegrityError:
            if Offer.objects.filter(message=message).exists():
                raise
            offer.pk = None
            continue
    else:
        raise IntegrityError("Could not find an unused offer code")
    if not message.is_marketing:
        message.is_marketing = True
        message.save(update_fields=["is_marketing", "updated_at"])
    return offer


@transaction.atomic
def message_compose_with_offer(
    *,
    customer: Customer,
    sender: User,
    location: Location,
    draft,
    kind: str,
    description: str,
    expires_on: datetime.date | None = None,
) -> Message:
    """Write a message that carries an offer, in one transaction: the email task, queued once this commits,
    always finds the offer; a refused offer (no marketing consent) writes no message either."""
    from outreach import services

    message = services.message_compose(
        customer=customer, sender=sender, location=location, draft=dataclasses.replace(draft, is_marketing=True)
    )
    offer_attach(message=message, kind=kind, description=description, expires_on=expires_on)
    return message


def refusal(offer: Offer, at: datetime.datetime) -> str | None:
    """Why this offer cannot be redeemed at this moment, in words for the member of staff, or None."""
    if offer.is_redeemed:
        when = timezone.localtime(offer.redeemed_at, offer.location.tzinfo)
        where = f" at {offer.redeemed_location}" if offer.redeemed_location_id else ""
        return (
            f"Code {offer.code} was already redeemed on {when:%-d %b %Y} at {when:%H:%M}{where} "
            f"({offer.get_redeemed_via_display()}); it can be used once."
        )
    if offer.message.state != Message.State.SENT:
        return f"Code {offer.code} belongs to a message that has not been sent, so it cannot be used yet."
    if offer.is_expired(at):
        return f"Code {offer.code} expired on {offer.expires_on:%-d %b %Y}."
    return None


@transaction.atomic
def offer_redeem(
    *,
    offer: Offer,
    via: str,
    by: User | None = None,
    location: Location | None = None,
    interaction=None,
    interaction_id: int | None = None,
    at: datetime.datetime | None = None,
) -> Offer:
    """Record that the offer was used (once): at the till, at a check-in or on an imported purchase.

    `at` is when it was used (an imported purchase's time); expiry is judged then. A second
    redemption, an expired code or one whose message never went raises ValidationError saying why;
    two at the same moment: one conditional UPDATE wins, the other is refused.
    """
    at = at or timezone.now()
    offer = Offer.objects.select_related("location", "message", "redeemed_location").get(pk=offer.pk)
    if reason := refusal(offer, at):
        raise ValidationError({"code": reason})
    won = Offer.objects.filter(pk=offer.pk, redeemed_at__isnull=True).update(
        redeemed_at=at,
        redeemed_via=via,
        redeemed_by=by,
        redeemed_location_id=location.pk if location is not None else offer.location_id,
        redeemed_interaction_id=interaction.pk if interaction is not None else interaction_id,
    )
    page_cache.changed(offer.customer_id)
    offer = Offer.objects.select_related("location", "message", "redeemed_location").get(pk=offer.pk)
    if not won:
        raise ValidationError({"code": refusal(offer, at)})
    return offer


@transaction.atomic
def offer_redeem_at_check_in(*, offer: Offer, staff: User):
    """Check the customer in (journeys' one-tap visit, through customers.signals) and redeem the offer on
    that visit, all or nothing."""
    visit = signals.check_in(customer=offer.customer, staff=staff)
    if visit is None:
        raise ValidationError({"code": "Check-ins are not available here; redeem the code at the till."})
    offer = offer_redeem(offer=offer, via=Offer.Via.CHECK_IN, by=staff, location=visit.location, interaction=visit)
    return offer, visit


def offers_redeem_imported(*, codes: list[tuple]) -> dict:
    """Redeem the codes of an import's purchases, inside the import's transaction.

    `codes` holds (line, interaction id, customer id, code, occurred_at, location id). A code must be one of
    that customer's offers; refused ones are reported by line and do not stop the import (the purchase
    happened), so the import's result says what was redeemed and what was not.
    """
    found = {
        offer.code: offer
        for offer in Offer.objects.select_related("location", "message", "redeemed_location").filter(
            code__in={normalise_code(code) for _line, _id, _customer, code, _at, _where in codes}
        )
    }
    redeemed, refused = 0, []
    for line, interaction_id, customer_id, code, occurred_at, location_id in codes:
        offer = found.get(normalise_code(code))
        if offer is None or offer.customer_id != customer_id:
            refused.append(f"Line {line}: no offer of this customer has the code {code!r}.")
            continue
        try:
            offer_redeem(
                offer=offer,
                via=Offer.Via.IMPORT,
                location=Location(pk=location_id),
                interaction_id=interaction_id,
                at=occurred_at,
            )
        except ValidationError as error:
            refused.append(f"Line {line}: {error.message_dict['code'][0]}")
            continue
        redeemed += 1
    return {"offers_redeemed": redeemed, "offer_codes_refused": refused}


# --- reads --------------------------------------------------------------------------------------------


def offers_for(user: User) -> models.QuerySet[Offer]:
    """The offers of the customers this member of staff may open (customers.access decides)."""
    from customers.access import customers_for

    return Offer.objects.filter(customer__in=customers_for(user))


def get_offer_for_user(user: User, pk: int) -> Offer:
    """One offer of a customer this user may open, else 404."""
    from django.http import Http404

    try:
        return offers_for(user).select_related("customer", "location", "message", "redeemed_location").get(pk=pk)
    except (Offer.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such offer") from None


def customer_offers(customer: Customer, limit: int = 5) -> list[Offer]:
    """The customer's latest offers whose message went, newest first (one query), for the customer page."""
    return list(
        Offer.objects.filter(customer=customer, message__state=Message.State.SENT)
        .select_related("location", "message", "redeemed_location")
        .order_by("-created_at", "-pk")[:limit]
    )
