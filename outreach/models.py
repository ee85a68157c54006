"""Messages to one customer: a personal email or a card in the post, and the rules that restrain them.

A message is written by a member of staff for one customer, from a template for the occasion that the
sender always edits. Every message goes through outreach.policy before it is queued and again when it is
sent, so an unsubscribe or a "do not contact" stops queued ones too.

An offer (a discount or a gift with a code) is optional; it lives in outreach/offers.py as `Offer`
with a one-to-one link to its message (`message.offer`), and a message carrying one is marketing.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from crm.kernel.fields import EncryptedTextField
from crm.kernel.models import Location
from customers.models import Customer


class Occasion(models.TextChoices):
    CONGRATULATIONS = "congratulations", "Congratulations"
    CONDOLENCES = "condolences", "Condolences"
    GET_WELL = "get_well", "Get well soon"
    BIRTHDAY = "birthday", "Happy birthday"
    THANK_YOU = "thank_you", "Thank you"
    MISS_YOU = "miss_you", "We miss you"
    SORRY = "sorry", "Sorry about your experience"
    ORDER_READY = "order_ready", "Your order is ready"


class Message(models.Model):
    """One message to one customer, by email or as a card in the post."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        MAIL = "mail", "Card in the post"

    class State(models.TextChoices):
        # An email waits for the worker; a card waits to be printed and posted.
        QUEUED = "queued", "Waiting to go"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Could not be sent"
        STOPPED = "stopped", "Stopped"

    class Source(models.TextChoices):
        BRIEF = "brief", "The customer's brief"
        FOLLOW_UP = "follow_up", "A follow-up"
        SUGGESTION = "suggestion", "A suggestion"
        GESTURE = "gesture", "A gesture"
        DASHBOARD = "dashboard", "The dashboard"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="messages")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    occasion = models.CharField(max_length=20, choices=Occasion.choices)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.BRIEF)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Marketing content (an offer) needs marketing consent; a personal reply does not.
    is_marketing = models.BooleanField(default=False)
    subject = models.CharField(max_length=150)
    body = EncryptedTextField(max_length=4000)
    # Whether the sender changed the template's words, and a keyed hash of the words (the body is
    # encrypted, so the genuineness check compares these instead).
    edited = models.BooleanField(default=False)
    body_fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    flags = models.JSONField(default=list, blank=True)

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    stopped_reason = models.CharField(max_length=200, blank=True)
    # One key per message: the claim on it (a conditional UPDATE) and the Message-ID derive from it.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message_id = models.CharField(max_length=200, blank=True)
    sent_to = EncryptedTextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    interaction = models.OneToOneField(
        "journeys.Interaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="message"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        permissions = [("print_cards", "Can print the day's cards and mark them posted")]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="message_customer_recent"),
            models.Index(
                fields=["next_attempt_at"],
                name="message_email_due",
                condition=models.Q(state="queued", channel="email"),
            ),
            models.Index(
                fields=["location", "created_at"],
                name="message_cards_to_print",
                condition=models.Q(state="queued", channel="mail"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to customer {self.customer_id}: {self.subject}"


class ContactPreference(models.Model):
    """What a customer agreed to beyond the channel consents on Customer: marketing, a postal address,
    and "do not contact", which stops every message at once."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="reach")
    postal_address = EncryptedTextField(
        blank=True, default="", max_length=400, help_text="As it goes on the envelope, one line per row."
    )
    marketing_consent_at = models.DateField("marketing consent given on", null=True, blank=True)
    do_not_contact_at = models.DateTimeField(null=True, blank=True)
    do_not_contact_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Contact preferences of customer {self.customer_id}"


class Suppression(models.Model):
    """An address that must never be written to again (an erased customer's), kept only as a keyed hash."""

    address_hash = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=10, choices=Message.Channel.choices, default=Message.Channel.EMAIL)
    reason = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Suppressed {self.channel} address ({self.reason})"


class OutreachSettings(models.Model):
    """The contact-fatigue limit across all staff (one row), set by owners."""

    max_messages = models.PositiveSmallIntegerField(
        "messages per customer", default=2, help_text="At most this many messages to one customer..."
    )
    period_days = models.PositiveSmallIntegerField("in days", default=30, help_text="...in this many days.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "outreach settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="outreach_settings_single_row"),
            models.CheckConstraint(condition=models.Q(max_messages__gte=1), name="outreach_settings_at_least_one"),
            models.CheckConstraint(condition=models.Q(period_days__gte=1), name="outreach_settings_period"),
        ]

    def __str__(self) -> str:
        return f"At most {self.max_messages} messages per customer in {self.period_days} days"

    @classmethod
    def current(cls) -> OutreachSettings:
        row = cls.objects.filter(pk=1).first()
        if row is None:
            cls.objects.bulk_create([cls(pk=1)], ignore_conflicts=True)
            row = cls.objects.get(pk=1)
        return row


# Offers and open/click tracking keep their models beside their rules; importing them here registers them.
from outreach import offers, tracking  # noqa: E402, F401
