"""Customer email end to end: a real Celery worker sends through a real SMTP server (aiosmtpd) started here.

The received message is read as a mail client would: the unsubscribe headers (RFC 8058), the
Message-ID, both parts and the footer with the business's postal address. The unsubscribe link from
that email, posted by a "mail provider" with no login and no CSRF token, stops a message still
queued. With Redis down when a message is written, it waits in its row and goes once Redis is back:
delayed, not lost, not doubled.
"""

import datetime
import email
import email.policy
import threading

import pytest
import redis
from aiosmtpd.controller import Controller
from django.test import Client
from django.urls import reverse

from crm.celery import app as celery_app
from crm.kernel import business
from crm.kernel.models import BusinessSettings
from journeys.models import Interaction
from outreach.models import ContactPreference, Message
from tests.customers.factories import CustomerFactory, PersonFactory
from tests.integration.servers import app_env, current_database_url, free_port, wait_for
from tests.outreach.conftest import compose_form

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WORKER = ("worker", "--concurrency=1", "--prefetch-multiplier=1", "--loglevel=INFO", "--without-mingle")
WORKER += ("--without-gossip", "-n", "outreach@%h")


class Inbox:
    """What the SMTP server received: one raw message per DATA."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def this_process_broker(monkeypatch):
    """Point this process's Celery producer (the web side) at another broker for the test."""

    def use(url: str) -> None:
        # Celery reads CELERY_BROKER_URL from the environment before its settings; the pools hold connections.
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.setattr(celery_app, "_pool", None)
        monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)

    yield use
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def annie(location):
    BusinessSettings.current()
    BusinessSettings.objects.filter(pk=1).update(postal_address="Rose & Co\n1 Market Square\nPortland, ME 04101")
    business.forget()
    customer = CustomerFactory(
        first_name="Anna",
        last_name="Kowalski",
        preferred_name="Annie",
        email="anna@example.com",
        home_location=location,
        consent_email_at=datetime.date(2026, 1, 5),
    )
    PersonFactory(customer=customer, name="Rex", relation="pet")
    ContactPreference.objects.create(customer=customer, postal_address="Anna Kowalski\n12 Harbour Street")
    return customer


def worker_env(private_redis, smtp, settings):
    return app_env(
        database_url=current_database_url(),
        broker_url=private_redis.url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        # The same key as this process: the links the worker signs are checked here.
        SECRET_KEY=settings.SECRET_KEY,
        REMINDER_SWEEP_SECONDS="1",
        OUTREACH_SWEEP_GRACE_SECONDS="0",
        CELERY_VISIBILITY_TIMEOUT="5",
    )


def queue_is_empty(private_redis) -> bool:
    return redis.Redis.from_url(private_redis.url).llen("celery") == 0


def test_an_email_arrives_with_its_headers_both_parts_and_footer_and_its_link_stops_a_queued_one(
    client, frontline, annie, smtp, private_redis, processes, this_process_broker, settings, tmp_path
):
    private_redis.start()
    this_process_broker(private_redis.url)
    settings.OUTREACH_SWEEP_GRACE_SECONDS = 0
    env = worker_env(private_redis, smtp, settings)
    processes.celery("worker", *WORKER, env=env)
    client.force_login(frontline)
    url = reverse("outreach-compose", args=[annie.pk])
    try:
        assert client.post(url, compose_form(annie)).status_code == 302
        wait_for(lambda: smtp.messages, "the email at the SMTP server", timeout=60)
        first = Message.objects.get()
        wait_for(lambda: Message.objects.get(pk=first.pk).state == "sent", "the message marked sent", timeout=20)
    except AssertionError:
        print(processes.log("worker")[-4000:])
        raise
    received = smtp.messages[0]
    assert smtp.envelopes[0].rcpt_tos == ["anna@example.com"]
    assert received["Subject"] == "Congratulations, Annie!"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(received["List-Unsubscribe"]).strip().strip("<>")
    assert unsubscribe.startswith("http://127.0.0.1:8000/u/")
    first.refresh_from_db()
    assert received["Message-ID"] == f"<{first.idempotency_key}@localhost>" == first.message_id
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Rex told us the news!" in part and "1 Market Square" in part and "Portland, ME 04101" in part
    assert unsubscribe in text and "/p/" in text
    assert Interaction.objects.get(customer=annie).touchpoint.slug == "email"

    # A second message waits while the worker is away; the customer unsubscribes meanwhile.
    processes.kill("worker")
    assert client.post(url, compose_form(annie, subject="And one more thing")).status_code == 302
    queued = Message.objects.exclude(pk=first.pk).get()
    assert queued.state == "queued"
    provider = Client(enforce_csrf_checks=True)  # a mail provider: no session, no CSRF token
    response = provider.post(
        unsubscribe.removeprefix("http://127.0.0.1:8000"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    queued.refresh_from_db()
    assert queued.state == "stopped" and queued.stopped_reason == "The customer unsubscribed."
    processes.celery("worker-again", *WORKER, env=env)
    try:
        wait_for(lambda: queue_is_empty(private_redis), "the worker to take the queued task", timeout=60)
        wait_for(lambda: "succeeded" in processes.log("worker-again"), "the task to finish", timeout=30)
    except AssertionError:
        print(processes.log("worker-again")[-4000:])
        raise
    assert len(smtp.messages) == 1
    assert Message.objects.get(pk=queued.pk).state == "stopped"


def test_an_email_written_while_redis_is_down_goes_once_when_it_returns(
    client, frontline, annie, smtp, private_redis, processes, this_process_broker, settings, tmp_path
):
    this_process_broker(private_redis.url)  # not running yet
    assert not private_redis.answers()
    settings.OUTREACH_SWEEP_GRACE_SECONDS = 0
    client.force_login(frontline)
    response = client.post(reverse("outreach-compose", args=[annie.pk]), compose_form(annie))
    assert response.status_code == 302, "writing a message must not fail while Redis is down"
    message = Message.objects.get()
    assert message.state == "queued"  # the outbox row, waiting for the sweep

    private_redis.start()
    env = worker_env(private_redis, smtp, settings)
    processes.celery("worker", *WORKER, env=env)
    processes.celery("beat", "beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule"), env=env)
    try:
        wait_for(lambda: smtp.messages, "the email once Redis is back", timeout=60)
        wait_for(lambda: Message.objects.get(pk=message.pk).state == "sent", "the message marked sent", timeout=20)
        # Several more sweeps: a double send would show now.
        seen = processes.log("beat").count("outreach.tasks.sweep_messages")
        wait_for(
            lambda: processes.log("beat").count("outreach.tasks.sweep_messages") >= seen + 3,
            "three more sweeps",
            timeout=30,
        )
        wait_for(lambda: queue_is_empty(private_redis), "the queue to drain", timeout=30)
    except AssertionError:
        print(processes.log("worker")[-4000:], processes.log("beat")[-2000:])
        raise
    assert len(smtp.messages) == 1
    message.refresh_from_db()
    assert message.attempts == 1 and message.sent_at is not None
    assert Interaction.objects.filter(customer=annie).count() == 1
