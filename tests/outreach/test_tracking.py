"""Open and click tracking: a tracking image and signed links, counted once each, rolled up by month."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.core import signing
from django.urls import reverse

from crm.kernel import business
from crm.kernel.models import BusinessSettings
from journeys import selectors as journey_selectors
from journeys.models import Touchpoint, TouchpointMetric
from outreach import tracking
from outreach.models import Message
from outreach.tracking import MessageTracking
from tests.outreach.offer_helpers import consenting, mark_sent, message_for

pytestmark = pytest.mark.postgres

HTML = """<html><body><p>Dear Anna, see
<a href="https://travel.example.com/honeymoon?from=email">our honeymoon trips</a> and
<a href="https://travel.example.com/honeymoon?from=email">again</a>, or
<a href="https://maps.example.org/shop">find us</a>. <a href="mailto:hello@example.com">Write back</a>.</p>
<p class="footer"><a href="{site}/u/some-token/">Unsubscribe</a></p></body></html>"""


def _html() -> str:
    return HTML.format(site=settings.SITE_URL)


def _switch_tracking_off() -> None:
    BusinessSettings.objects.filter(pk=1).update(track_email=False)
    business.forget()


@pytest.fixture
def email(customer):
    return message_for(consenting(customer))


def _tokens(html: str) -> tuple[str, list[str]]:
    """The open token of the image and the click tokens of the links, from an instrumented body."""
    soup = BeautifulSoup(html, "html.parser")
    pixel = soup.find("img", width="1")["src"]
    opened = pixel.rsplit("/", 1)[1].removesuffix(".gif")
    clicks = [a["href"].rstrip("/").rsplit("/", 1)[1] for a in soup.find_all("a") if "/e/c/" in a["href"]]
    return opened, clicks


def test_instrument_adds_an_image_and_signs_only_the_web_links_to_elsewhere(email):
    html = tracking.instrument(email, _html())
    soup = BeautifulSoup(html, "html.parser")
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs[0] == hrefs[1]  # the same URL twice is one link
    assert all(href.startswith(settings.SITE_URL + "/e/c/") for href in hrefs[:3])
    assert hrefs[3] == "mailto:hello@example.com"
    assert hrefs[4] == settings.SITE_URL + "/u/some-token/"  # our own unsubscribe link stays as it is
    pixel = soup.body.find_all("img")[-1]
    assert (pixel["width"], pixel["height"], pixel["alt"]) == ("1", "1", "")
    assert pixel["src"].startswith(settings.SITE_URL + "/e/o/")
    assert MessageTracking.objects.get(message=email).links == [
        "https://travel.example.com/honeymoon?from=email",
        "https://maps.example.org/shop",
    ]
    assert "honeymoon trips" in soup.get_text()


def test_instrumenting_again_for_a_retried_send_gives_the_same_body(email):
    assert tracking.instrument(email, _html()) == tracking.instrument(email, _html())
    assert MessageTracking.objects.count() == 1


def test_with_tracking_switched_off_the_body_goes_as_written(email):
    _switch_tracking_off()
    assert tracking.instrument(email, _html()) == _html()
    assert not MessageTracking.objects.exists()


def test_an_unsaved_message_is_not_instrumented(customer):
    assert tracking.instrument(Message(customer=customer), _html()) == _html()


def test_the_first_open_counts_and_later_ones_do_not_without_a_login(client, email, time_at):
    opened, _ = _tokens(tracking.instrument(email, _html()))
    mark_sent(email)
    first = client.get(reverse("email-open", args=[opened]))
    assert first.status_code == 200 and first["Content-Type"] == "image/gif"
    assert first.content == tracking.PIXEL and first.content.startswith(b"GIF89a")
    assert "no-cache" in first["Cache-Control"]
    at = MessageTracking.objects.get(message=email).opened_at
    assert at is not None
    assert client.get(reverse("email-open", args=[opened])).status_code == 200
    assert MessageTracking.objects.get(message=email).opened_at == at


def test_an_open_before_the_message_went_is_not_counted(client, email):
    opened, _ = _tokens(tracking.instrument(email, _html()))
    assert client.get(reverse("email-open", args=[opened])).status_code == 200
    assert MessageTracking.objects.get(message=email).opened_at is None


def test_an_open_with_tracking_switched_off_is_not_counted(client, email):
    opened, _ = _tokens(tracking.instrument(email, _html()))
    mark_sent(email)
    _switch_tracking_off()
    assert client.get(reverse("email-open", args=[opened])).status_code == 200
    assert MessageTracking.objects.get(message=email).opened_at is None


def test_a_click_goes_where_the_email_pointed_and_counts_once_as_a_click_and_an_open(client, email):
    _, clicks = _tokens(tracking.instrument(email, _html()))
    mark_sent(email)
    response = client.get(reverse("email-click", args=[clicks[2]]))
    assert response.status_code == 302 and response.url == "https://maps.example.org/shop"
    row = MessageTracking.objects.get(message=email)
    assert row.clicked_at is not None and row.opened_at == row.clicked_at
    again = client.get(reverse("email-click", args=[clicks[0]]))
    assert again.url == "https://travel.example.com/honeymoon?from=email"
    assert MessageTracking.objects.get(message=email).clicked_at == row.clicked_at


@pytest.mark.parametrize(
    "token",
    [
        "1:forged",
        "not-a-token",
        "%00",
        "12.0",
        signing.Signer(salt="another.salt").sign("1.0"),
    ],
)
def test_a_bad_signature_is_a_404_never_a_500(client, email, token):
    tracking.instrument(email, _html())
    mark_sent(email)
    assert client.get(f"/e/c/{token}/").status_code == 404
    assert client.get(f"/e/o/{token}.gif").status_code == 404
    assert MessageTracking.objects.filter(opened_at__isnull=False).count() == 0


def test_the_redirect_refuses_a_link_the_message_did_not_have(client, email):
    tracking.instrument(email, _html())
    mark_sent(email)
    # Well signed, but the message had two links: there is no third to go to.
    assert client.get(reverse("email-click", args=[tracking.click_token(email.pk, 2)])).status_code == 404
    # An open token is not a click token.
    assert client.get(reverse("email-click", args=[tracking.open_token(email.pk)])).status_code == 404
    # A message that was never instrumented has no links at all.
    other = message_for(email.customer)
    mark_sent(other)
    assert client.get(reverse("email-click", args=[tracking.click_token(other.pk, 0)])).status_code == 404
    assert MessageTracking.objects.get(message=email).clicked_at is None


def test_a_link_kept_from_before_is_not_followed_unless_it_is_to_the_web(client, email):
    MessageTracking.objects.create(message=email, links=["javascript:alert(1)", "//evil.example.com"])
    mark_sent(email)
    assert client.get(reverse("email-click", args=[tracking.click_token(email.pk, 0)])).status_code == 404
    assert client.get(reverse("email-click", args=[tracking.click_token(email.pk, 1)])).status_code == 404


def _sent_tracked(customer, at: datetime.datetime, *, opened: bool = False, clicked: bool = False) -> Message:
    message = message_for(customer)
    tracking.instrument(message, _html())
    mark_sent(message, at)
    if opened:
        tracking.open_record(message_id=message.pk)
    if clicked:
        tracking.click_record(message_id=message.pk, index=0)
    return message


def test_opens_and_clicks_roll_up_into_the_email_touchpoints_monthly_rates(customer, time_at):
    tz = datetime.UTC
    time_at(datetime.datetime(2026, 11, 20, 15, 0, tzinfo=tz))
    customer = consenting(customer)
    # November: three emails, two opened (one by its click), one clicked.
    _sent_tracked(customer, datetime.datetime(2026, 11, 2, 15, 0, tzinfo=tz), opened=True)
    _sent_tracked(customer, datetime.datetime(2026, 11, 5, 15, 0, tzinfo=tz), clicked=True)
    _sent_tracked(customer, datetime.datetime(2026, 11, 9, 15, 0, tzinfo=tz))
    # October: one email, opened twice (counted once).
    october = _sent_tracked(customer, datetime.datetime(2026, 10, 12, 15, 0, tzinfo=tz), opened=True)
    tracking.open_record(message_id=october.pk)
    # Not counted: a queued email, an untracked one.
    message_for(customer)
    mark_sent(message_for(customer), datetime.datetime(2026, 11, 3, 15, 0, tzinfo=tz))
    assert tracking.monthly(datetime.date(2026, 1, 1)) == {
        datetime.date(2026, 10, 1): {"sent": 1, "opened": 1, "clicked": 0},
        datetime.date(2026, 11, 1): {"sent": 3, "opened": 2, "clicked": 1},
    }
    email = Touchpoint.objects.get(slug="email")
    trend = journey_selectors.touchpoint_trend(email, today=datetime.date(2026, 11, 20))
    assert trend["metrics"][tracking.OPEN_RATE][-2:] == [100.0, 66.7]
    assert trend["metrics"][tracking.CLICK_RATE][-2:] == [0.0, 33.3]
    assert trend["metrics"][tracking.OPEN_RATE][0] is None
    # Another touchpoint has no measured email figures.
    assert (
        tracking.OPEN_RATE not in journey_selectors.touchpoint_trend(Touchpoint.objects.get(slug="in-store"))["metrics"]
    )


def test_the_touchpoint_page_shows_the_measured_rates_beside_the_typed_ones(
    client, manager, customer, time_at, django_assert_max_num_queries
):
    tz = datetime.UTC
    time_at(datetime.datetime(2026, 11, 20, 15, 0, tzinfo=tz))
    customer = consenting(customer)
    _sent_tracked(customer, datetime.datetime(2026, 11, 2, 15, 0, tzinfo=tz), opened=True)
    _sent_tracked(customer, datetime.datetime(2026, 11, 5, 15, 0, tzinfo=tz))
    email = Touchpoint.objects.get(slug="email")
    TouchpointMetric.objects.create(
        touchpoint=email, month=datetime.date(2026, 11, 1), name="email_open_rate", value="41.50"
    )
    client.force_login(manager)
    with django_assert_max_num_queries(16):
        page = client.get(reverse("touchpoint-detail", args=[email.pk]))
    soup = BeautifulSoup(page.content, "html.parser")
    table = soup.find(id="measured-figures")
    assert [th.get_text() for th in table.thead.find_all("th")] == [
        "Month",
        "Email open rate (%)",
        tracking.OPEN_RATE,
        tracking.CLICK_RATE,
    ]
    assert [cell.get_text() for cell in table.tbody.tr.find_all(["th", "td"])] == ["Nov 2026", "41.5", "50.0", "0.0"]


def test_an_owner_switches_tracking_off_on_the_business_page(client, owner, email):
    client.force_login(owner)
    page = client.get(reverse("business-settings")).content.decode()
    assert "Count email opens and clicks" in page
    row = BusinessSettings.current()
    response = client.post(
        reverse("business-settings"), {"name": row.name, "currency": row.currency, "timezone": row.timezone}
    )
    assert response.status_code == 302
    assert business.current().track_email is False
    assert tracking.instrument(email, _html()) == _html()
