"""An offer written with the message: on the compose page, in the email that goes, on the printed card."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.core import mail
from django.urls import reverse

from outreach import services, tracking
from outreach.models import ContactPreference, Message
from outreach.offers import Offer
from tests.outreach.conftest import compose_form

pytestmark = pytest.mark.postgres

OFFER = {"offer-include": "on", "offer-kind": "discount", "offer-description": "15% off your honeymoon booking"}


@pytest.fixture
def marketing(reachable):
    ContactPreference.objects.filter(customer=reachable).update(marketing_consent_at=datetime.date(2026, 1, 5))
    return reachable


def test_the_compose_page_offers_an_optional_offer(client, frontline, reachable):
    client.force_login(frontline)
    page = client.get(reverse("outreach-compose", args=[reachable.pk])).content.decode()
    assert 'name="offer-include"' in page and 'name="offer-description"' in page


def test_a_message_sent_with_an_offer_carries_its_code_in_both_parts_and_a_tracking_image(
    client, frontline, marketing, location, django_capture_on_commit_callbacks
):
    client.force_login(frontline)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("outreach-compose", args=[marketing.pk]), {**compose_form(marketing), **OFFER})
    assert response.status_code == 302
    message = Message.objects.get(customer=marketing)
    offer = Offer.objects.get(message=message)
    assert message.is_marketing and offer.description == "15% off your honeymoon booking"
    assert offer.expires_on == location.local_today() + datetime.timedelta(days=60)
    assert services.message_deliver(message_id=message.pk) == "sent"
    sent = mail.outbox[0]
    assert offer.code in sent.body and "15% off your honeymoon booking" in sent.body
    html = sent.alternatives[0][0]
    assert offer.code in html
    pixel = BeautifulSoup(html, "html.parser").find("img", width="1")
    assert pixel is not None and "/e/o/" in pixel["src"]
    # The customer opens it: counted once.
    token = pixel["src"].rsplit("/", 1)[1].removesuffix(".gif")
    client.logout()
    assert client.get(reverse("email-open", args=[token])).status_code == 200
    assert tracking.MessageTracking.objects.get(message=message).opened_at is not None


def test_an_offer_without_marketing_consent_is_refused_beside_it_and_nothing_is_written(client, frontline, reachable):
    client.force_login(frontline)
    response = client.post(reverse("outreach-compose", args=[reachable.pk]), {**compose_form(reachable), **OFFER})
    assert response.status_code == 200
    form = response.context["offer_form"]
    assert "has not agreed to marketing" in form.errors["include"][0]
    assert not Message.objects.exists() and not Offer.objects.exists()


def test_an_offer_needs_a_description(client, frontline, marketing):
    client.force_login(frontline)
    data = {**compose_form(marketing), **OFFER, "offer-description": "  "}
    response = client.post(reverse("outreach-compose", args=[marketing.pk]), data)
    assert response.status_code == 200
    assert response.context["offer_form"].errors["description"] == ["Say what the offer gives them."]
    assert not Message.objects.exists()


def test_a_message_without_the_box_ticked_goes_without_an_offer(client, frontline, marketing):
    client.force_login(frontline)
    data = {**compose_form(marketing), "offer-description": "Typed but not wanted"}
    assert client.post(reverse("outreach-compose", args=[marketing.pk]), data).status_code == 302
    message = Message.objects.get(customer=marketing)
    assert not message.is_marketing and not Offer.objects.exists()


def test_a_card_with_an_offer_prints_its_code(client, frontline, marketing):
    client.force_login(frontline)
    data = {**compose_form(marketing, channel="mail"), **OFFER}
    assert client.post(reverse("outreach-compose", args=[marketing.pk]), data).status_code == 302
    card = Message.objects.get(customer=marketing, channel="mail")
    page = client.get(reverse("outreach-card-print", args=[card.pk])).content.decode()
    assert card.offer.code in page and "15% off your honeymoon booking" in page
