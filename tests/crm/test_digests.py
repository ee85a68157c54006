"""The start-of-shift email digest: once a day per person, opt-out, failures counted and capped."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse

from crm.inbox import digests
from crm.inbox.models import DigestSend, Notification
from crm.inbox.tasks import send_digest

pytestmark = pytest.mark.postgres

FAILING = "tests.crm.failing_email.FailingBackend"


def at(hour, minute=0):
    # 22 Nov 2026 in New York (UTC-5)
    return datetime.datetime(2026, 11, 22, hour + 5, minute, tzinfo=datetime.UTC)


def reminder(user, title="Anna's birthday is today", n=0):
    return Notification.objects.create(
        recipient=user,
        kind="message",
        occurrence=datetime.date(2026, 11, 22) - datetime.timedelta(days=n),
        title=title,
        url="/x/",
    )


def test_digest_goes_out_after_the_shift_starts_once_with_every_open_item(time_at, frontline, manager):
    reminder(frontline)
    reminder(frontline, "Call Ben about his lenses", n=1)
    time_at(at(7, 59))
    assert digests.digests_due() == []
    time_at(at(8, 1))
    ids = digests.digests_due()
    assert len(ids) == 2  # frontline and manager both work at Downtown
    results = sorted(digests.digest_send(digest_id=pk) for pk in ids)
    assert results == ["sent", "skipped"]  # the manager has nothing today
    [email] = mail.outbox
    assert email.to == [frontline.email] and "2 things to do" in email.subject
    assert "Anna's birthday is today" in email.body and "Call Ben about his lenses" in email.body
    # the next sweep the same day sends nothing more
    assert digests.digests_due() == []
    assert digests.digest_send(digest_id=ids[0]) == "already handled"
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(emailed_on=datetime.date(2026, 11, 22)).count() == 2


def test_staff_can_opt_out_of_the_digest(client, time_at, frontline):
    client.force_login(frontline)
    client.post(reverse("profile"), {"first_name": "Fran", "last_name": "L", "email": frontline.email})
    frontline.refresh_from_db()
    assert frontline.email_digest is False
    reminder(frontline)
    time_at(at(9))
    assert not DigestSend.objects.filter(recipient=frontline, pk__in=digests.digests_due()).exists()


def test_failed_sends_are_retried_a_few_times_then_the_digest_fails(time_at, frontline, settings):
    settings.EMAIL_BACKEND = FAILING
    reminder(frontline)
    time_at(at(9))
    [digest_id] = [pk for pk in digests.digests_due() if DigestSend.objects.get(pk=pk).recipient == frontline]
    send_digest.apply(args=[digest_id])  # runs the retries eagerly
    digest = DigestSend.objects.get(pk=digest_id)
    assert (digest.status, digest.attempts) == ("failed", digests.ATTEMPTS_PER_DIGEST)
    assert "Connection unexpectedly closed" in digest.last_error
    frontline.refresh_from_db()
    assert frontline.email_failures == digests.ATTEMPTS_PER_DIGEST and frontline.email_failing_since is None


def test_an_address_that_keeps_failing_is_shown_to_managers_and_no_longer_tried(
    client, time_at, frontline, manager, settings
):
    settings.EMAIL_BACKEND = FAILING
    frontline.email_failures = digests.FAILURES_BEFORE_FAILING - 1
    frontline.save()
    reminder(frontline)
    time_at(at(9))
    digest = DigestSend.objects.get(recipient=frontline, pk__in=digests.digests_due())
    send_digest.apply(args=[digest.pk])
    frontline.refresh_from_db()
    assert frontline.email_failing_since is not None
    assert DigestSend.objects.get(pk=digest.pk).status == "failed"
    time_at(at(9) + datetime.timedelta(days=1))
    assert not DigestSend.objects.filter(recipient=frontline, pk__in=digests.digests_due()).exists()
    client.force_login(manager)
    page = client.get(reverse("operations")).content.decode()
    assert frontline.email in page and "failing since" in page
    # fixing the address on the profile gives it a fresh start
    client.force_login(frontline)
    client.post(
        reverse("profile"), {"first_name": "F", "last_name": "L", "email": "new@example.com", "email_digest": "on"}
    )
    frontline.refresh_from_db()
    assert frontline.email_failing_since is None and frontline.email_failures == 0
