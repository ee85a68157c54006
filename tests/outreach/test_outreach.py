"""Writing to a customer: templates edited by the sender, consent and restraint, the email, cards."""

import datetime
import uuid
from unittest import mock

import pytest
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from customers import importer
from customers.models import Customer
from customers.services import customer_erase, follow_up_create
from customers.signals import address_suppressed
from journeys.models import Interaction
from outreach import emails, policy, services
from outreach.models import ContactPreference, Message, OutreachSettings, Suppression
from tests.customers.factories import CustomerFactory
from tests.outreach.conftest import ADDRESS, compose_form, write

pytestmark = pytest.mark.postgres


def test_the_compose_page_fills_the_template_with_the_customers_pet_and_the_senders_names(
    client, frontline, reachable, django_assert_max_num_queries
):
    client.force_login(frontline)
    url = reverse("outreach-compose", args=[reachable.pk])
    with django_assert_max_num_queries(30):
        response = client.get(url, {"occasion": "get_well"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["subject"] == "Get well soon, Annie"
    assert "Dear Annie," in form.initial["body"] and "Downtown" in form.initial["body"]
    assert form.initial["body"] == form.initial["template_body"]
    assert frontline.first_name in form.initial["body"]


def test_the_preview_shows_the_message_as_the_customer_will_see_it_with_the_postal_footer(client, frontline, reachable):
    client.force_login(frontline)
    data = compose_form(reachable, preview="1")
    data.pop("send")
    response = client.post(reverse("outreach-compose", args=[reachable.pk]), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="preview"' in body and "Rex told us the news!" in body
    assert "1 Market Square" in body
    assert not Message.objects.exists()


def test_a_template_sent_word_for_word_needs_a_change_or_a_confirmation(client, frontline, reachable):
    client.force_login(frontline)
    url = reverse("outreach-compose", args=[reachable.pk])
    template = "Dear Annie,\n\nWe just heard your wonderful news."
    response = client.post(url, compose_form(reachable, body=template))
    assert response.status_code == 200
    assert "This is the template word for word" in response.content.decode()
    assert not Message.objects.exists()
    response = client.post(url, compose_form(reachable, body=template, confirm_unchanged="on"))
    assert response.status_code == 302
    message = Message.objects.get()
    assert not message.edited and message.state == Message.State.QUEUED


def test_an_unchanged_template_can_be_previewed_before_it_is_made_ones_own(client, frontline, reachable):
    client.force_login(frontline)
    template = "Dear Annie,\n\nWe just heard your wonderful news."
    data = compose_form(reachable, body=template, preview="1")
    data.pop("send")
    response = client.post(reverse("outreach-compose", args=[reachable.pk]), data)
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="preview"' in body
    assert "This is the template word for word" not in body
    assert not Message.objects.exists()


def test_a_sent_form_makes_one_email_and_queues_it_after_commit(
    client, frontline, reachable, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(services, "enqueue", queued.append)
    client.force_login(frontline)
    data = compose_form(reachable)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("outreach-compose", args=[reachable.pk]), data).status_code == 302
        assert client.post(reverse("outreach-compose", args=[reachable.pk]), data).status_code == 302
    message = Message.objects.get()
    assert message.edited and message.sender == frontline
    assert queued == [message.pk]


def test_the_task_sends_once_with_both_parts_the_footer_and_the_unsubscribe_headers(frontline, reachable, location):
    message = write(reachable, frontline, location)
    assert services.message_deliver(message_id=message.pk) == "sent"
    assert services.message_deliver(message_id=message.pk) == "already handled"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["anna@example.com"]
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent.extra_headers["List-Unsubscribe"].startswith("<http")
    assert sent.extra_headers["Message-ID"] == f"<{message.idempotency_key}@localhost>"
    assert "congratulations on the engagement" in sent.body and "1 Market Square" in sent.body
    html, kind = sent.alternatives[0]
    assert kind == "text/html" and "1 Market Square" in html and "Unsubscribe" in html
    message.refresh_from_db()
    assert message.state == Message.State.SENT and message.sent_to == "anna@example.com"
    interaction = message.interaction
    assert interaction.touchpoint.slug == "email" and interaction.customer == reachable
    assert Interaction.objects.filter(customer=reachable).count() == 1


def test_no_consent_to_email_is_refused_with_the_reason_on_the_form(client, frontline, reachable):
    Customer.objects.filter(pk=reachable.pk).update(consent_email_at=None)
    client.force_login(frontline)
    response = client.post(reverse("outreach-compose", args=[reachable.pk]), compose_form(reachable))
    assert response.status_code == 200
    assert "has not agreed to be emailed" in " ".join(response.context["form"].errors["channel"])
    assert not Message.objects.exists()


def test_the_contact_limit_counts_every_colleagues_messages(client, frontline, manager, reachable, location):
    write(reachable, manager, location)
    write(reachable, manager, location, channel="mail")
    client.force_login(frontline)
    response = client.post(reverse("outreach-compose", args=[reachable.pk]), compose_form(reachable))
    assert response.status_code == 200
    body = response.content.decode()
    assert "already had 2 messages from us in the last 30 days (the limit is 2, set by the owner)" in body
    assert Message.objects.count() == 2


def test_do_not_contact_refuses_and_stops_what_is_queued(client, frontline, reachable, location):
    queued = write(reachable, frontline, location)
    card = write(reachable, frontline, location, channel="mail")
    client.force_login(frontline)
    response = client.post(
        reverse("outreach-contact-preferences", args=[reachable.pk]),
        {"postal_address": ADDRESS, "do_not_contact": "on", "do_not_contact_reason": "asked at the till"},
    )
    assert response.status_code == 302
    assert set(Message.objects.values_list("state", flat=True)) == {"stopped"}
    assert services.message_deliver(message_id=queued.pk) == "already handled"
    assert not services.card_mark_posted(message=card, by=frontline)
    response = client.post(reverse("outreach-compose", args=[reachable.pk]), compose_form(reachable))
    assert "asked not to be contacted (asked at the till)" in response.content.decode()
    assert mail.outbox == []


def test_consent_withdrawn_after_queueing_stops_the_email_when_the_task_runs(frontline, reachable, location):
    message = write(reachable, frontline, location)
    Customer.objects.filter(pk=reachable.pk).update(consent_email_at=None)
    assert services.message_deliver(message_id=message.pk) == "stopped"
    message.refresh_from_db()
    assert message.state == "stopped" and "has not agreed to be emailed" in message.stopped_reason
    assert mail.outbox == []


def test_an_offer_needs_marketing_consent_a_personal_message_does_not(frontline, reachable, location):
    verdict = policy.may_send(customer=reachable, channel="email", is_marketing=True)
    assert not verdict and verdict.about == "marketing" and "has not agreed to marketing" in verdict.reason
    assert policy.may_send(customer=reachable, channel="email", is_marketing=False)
    ContactPreference.objects.filter(customer=reachable).update(marketing_consent_at=datetime.date(2026, 2, 1))
    reachable.refresh_from_db()
    assert policy.may_send(customer=reachable, channel="email", is_marketing=True)


def test_unsubscribe_link_works_without_login_and_stops_a_queued_email(client, frontline, reachable, location):
    first = write(reachable, frontline, location)
    services.message_deliver(message_id=first.pk)
    queued = write(reachable, frontline, location)
    url = emails.unsubscribe_url(first).removeprefix("http://127.0.0.1:8000")
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="confirm-unsubscribe"' in page.content.decode()
    assert Message.objects.get(pk=queued.pk).state == "queued"  # a GET (a link scanner) changes nothing
    response = client.post(url)
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert Message.objects.get(pk=queued.pk).state == "stopped"
    reachable.refresh_from_db()
    assert reachable.consent_email_at is None
    assert services.message_deliver(message_id=queued.pk) == "already handled"
    assert len(mail.outbox) == 1


def test_one_click_unsubscribe_is_a_post_without_csrf_or_login(frontline, reachable, location):
    from django.test import Client

    message = write(reachable, frontline, location)
    client = Client(enforce_csrf_checks=True)
    url = emails.unsubscribe_url(message).removeprefix("http://127.0.0.1:8000")
    response = client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert Message.objects.get(pk=message.pk).state == "stopped"


def test_an_altered_link_is_refused(client, reachable):
    forged = signing.dumps({"c": reachable.pk}, salt="something else")
    assert client.get(reverse("outreach-unsubscribe", args=[forged])).status_code == 404
    assert client.post(reverse("outreach-preferences", args=["nonsense"])).status_code == 404
    reachable.refresh_from_db()
    assert reachable.consent_email_at is not None


def test_the_preference_page_changes_consent_per_channel_and_can_stop_everything(
    client, frontline, reachable, location
):
    card = write(reachable, frontline, location, channel="mail")
    url = reverse("outreach-preferences", args=[emails.preferences_token(reachable.pk)])
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"].initial["email"] is True
    response = client.post(url, {"email": "on", "marketing": "on"})
    assert response.status_code == 200 and 'data-testid="preferences-saved"' in response.content.decode()
    reachable.refresh_from_db()
    assert reachable.consent_email_at is not None and reachable.consent_mail_at is None
    assert reachable.reach.marketing_consent_at is not None
    assert Message.objects.get(pk=card.pk).state == "stopped"
    client.post(url, {"nothing": "on"})
    reachable.refresh_from_db()
    assert reachable.consent_email_at is None and reachable.reach.do_not_contact_at is not None
    assert "asked not to be contacted" in policy.may_send(customer=reachable, channel="email").reason


def test_a_transient_smtp_error_leaves_the_email_queued_for_a_retry_and_a_refusal_fails_it(
    frontline, reachable, location, settings
):
    settings.EMAIL_BACKEND = "tests.crm.failing_email.FailingBackend"
    message = write(reachable, frontline, location)
    with pytest.raises(services.TransientSendError) as raised:
        services.message_deliver(message_id=message.pk)
    assert raised.value.retry_in == 5
    message.refresh_from_db()
    assert (
        message.state == "queued" and message.attempts == 1 and "Connection unexpectedly closed" in message.last_error
    )
    Message.objects.filter(pk=message.pk).update(attempts=services.MAX_ATTEMPTS - 1)
    assert services.message_deliver(message_id=message.pk) == "failed"
    assert Message.objects.get(pk=message.pk).state == "failed"


def test_a_worker_that_died_mid_send_is_failed_by_the_sweep_not_sent_again(frontline, reachable, location, time_at):
    message = write(reachable, frontline, location)
    Message.objects.filter(pk=message.pk).update(state="sending")
    from django.utils import timezone

    time_at(timezone.now() + datetime.timedelta(minutes=11))
    assert services.messages_due() == []
    assert Message.objects.get(pk=message.pk).state == "failed"


def test_the_sweep_picks_up_emails_whose_task_never_reached_the_broker(frontline, reachable, location, time_at):
    from django.utils import timezone

    message = write(reachable, frontline, location)
    assert services.messages_due() == []  # the task queued on commit normally sends it first
    time_at(timezone.now() + datetime.timedelta(minutes=3))
    assert services.messages_due() == [message.pk]


def test_an_erased_customers_address_stays_suppressed_and_an_import_cannot_revive_it(
    owner, frontline, reachable, location
):
    write(reachable, frontline, location, channel="mail")
    customer_erase(customer=reachable, by=owner)
    assert Suppression.objects.count() == 2
    assert not Suppression.objects.filter(address_hash__contains="anna").exists()
    assert address_suppressed("Anna@Example.com")
    assert Message.objects.get().state == "stopped" and Message.objects.get().body == ""
    assert not ContactPreference.objects.filter(customer=reachable).exists()
    csv = b"first_name,last_name,email,email_consent\nAnna,K,anna@example.com,yes\n"
    options = {"location": location.pk, "locations": [location.pk]}
    assert importer.commit(importer.check(csv, options=options), user=None)["created"] == 1
    revived = Customer.objects.get(email="anna@example.com", erased_at__isnull=True)
    assert revived.consent_email_at is None
    # Imported again, now matching the new row: still no consent.
    assert importer.commit(importer.check(csv, options=options), user=None)["created"] == 0
    revived.refresh_from_db()
    assert revived.consent_email_at is None
    Customer.objects.filter(pk=revived.pk).update(consent_email_at=datetime.date(2026, 3, 1))
    revived.refresh_from_db()
    verdict = policy.may_send(customer=revived, channel="email")
    assert not verdict and "do-not-send list" in verdict.reason


def test_the_same_template_unchanged_to_many_customers_asks_whether_it_is_genuine(
    client, frontline, reachable, location
):
    template = "Dear Annie,\n\nWe just heard your wonderful news."
    for _ in range(3):
        other = CustomerFactory(home_location=location, consent_email_at=datetime.date(2026, 1, 1))
        write(other, frontline, location, body="Dear you, we miss you.", template_body="Dear you, we miss you.")
    client.force_login(frontline)
    url = reverse("outreach-compose", args=[reachable.pk])
    data = compose_form(reachable, body=template, confirm_unchanged="on")
    response = client.post(url, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="genuine-warning"' in body and "went unchanged to 3 other customers" in body
    assert not Message.objects.filter(customer=reachable).exists()
    response = client.post(url, {**data, "genuine": "on"})
    assert response.status_code == 302
    assert Message.objects.get(customer=reachable).flags


def test_the_same_words_to_many_customers_are_noticed_whatever_the_spacing(frontline, reachable, location):
    for _ in range(3):
        other = CustomerFactory(home_location=location, consent_email_at=datetime.date(2026, 1, 1))
        write(other, frontline, location, body="Thank you  for coming in!")
    flags = services.genuineness_flags(customer=reachable, body="thank you for coming in", edited=True, occasion="x")
    assert flags == ["The same words went to 3 other customers in the last month."]


def test_cards_wait_on_todays_list_print_with_the_address_and_posting_records_it(
    client, frontline, reachable, location, django_assert_max_num_queries
):
    card = write(reachable, frontline, location, channel="mail")
    other = CustomerFactory(home_location=location, consent_mail_at=datetime.date(2026, 1, 1))
    ContactPreference.objects.create(customer=other, postal_address="Bo\n3 Elm Road")
    write(other, frontline, location, channel="mail")
    client.force_login(frontline)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("outreach-cards"))
    assert len(page.context["cards"]) == 2
    with django_assert_max_num_queries(20):
        printed = client.get(reverse("outreach-cards"), {"print": "1"})
    body = printed.content.decode()
    assert body.count('data-testid="card-sheet"') == 2 and "12 Harbour Street" in body and "3 Elm Road" in body
    assert "outreach/print.css" in body
    response = client.post(reverse("outreach-card-posted", args=[card.pk]))
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.state == "sent" and card.sent_by == frontline and card.interaction.touchpoint.slug == "direct-mail"
    assert len(client.get(reverse("outreach-cards")).context["cards"]) == 1
    again = client.post(reverse("outreach-card-posted", args=[card.pk]), follow=True)
    assert "already posted" in again.content.decode()


def test_a_card_needs_a_postal_address_and_consent_to_post(frontline, reachable):
    ContactPreference.objects.filter(customer=reachable).update(postal_address="")
    reachable.refresh_from_db()
    assert "no postal address" in policy.may_send(customer=reachable, channel="mail").reason
    ContactPreference.objects.filter(customer=reachable).update(postal_address=ADDRESS)
    Customer.objects.filter(pk=reachable.pk).update(consent_mail_at=None)
    reachable = Customer.objects.get(pk=reachable.pk)
    assert "has not agreed to receive post" in policy.may_send(customer=reachable, channel="mail").reason


def test_owners_set_the_contact_limit_and_a_bad_value_is_explained(client, owner, manager):
    client.force_login(manager)
    assert client.get(reverse("outreach-settings")).status_code == 403
    client.force_login(owner)
    response = client.post(reverse("outreach-settings"), {"max_messages": "0", "period_days": "30"})
    assert response.status_code == 200 and "Choose between 1 and 20 messages." in response.content.decode()
    assert client.post(reverse("outreach-settings"), {"max_messages": "3", "period_days": "14"}).status_code == 302
    row = OutreachSettings.current()
    assert (row.max_messages, row.period_days, row.updated_by) == (3, 14, owner)


def test_the_brief_offers_to_write_about_an_engagement_follow_up(client, frontline, reachable, location):
    follow_up = follow_up_create(
        customer=reachable, created_by=frontline, prompt="Congratulate them on the engagement", location=location
    )
    client.force_login(frontline)
    body = client.get(reverse("customer-detail", args=[reachable.pk])).content.decode()
    assert 'data-testid="outreach-brief"' in body
    assert f"source=follow_up&amp;source_id={follow_up.pk}&amp;occasion=congratulations" in body
    page = client.get(
        reverse("outreach-compose", args=[reachable.pk]), {"source": "follow_up", "source_id": follow_up.pk}
    )
    assert page.context["about"] == "Congratulate them on the engagement"
    assert page.context["form"].initial["occasion"] == "congratulations"


def test_a_message_form_reused_for_another_customer_is_refused_not_a_500(client, frontline, reachable, location):
    other = CustomerFactory(home_location=location, consent_email_at=datetime.date(2026, 1, 1))
    client.force_login(frontline)
    data = compose_form(reachable)
    assert client.post(reverse("outreach-compose", args=[reachable.pk]), data).status_code == 302
    response = client.post(reverse("outreach-compose", args=[other.pk]), data)
    assert response.status_code == 200
    assert not Message.objects.filter(customer=other).exists()


def test_a_message_can_be_stopped_before_it_goes(client, frontline, reachable, location):
    message = write(reachable, frontline, location)
    client.force_login(frontline)
    assert client.get(reverse("outreach-message", args=[message.pk])).status_code == 200
    client.post(reverse("outreach-message-stop", args=[message.pk]))
    assert Message.objects.get(pk=message.pk).state == "stopped"
    assert services.message_deliver(message_id=message.pk) == "already handled"


def test_the_idempotency_key_of_a_message_is_unique(frontline, reachable, location):
    message = write(reachable, frontline, location)
    assert isinstance(message.idempotency_key, uuid.UUID)


def test_the_postal_address_an_owner_saves_on_business_is_in_every_email_footer(client, owner, frontline, reachable):
    client.force_login(owner)
    page = client.get(reverse("business-settings"))
    assert reverse("outreach-settings") in page.content.decode()
    data = {"name": "Rose & Co", "currency": "USD", "timezone": "America/New_York", "postal_address": "9 Quay Lane"}
    assert client.post(reverse("business-settings"), data).status_code == 302
    message = write(reachable, frontline, reachable.home_location)
    text, html = emails.render_parts(message)
    assert "9 Quay Lane" in text and "9 Quay Lane" in html and "Rose &amp; Co" in html


def test_the_header_and_the_body_carry_the_same_unsubscribe_link_even_when_a_second_passes(
    frontline, reachable, location, time_at
):
    message = write(reachable, frontline, location)
    moments = iter(timezone.now() + datetime.timedelta(seconds=s) for s in range(100))
    real_dumps = emails.signing.dumps

    def dumps_a_second_later(*args, **kwargs):
        # Each signing carries the second it was made: let a second pass before each one.
        time_at(next(moments))
        return real_dumps(*args, **kwargs)

    with mock.patch.object(emails.signing, "dumps", dumps_a_second_later):
        email = emails.build(message)
    header_link = email.extra_headers["List-Unsubscribe"].strip("<>")
    assert header_link in email.body and header_link in email.alternatives[0][0]


def test_a_subject_over_two_lines_is_explained_beside_the_field_not_sent(client, frontline, reachable):
    client.force_login(frontline)
    response = client.post(
        reverse("outreach-compose", args=[reachable.pk]), compose_form(reachable, subject="Hi\r\nBcc: all@example.com")
    )
    assert response.status_code == 200
    assert "Keep the subject on one line." in response.context["form"].errors["subject"]
    assert not Message.objects.exists()


def test_the_task_retries_a_mail_server_that_stays_away_then_gives_up_without_sending(
    frontline, reachable, location, settings
):
    from outreach.tasks import send_message

    settings.EMAIL_BACKEND = "tests.crm.failing_email.FailingBackend"
    message = write(reachable, frontline, location)
    send_message.apply(args=(message.pk,))  # eager: each retry runs at once, its countdown aside
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert "Connection unexpectedly closed" in message.last_error
    assert message.interaction is None


def test_when_nothing_can_be_sent_the_page_says_so_and_why_for_each_channel(client, frontline, reachable, location):
    write(reachable, frontline, location)
    write(reachable, frontline, location)
    client.force_login(frontline)
    body = client.get(reverse("outreach-compose", args=[reachable.pk])).content.decode()
    assert 'data-testid="nothing-open"' in body
    assert 'data-testid="channel-refused-email"' in body and 'data-testid="channel-refused-mail"' in body
    data = compose_form(reachable)
    data.pop("channel")
    response = client.post(reverse("outreach-compose", args=[reachable.pk]), data)
    assert "Choose email or a card in the post." in response.context["form"].errors["channel"]


def test_withdrawn_consent_is_in_the_audit_trail_whether_by_link_or_by_the_preference_page(
    client, frontline, reachable, location
):
    from auditlog.models import LogEntry

    def consent_entries():
        entries = LogEntry.objects.get_for_object(reachable).filter(action=LogEntry.Action.UPDATE)
        return [entry.changes_dict for entry in entries.order_by("pk")]

    message = write(reachable, frontline, location)
    client.post(emails.unsubscribe_url(message).removeprefix("http://127.0.0.1:8000"))
    assert consent_entries()[-1]["consent_email_at"][1] in (None, "None")
    before = len(consent_entries())
    client.post(emails.unsubscribe_url(message).removeprefix("http://127.0.0.1:8000"))
    assert len(consent_entries()) == before  # nothing changed, nothing written
    url = reverse("outreach-preferences", args=[emails.preferences_token(reachable.pk)])
    client.post(url, {"email": "on", "marketing": "on"})
    assert "consent_email_at" in consent_entries()[-1]
    preference_row = ContactPreference.objects.get(customer=reachable)
    preference = LogEntry.objects.get_for_object(preference_row).order_by("pk").last()
    assert "marketing_consent_at" in preference.changes_dict
    assert ADDRESS.splitlines()[0] not in str(preference.changes)
