"""Writes for messages: compose, send (the task), post a card, stop, unsubscribe, preferences, settings.

Every path asks outreach.policy.may_send first; sending and posting ask again, so a "do not contact",
an unsubscribe or a withdrawn consent stops a message that is already queued.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from crm.kernel.models import Location, User
from customers import page_cache, signals
from customers.models import Customer
from outreach import emails, policy, texts
from outreach.models import ContactPreference, Message, OutreachSettings, Suppression

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STUCK_AFTER = datetime.timedelta(minutes=10)
# Same words (or an unchanged template) sent to this many other customers in this many days: ask.
SAME_TEXT_DAYS, SAME_TEXT_CUSTOMERS = 30, 3
# An SMTP reply in this range is "try again later" (RFC 5321); a 5xx is a refusal.
TRANSIENT_CODES = range(400, 500)


class Refused(Exception):
    """The policy refused the message; `verdict.reason` says why, for the form."""

    def __init__(self, verdict: policy.Verdict):
        super().__init__(verdict.reason)
        self.verdict = verdict


class TransientSendError(Exception):
    """Sending failed in a way worth retrying (the mail server was away or said "later")."""

    def __init__(self, error: BaseException, retry_in: int):
        super().__init__(str(error))
        self.retry_in = retry_in


def fingerprint(body: str) -> str:
    """A keyed hash of the message's words (the body is encrypted, so repeats are found by this)."""
    found = texts.words(body)
    return salted_hmac("outreach.words", found, algorithm="sha256").hexdigest() if found else ""


def genuineness_flags(*, customer: Customer, body: str, edited: bool, occasion: str) -> list[str]:
    """What looks mechanical about this message (empty when it looks personal). Never blocks; it asks."""
    since = timezone.now() - datetime.timedelta(days=SAME_TEXT_DAYS)
    recent = (
        Message.objects.filter(created_at__gte=since).exclude(customer=customer).exclude(state=Message.State.STOPPED)
    )
    flags = []
    same_words = recent.filter(body_fingerprint=fingerprint(body)).values("customer").distinct().count()
    if same_words >= SAME_TEXT_CUSTOMERS:
        flags.append(f"The same words went to {same_words} other customers in the last month.")
    if not edited:
        unchanged = recent.filter(occasion=occasion, edited=False).values("customer").distinct().count()
        if unchanged >= SAME_TEXT_CUSTOMERS and not same_words:
            flags.append(f"This template went unchanged to {unchanged} other customers in the last month.")
    return flags


@dataclass(frozen=True)
class Draft:
    channel: str
    occasion: str
    subject: str
    body: str
    # The merged template the sender started from: the body is "edited" when it differs.
    template_body: str
    source: str = Message.Source.BRIEF
    source_id: int | None = None
    is_marketing: bool = False
    # The form's key: submitting the same form twice makes one message.
    idempotency_key: uuid.UUID | None = None


@transaction.atomic
def message_compose(*, customer: Customer, sender: User, location: Location, draft: Draft) -> Message:
    """Write a message to one customer; an email is sent by a task once this commits, a card waits to print.

    Raises Refused with the policy's reason. The customer row is locked, so two colleagues writing at
    once are counted one after the other against the contact limit.
    """
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer.pk)
    if draft.idempotency_key is not None:
        already = Message.objects.filter(idempotency_key=draft.idempotency_key).first()
        if already is not None and already.customer_id == customer.pk:
            return already
        if already is not None:
            raise ValidationError({"idempotency_key": "This form was already used; open it again."})
    validate_draft(draft)
    verdict = policy.may_send(customer=customer, channel=draft.channel, is_marketing=draft.is_marketing)
    if not verdict:
        raise Refused(verdict)
    body = draft.body.strip()
    edited = texts.words(body) != texts.words(draft.template_body)
    now = timezone.now()
    message = Message(
        customer=customer,
        location=location,
        sender=sender,
        channel=draft.channel,
        occasion=draft.occasion,
        source=draft.source,
        source_id=draft.source_id,
        is_marketing=draft.is_marketing,
        subject=draft.subject.strip(),
        body=body,
        edited=edited,
        body_fingerprint=fingerprint(body),
        flags=genuineness_flags(customer=customer, body=body, edited=edited, occasion=draft.occasion),
        state=Message.State.QUEUED,
        next_attempt_at=now + datetime.timedelta(seconds=settings.OUTREACH_SWEEP_GRACE_SECONDS),
    )
    if draft.idempotency_key is not None:
        message.idempotency_key = draft.idempotency_key
    message.full_clean()
    message.save()
    if message.channel == Message.Channel.EMAIL:
        transaction.on_commit(lambda: enqueue(message.pk))
    return message


