"""The start-of-shift email: one digest a day per member of staff, of the day's open reminders."""

from __future__ import annotations

import datetime
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from crm.inbox.models import DigestSend, Notification
from crm.inbox.notifications import hide_private, notifications_mark_emailed
from crm.kernel import business
from crm.kernel.models import Location, User
from crm.kernel.permissions import user_changed

FAILURES_BEFORE_FAILING = 5  # consecutive failed sends before an address is marked failing
ATTEMPTS_PER_DIGEST = 4  # the first try and three retries with backoff
STUCK_AFTER = datetime.timedelta(minutes=10)
SEND_ERRORS = (smtplib.SMTPException, OSError)


def digests_due(now: datetime.datetime | None = None) -> list[int]:
    """Create today's pending digests for staff whose location's digest time has passed; return their ids."""
    now = now or timezone.now()
    wanted: dict[int, datetime.date] = {}
    for location in Location.objects.filter(is_active=True):
        local = now.astimezone(location.tzinfo)
        if local.time() < location.digest_time:
            continue
        staff = location.staff.filter(is_active=True, email_digest=True, email_failing_since__isnull=True)
        for user_id in staff.exclude(email="").values_list("pk", flat=True):
            wanted.setdefault(user_id, local.date())
    DigestSend.objects.bulk_create(
        [DigestSend(recipient_id=user_id, day=day) for user_id, day in wanted.items()], ignore_conflicts=True
    )
    # A worker that died while sending left its digest "sending": try it again.
    DigestSend.objects.filter(status=DigestSend.Status.SENDING, updated_at__lt=now - STUCK_AFTER).update(
        status=DigestSend.Status.PENDING
    )
    return list(
        DigestSend.objects.filter(
            status=DigestSend.Status.PENDING, day__gte=(now - datetime.timedelta(days=1)).date()
        ).values_list("pk", flat=True)
    )


def open_items(user: User) -> list[Notification]:
    """The user's open reminders not emailed yet; a sensitive note's follow-up says only "a private note"."""
    return hide_private(
        list(
            Notification.objects.filter(recipient=user, done_at__isnull=True, emailed_on__isnull=True)
            .select_related("customer")
            .order_by("-overdue_on", "occurrence", "pk")[:100]
        )
    )


def digest_send(*, digest_id: int) -> str:
    """Send one digest; return its status. Raises the send error so the task can retry it."""
    # Claim it: of two deliveries of the same task, only one sends.
    claimed = DigestSend.objects.filter(pk=digest_id, status=DigestSend.Status.PENDING).update(
        status=DigestSend.Status.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    if claimed != 1:
        return "already handled"
    digest = DigestSend.objects.select_related("recipient").get(pk=digest_id)
    user = digest.recipient
    items = open_items(user)
    if not items:
        DigestSend.objects.filter(pk=digest.pk).update(status=DigestSend.Status.SKIPPED)
        return DigestSend.Status.SKIPPED
    business_name = business.current().name
    context = {
        "user": user,
        "items": items,
        "day": digest.day,
        "business_name": business_name,
        "site_url": settings.SITE_URL,
    }
    try:
        send_mail(
            subject=f"Today at {business_name}: {len(items)} thing{'s' if len(items) != 1 else ''} to do",
            message=render_to_string("crm/email/digest.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
    except SEND_ERRORS as error:
        digest_failed(digest=digest, error=error)
        raise
    with transaction.atomic():
        DigestSend.objects.filter(pk=digest.pk).update(status=DigestSend.Status.SENT, items=len(items), last_error="")
        notifications_mark_emailed(notifications=items, day=digest.day)
        if User.objects.filter(pk=user.pk).update(email_failures=0, email_failing_since=None):
            user_changed(user.pk)  # their profile says whether emails to them fail
    return DigestSend.Status.SENT


@transaction.atomic
def digest_failed(*, digest: DigestSend, error: BaseException) -> None:
    """Count a failed send against the address; after repeated failures mark it failing for managers to fix.

    The digest goes back to pending for a retry, or is failed after its last attempt.
    """
    User.objects.filter(pk=digest.recipient_id).update(email_failures=F("email_failures") + 1)
    user_changed(digest.recipient_id)
    user = User.objects.get(pk=digest.recipient_id)
    failing = user.email_failures >= FAILURES_BEFORE_FAILING
    if failing and user.email_failing_since is None:
        User.objects.filter(pk=user.pk).update(email_failing_since=timezone.now())
    final = failing or digest.attempts >= ATTEMPTS_PER_DIGEST
    status = DigestSend.Status.FAILED if final else DigestSend.Status.PENDING
    DigestSend.objects.filter(pk=digest.pk).update(status=status, last_error=str(error)[:300])


def failing_addresses() -> list[User]:
    return list(User.objects.filter(email_failing_since__isnull=False, is_active=True).order_by("email_failing_since"))
