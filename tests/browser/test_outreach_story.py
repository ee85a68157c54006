"""On a phone: a note says she just got engaged; the brief offers to write; a congratulation is edited,
previewed as she will see it, and sent; once the worker sends it, it is on her timeline."""

import datetime
import re

from playwright.sync_api import expect

from customers.models import Customer
from outreach import services
from outreach.models import Message


def test_frontline_congratulates_a_customer_on_her_engagement_from_a_note(
    page, log_in, screenshot, frontline, customer, monkeypatch
):
    # The worker's part is run by hand below; the web side queues nothing here.
    monkeypatch.setattr(services, "enqueue", lambda message_id: None)
    Customer.objects.filter(pk=customer.pk).update(email="anna@example.com", consent_email_at=datetime.date(2026, 1, 5))
    log_in(frontline)
    page.goto(f"/customers/{customer.pk}/")
    page.locator("#add-note").get_by_role("textbox", name="Personal note").fill(
        "Anna just got engaged to Tom! Wedding next June"
    )
    page.get_by_role("button", name="Save note").click()
    suggestion = page.get_by_test_id("suggestion").filter(has_text="Congratulate them on the engagement").first
    expect(suggestion).to_be_visible()
    suggestion.get_by_role("button", name="Accept").click()
    expect(suggestion).to_contain_text("accepted")

    # The brief refreshes: the follow-up is there, with a "Write" beside it.
    expect(page.get_by_test_id("ask-about")).to_contain_text("Congratulate them on the engagement")
    row = page.get_by_test_id("outreach-brief").locator("div.d-flex", has_text=re.compile(r"^\s*Congratulate them"))
    write = row.first.get_by_test_id("write-about")
    expect(write).to_be_visible()
    screenshot("outreach-brief-write")
    write.click()
    expect(page.get_by_test_id("about")).to_contain_text("Congratulate them on the engagement")
    body = page.get_by_label("Message")
    expect(body).to_have_value(re.compile("Dear Anna,"))
    assert page.get_by_test_id("send").bounding_box()["height"] >= 44

    # Sending the template as it is asks for a change or a confirmation.
    page.get_by_test_id("send").click()
    expect(page.get_by_text("This is the template word for word")).to_be_visible()

    body.fill(
        "Dear Anna,\n\nTom is a lucky man! Congratulations to you both from all of us at Downtown. "
        "Come and tell us about the plans for June.\n\nFran"
    )
    page.get_by_test_id("preview-button").click()
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("Tom is a lucky man!")
    expect(page.get_by_test_id("preview-footer")).to_contain_text("Unsubscribe")
    screenshot("outreach-compose-preview")

    page.get_by_test_id("send").click()
    expect(page.get_by_text("Your email to Anna is on its way.")).to_be_visible()
    message = Message.objects.get(customer=customer)
    assert message.edited and message.source == "follow_up" and message.state == "queued"

    # The worker sends it; it is an email interaction on her timeline.
    assert services.message_deliver(message_id=message.pk) == "sent"
    page.reload()
    expect(page.get_by_test_id("outreach-brief")).to_contain_text("sent")
    expect(page.locator("body")).to_contain_text("Email: Congratulations, Anna!")
    screenshot("outreach-sent-on-timeline")


def test_todays_cards_print_one_per_page_and_marking_one_posted_puts_it_on_the_timeline(
    page, log_in, screenshot, frontline, customer
):
    from outreach.models import ContactPreference
    from tests.outreach.conftest import write

    Customer.objects.filter(pk=customer.pk).update(consent_mail_at=datetime.date(2026, 1, 5))
    ContactPreference.objects.create(customer=customer, postal_address="Anna Kowalski\n12 Harbour Street\nPortland")
    customer.refresh_from_db()
    write(
        customer,
        frontline,
        customer.home_location,
        channel="mail",
        body="Dear Anna,\n\nSo sorry to hear about the car. We hope this makes the week a little better.\n\nFran",
    )
    log_in(frontline)
    page.goto("/cards/")
    expect(page.get_by_test_id("card-row")).to_have_count(1)
    expect(page.get_by_test_id("card-row")).to_contain_text("12 Harbour Street")
    screenshot("outreach-cards-today")
    page.get_by_test_id("print-all").click()
    expect(page.get_by_test_id("card-sheet")).to_have_count(1)
    page.emulate_media(media="print")
    screenshot("outreach-card-print")
    page.emulate_media(media="screen")
    page.goto("/cards/")
    page.get_by_test_id("mark-posted").click()
    expect(page.get_by_text("Posted: the card to Anna is on their timeline.")).to_be_visible()
    expect(page.get_by_test_id("no-cards")).to_be_visible()
    page.goto(f"/customers/{customer.pk}/")
    expect(page.locator("body")).to_contain_text("Card in the post: Congratulations, Annie!")


def test_a_customer_unsubscribes_and_chooses_what_we_may_send_from_a_phone_without_logging_in(
    page, screenshot, frontline, customer
):
    from outreach import emails
    from tests.outreach.conftest import write

    Customer.objects.filter(pk=customer.pk).update(
        email="anna@example.com", consent_email_at=datetime.date(2026, 1, 5), consent_mail_at=datetime.date(2026, 1, 5)
    )
    customer.refresh_from_db()
    queued = write(customer, frontline, customer.home_location)
    page.goto(emails.unsubscribe_url(queued).removeprefix("http://127.0.0.1:8000"))
    screenshot("outreach-unsubscribe-confirm")
    page.get_by_test_id("confirm-unsubscribe").click()
    expect(page.get_by_test_id("unsubscribed")).to_be_visible()
    assert Message.objects.get(pk=queued.pk).state == "stopped"
    page.get_by_role("link", name="choose what we may send you").click()
    expect(page.get_by_label("Personal emails from us")).not_to_be_checked()
    expect(page.get_by_label("Cards and letters in the post")).to_be_checked()
    page.get_by_label("Offers (a discount or a gift now and then)").check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_test_id("preferences-saved")).to_be_visible()
    screenshot("outreach-preferences-saved")
    customer.refresh_from_db()
    assert customer.consent_email_at is None and customer.consent_mail_at is not None
    assert customer.reach.marketing_consent_at is not None