def enqueue(message_id: int) -> None:
    """Queue the send task; with the broker down the message stays queued and the sweep sends it later."""
    from outreach.tasks import send_message

    try:
        # No publish retries: with the broker down the request must not wait; the row is the outbox.
        send_message.apply_async((message_id,), retry=False)
    except Exception:
        log.warning("outreach: could not queue message %s; the sweep will send it", message_id, exc_info=True)


def _stop(message: Message, reason: str) -> bool:
    page_cache.changed(message.customer_id)
    return bool(
        Message.objects.filter(pk=message.pk, state=Message.State.QUEUED).update(
            state=Message.State.STOPPED, stopped_reason=reason[:200], updated_at=timezone.now()
        )
    )


def message_deliver(*, message_id: int) -> str:
    """Send one queued email, once; return what happened. Raises TransientSendError to be retried.

    The policy is asked again first. Of two deliveries of the same task only the one whose conditional
    UPDATE (queued -> sending) touches the row sends; a worker that dies mid-send leaves it "sending",
    and the sweep then fails it rather than risk sending twice.
    """
    message = Message.objects.select_related("customer", "location", "sender").filter(pk=message_id).first()
    if message is None or message.channel != Message.Channel.EMAIL or message.state != Message.State.QUEUED:
        return "already handled"
    verdict = policy.may_send(
        customer=message.customer, channel=message.channel, is_marketing=message.is_marketing, message=message
    )
    if not verdict:
        _stop(message, verdict.reason)
        return "stopped"
    claimed = Message.objects.filter(pk=message.pk, state=Message.State.QUEUED).update(
        state=Message.State.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    page_cache.changed(message.customer_id)
    if claimed != 1:
        return "already handled"
    message.refresh_from_db(fields=["attempts"])
    email = emails.build(message)
    try:
        email.send()
    except (smtplib.SMTPException, OSError) as error:
        return _send_failed(message, error)
    with transaction.atomic():
        done = Message.objects.filter(pk=message.pk, state=Message.State.SENDING).update(
            state=Message.State.SENT,
            sent_at=timezone.now(),
            message_id=email.extra_headers["Message-ID"],
            sent_to=message.customer.email,
            last_error="",
            updated_at=timezone.now(),
        )
        page_cache.changed(message.customer_id)
        if done:
            message.refresh_from_db()
            _record_interaction(message)
    return Message.State.SENT


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code in TRANSIENT_CODES for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code in TRANSIENT_CODES
    # Could not connect, the connection dropped, a timeout: the server may be back soon.
    return isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError))


def _send_failed(message: Message, error: BaseException) -> str:
    transient = _is_transient(error)
    final = not transient or message.attempts >= MAX_ATTEMPTS
    retry_in = min(300, 5 * 2 ** (message.attempts - 1))
    Message.objects.filter(pk=message.pk, state=Message.State.SENDING).update(
        state=Message.State.FAILED if final else Message.State.QUEUED,
        last_error=f"{type(error).__name__}: {error}"[:300],
        # The sweep is the fallback if the retry cannot be queued; it waits past the retry's own time.
        next_attempt_at=timezone.now() + datetime.timedelta(seconds=retry_in + settings.OUTREACH_SWEEP_GRACE_SECONDS),
        updated_at=timezone.now(),
    )
    page_cache.changed(message.customer_id)
    if final:
        return Message.State.FAILED
    raise TransientSendError(error, retry_in)


