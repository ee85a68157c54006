"""At the till on a phone: the customer shows the code from her email, staff check her in and redeem it once."""

import datetime

from django.utils import timezone

from journeys.models import Interaction, Touchpoint, TouchpointMetric
from outreach import tracking
from outreach.offers import Offer
from tests.browser.conftest import SCREENSHOTS
from tests.outreach.offer_helpers import consenting, mark_sent, message_for, sent_offer


def test_staff_check_in_and_redeem_a_code_then_a_second_use_is_refused(page, log_in, frontline, customer):
    offer = sent_offer(customer, description="15% off your honeymoon booking")
    log_in(frontline)
    page.goto(f"/customers/{customer.pk}/")
    card = page.get_by_test_id("customer-offers")
    card.scroll_into_view_if_needed()
    assert offer.code in card.inner_text()
    card.screenshot(path=str(SCREENSHOTS / "offer-on-customer-page.png"))
    card.get_by_role("button", name="Check in & redeem").first.click()
    page.wait_for_url(f"**/customers/{customer.pk}/#offers")
    assert "code " + offer.code + " redeemed" in page.content()
    visit = Interaction.objects.get(customer=customer, kind="visit")
    assert Offer.objects.get(pk=offer.pk).redeemed_interaction == visit

    # Later, someone tries the same code on the search page.
    page.goto("/offers/")
    page.get_by_label("Offer code").fill(offer.code.lower().replace("-", " "))
    page.get_by_role("button", name="Find the offer").click()
    refusal = page.get_by_test_id("offer-refusal")
    assert "already redeemed" in refusal.inner_text() and "it can be used once" in refusal.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "offer-search-already-redeemed.png"), full_page=True)

    page.get_by_label("Offer code").fill("ABCDE-FGHJK")
    page.get_by_role("button", name="Find the offer").click()
    assert "No offer has the code ABCDE-FGHJK" in page.content()


def test_the_email_touchpoint_shows_measured_rates_beside_typed_ones(page, log_in, manager, customer):
    month = timezone.localdate().replace(day=1)
    for opened in (True, True, False):
        message = message_for(consenting(customer))
        tracking.instrument(message, '<p><a href="https://example.com/trips">Trips</a></p>')
        mark_sent(message)
        if opened:
            tracking.open_record(message_id=message.pk)
    email = Touchpoint.objects.get(slug="email")
    TouchpointMetric.objects.create(touchpoint=email, month=month, name="email_open_rate", value="58.00")
    TouchpointMetric.objects.create(
        touchpoint=email, month=(month - datetime.timedelta(days=1)).replace(day=1), name="email_open_rate", value="52"
    )
    log_in(manager)
    page.goto(f"/journeys/touchpoints/{email.pk}/")
    table = page.locator("#measured-figures")
    table.scroll_into_view_if_needed()
    assert "66.7" in table.inner_text() and "58.0" in table.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "email-touchpoint-measured-rates.png"), full_page=True)


def test_frontline_writes_a_thank_you_with_a_gift_offer_and_the_email_carries_its_code(
    page, log_in, frontline, customer, monkeypatch
):
    from django.core import mail

    from outreach import services
    from outreach.models import Message

    monkeypatch.setattr(services, "enqueue", lambda message_id: None)  # the worker's part is run by hand
    consenting(customer)
    log_in(frontline)
    page.goto(f"/customers/{customer.pk}/write/?occasion=thank_you")
    page.get_by_label("Message").fill(
        "Dear Anna,\n\nThank you for sending your sister to us. A small thank you.\n\nFran"
    )
    offer = page.get_by_test_id("compose-offer")
    offer.get_by_label("Add an offer").check()
    offer.get_by_label("Kind of offer").select_option("gift")
    offer.get_by_label("What they get").fill("A $20 gift card for your next visit")
    offer.screenshot(path=str(SCREENSHOTS / "offer-compose.png"))
    page.get_by_test_id("send").click()
    page.wait_for_url(f"**/customers/{customer.pk}/")
    message = Message.objects.get(customer=customer)
    assert services.message_deliver(message_id=message.pk) == "sent"
    assert message.offer.code in mail.outbox[0].body
    assert "A $20 gift card for your next visit" in mail.outbox[0].alternatives[0][0]