def _record_interaction(message: Message) -> None:
    """The message is a contact at the email or direct-mail touchpoint: on the timeline and the maps.

    Journeys records it, receiving customers.signals.contact_made (outreach and journeys are siblings on
    the same floor and do not import each other)."""
    answers = signals.contact_made.send(
        sender=Customer,
        customer=message.customer,
        touchpoint_slug="email" if message.channel == Message.Channel.EMAIL else "direct-mail",
        location=message.location,
        staff=message.sender,
        occurred_at=message.sent_at,
        summary=f"{message.get_channel_display()}: {message.subject}",
        external_ref=f"outreach-message-{message.pk}",
    )
    interaction_id = next((answer for _receiver, answer in answers if answer is not None), None)
    if interaction_id is not None:
        Message.objects.filter(pk=message.pk).update(interaction_id=interaction_id)


def messages_due(*, now: datetime.datetime | None = None, limit: int = 200) -> list[int]:
    """Queued emails whose task may never have been queued (or whose retry was lost); fail stuck sends."""
    now = now or timezone.now()
    stuck = Message.objects.filter(state=Message.State.SENDING, updated_at__lt=now - STUCK_AFTER)
    page_cache.changed(*stuck.values_list("customer_id", flat=True).distinct())
    stuck.update(
        state=Message.State.FAILED,
        last_error="The worker stopped while sending; check with the customer before writing again.",
        updated_at=now,
    )
    return list(
        Message.objects.filter(state=Message.State.QUEUED, channel=Message.Channel.EMAIL, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def card_mark_posted(*, message: Message, by: User) -> policy.Verdict:
    """Record that a printed card went in the post; refuses (and stops it) if the customer can no longer
    be written to."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("customer", "location", "sender")
        .get(pk=message.pk)
    )
    if message.channel != Message.Channel.MAIL or message.state != Message.State.QUEUED:
        return policy.Verdict(False, "This card was already posted or stopped.")
    verdict = policy.may_send(
        customer=message.customer, channel=message.channel, is_marketing=message.is_marketing, message=message
    )
    if not verdict:
        _stop(message, verdict.reason)
        return verdict
    preference = policy.preference_of(message.customer)
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        state=Message.State.SENT, sent_at=now, sent_by=by, sent_to=preference.postal_address, updated_at=now
    )
    page_cache.changed(message.customer_id)
    message.refresh_from_db()
    _record_interaction(message)
    return policy.ALLOWED


@transaction.atomic
def message_stop(*, message: Message, by: User) -> bool:
    """Stop a message that has not gone yet (its sender or a manager changed their mind)."""
    return _stop(message, f"Stopped by {by}")


def _stop_queued(customer_id: int, reason: str, channel: str | None = None) -> int:
    queued = Message.objects.filter(customer_id=customer_id, state=Message.State.QUEUED)
    if channel:
        queued = queued.filter(channel=channel)
    page_cache.changed(customer_id)
    return queued.update(state=Message.State.STOPPED, stopped_reason=reason, updated_at=timezone.now())


@transaction.atomic
def customer_unsubscribe(*, customer_id: int, message_id: int | None = None) -> int:
    """The customer unsubscribed from email (a link or a one-click POST): withdraw their email consent
    and stop every queued email to them at once. Return how many were stopped."""
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is not None and customer.consent_email_at is not None:
        customer.consent_email_at = None
        # A save, not an UPDATE: the audit trail records the withdrawn consent (crm.kernel.audit).
        customer.save(update_fields=["consent_email_at", "updated_at"])
    return _stop_queued(customer_id, "The customer unsubscribed.", Message.Channel.EMAIL)


@transaction.atomic
def preferences_save(*, customer_id: int, email: bool, mail: bool, marketing: bool, nothing: bool) -> Customer:
    """The customer's own choices from the signed preference page: consent per channel, or nothing at all."""
    customer = Customer.objects.select_for_update().select_related("home_location").get(pk=customer_id)
    today = customer.home_location.local_today()
    if nothing:
        email = mail = marketing = False
    given = (customer.consent_email_at, customer.consent_mail_at)
    customer.consent_email_at = (customer.consent_email_at or today) if email else None
    customer.consent_mail_at = (customer.consent_mail_at or today) if mail else None
    if (customer.consent_email_at, customer.consent_mail_at) != given:
        # Saved, so the audit trail records the customer's own change of consent.
        customer.save(update_fields=["consent_email_at", "consent_mail_at", "updated_at"])
    preference, _ = ContactPreference.objects.select_for_update().get_or_create(customer=customer)
    preference.marketing_consent_at = (preference.marketing_consent_at or today) if marketing else None
    if nothing:
        preference.do_not_contact_at = preference.do_not_contact_at or timezone.now()
        preference.do_not_contact_reason = "the customer's own choice"
    elif preference.do_not_contact_reason == "the customer's own choice":
        preference.do_not_contact_at, preference.do_not_contact_reason = None, ""
    preference.save()
    if nothing:
        _stop_queued(customer.pk, "The customer asked not to be contacted.")
    else:
        if not email:
            _stop_queued(customer.pk, "The customer withdrew email consent.", Message.Channel.EMAIL)
        if not mail:
            _stop_queued(customer.pk, "The customer withdrew consent to post.", Message.Channel.MAIL)
    return customer


@transaction.atomic
def contact_preference_save(
    *,
    customer: Customer,
    by: User,
    postal_address: str,
    marketing_consent: bool,
    do_not_contact: bool,
    do_not_contact_reason: str = "",
) -> ContactPreference:
    """Staff record the customer's postal address, marketing consent and "do not contact"; the last
    stops every queued message at once."""
    preference, _ = ContactPreference.objects.select_for_update().get_or_create(customer=customer)
    today = customer.home_location.local_today()
    preference.postal_address = postal_address.strip()
    preference.marketing_consent_at = (preference.marketing_consent_at or today) if marketing_consent else None
    if do_not_contact:
        preference.do_not_contact_at = preference.do_not_contact_at or timezone.now()
        preference.do_not_contact_reason = do_not_contact_reason.strip()[:200]
    else:
        preference.do_not_contact_at, preference.do_not_contact_reason = None, ""
    preference.full_clean()
    preference.save()
    if do_not_contact:
        _stop_queued(customer.pk, "Marked do not contact.")
    return preference


@transaction.atomic
def outreach_settings_save(*, by: User, max_messages: int, period_days: int) -> OutreachSettings:
    """Owners set the contact limit across all staff."""
    row = OutreachSettings.current()
    row.max_messages, row.period_days, row.updated_by = max_messages, period_days, by
    row.full_clean()
    row.save(update_fields=["max_messages", "period_days", "updated_by", "updated_at"])
    return row


def suppress(*, address: str, channel: str, reason: str) -> None:
    """Keep an address only as a hash, so nothing is ever sent to it again (an import cannot revive it)."""
    if address.strip():
        Suppression.objects.get_or_create(
            address_hash=policy.address_hash(address), defaults={"channel": channel, "reason": reason}
        )


def customer_erased(customer: Customer, by: User) -> None:
    """Erase hook: suppress the customer's addresses, stop what is queued, drop the words and addresses."""
    suppress(address=customer.email, channel=Message.Channel.EMAIL, reason="erased customer")
    preference = ContactPreference.objects.filter(customer=customer).first()
    if preference is not None:
        suppress(address=preference.postal_address, channel=Message.Channel.MAIL, reason="erased customer")
        preference.delete()
    _stop_queued(customer.pk, "The customer was erased.")
    Message.objects.filter(customer=customer).update(subject="Erased", body="", sent_to="", flags=[])


def validate_draft(draft: Draft) -> None:
    """Check the words themselves (the form checks them too; the service never trusts a caller)."""
    if not draft.subject.strip():
        raise ValidationError({"subject": "Give the message a subject."})
    if "\n" in draft.subject or "\r" in draft.subject:
        raise ValidationError({"subject": "Keep the subject on one line."})
    if not draft.body.strip():
        raise ValidationError({"body": "Write the message."})
