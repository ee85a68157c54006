"""The dashboard's offer figures, counted by hand on a few customers: sent, redeemed, and who came back."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse

from crm.insights import loyalty
from journeys.models import Touchpoint
from journeys.services import interaction_record
from outreach.offers import Offer, offer_attach, offer_redeem
from tests.customers.factories import CustomerFactory
from tests.outreach.offer_helpers import message_for, sent_offer

pytestmark = pytest.mark.postgres
NY = zoneinfo.ZoneInfo("America/New_York")
START, END = datetime.date(2026, 5, 1), datetime.date(2026, 10, 31)


def at(y, m, d, hour=12):
    return datetime.datetime(y, m, d, hour, tzinfo=NY)


@pytest.fixture
def offers_world(time_at, location, other_location, frontline):
    time_at(at(2026, 4, 20))
    store = Touchpoint.objects.get(slug="in-store")
    people = {
        name: CustomerFactory(first_name=name, home_location=home)
        for name, home in [("Ann", location), ("Ben", location), ("Cal", location), ("Dee", other_location)]
    }

    def visit(name, when, kind="visit"):
        interaction_record(
            customer=people[name],
            touchpoint=store,
            location=people[name].home_location,
            staff=frontline,
            kind=kind,
            occurred_at=when,
        )

    def offer(name, sent):
        return sent_offer(people[name], sent_at=sent, expires_on=datetime.date(2026, 12, 31))

    # Ann: an offer on 1 June, used on 20 June (a purchase that day): redeemed and came back.
    ann = offer("Ann", at(2026, 6, 1))
    visit("Ann", at(2026, 6, 20), kind="purchase")
    # Ann again on 1 September: she is one customer who got offers, not two.
    offer("Ann", at(2026, 9, 1))
    # Ben: an offer on 1 July; his next visit is on 15 October, past the 90 days (29 September): not back.
    offer("Ben", at(2026, 7, 1))
    visit("Ben", at(2026, 10, 15))
    # Cal: an offer on 1 August; he came in on 20 July, before it: not back. Redeemed later though.
    cal = offer("Cal", at(2026, 8, 1))
    visit("Cal", at(2026, 7, 20))
    # Dee at the other shop: an offer on 10 May and a visit on 8 August (within 90 days): back.
    offer("Dee", at(2026, 5, 10))
    visit("Dee", at(2026, 8, 8))
    # Outside the range: an offer sent in March, and one written but never sent.
    offer("Ben", at(2026, 3, 1))
    offer_attach(message=message_for(people["Cal"]), kind="gift", description="A $20 gift card")
    time_at(at(2026, 11, 15))
    offer_redeem(offer=ann, via=Offer.Via.TILL, by=frontline, at=at(2026, 6, 20))
    offer_redeem(offer=cal, via=Offer.Via.TILL, by=frontline)
    return people


def test_offer_figures_match_the_hand_count(offers_world):
    figures = loyalty.offer_figures(loyalty.Filters(START, END))
    # Sent in the range: Ann x2, Ben, Cal, Dee = 5; redeemed: Ann's first and Cal's = 2 (40%).
    # Customers who got one: Ann, Ben, Cal, Dee = 4; back within 90 days: Ann and Dee = 2 (50%).
    assert figures == {
        "sent": 5,
        "redeemed": 2,
        "customers": 4,
        "returned": 2,
        "redeemed_rate": 40.0,
        "return_rate": 50.0,
    }


def test_offer_figures_for_one_location(offers_world, location, other_location):
    downtown = loyalty.offer_figures(loyalty.Filters(START, END, location))
    assert (downtown["sent"], downtown["customers"], downtown["returned"], downtown["return_rate"]) == (4, 3, 1, 33.3)
    riverside = loyalty.offer_figures(loyalty.Filters(START, END, other_location))
    assert (riverside["sent"], riverside["redeemed"], riverside["returned"]) == (1, 0, 1)


def test_no_offers_give_empty_rates_not_errors(db):
    figures = loyalty.offer_figures(loyalty.Filters(START, END))
    assert figures["sent"] == 0 and figures["return_rate"] is None and figures["redeemed_rate"] is None


def test_offer_figures_are_one_query(offers_world, django_assert_num_queries):
    with django_assert_num_queries(1):
        loyalty.offer_figures(loyalty.Filters(START, END, allowed=(1, 2)))


def test_the_dashboard_shows_the_offer_figures_and_the_customers_behind_them(
    offers_world, client, owner, django_assert_max_num_queries
):
    client.force_login(owner)
    params = {"from": START.isoformat(), "to": END.isoformat()}
    page = client.get(reverse("loyalty-dashboard"), params)
    assert page.context["f"]["offers"]["sent"] == 5
    html = page.content.decode()
    assert 'data-testid="offers-sent">5<' in html and 'data-testid="offers-redeemed">2<' in html
    assert 'data-testid="offers-return-rate">50.0%<' in html
    with django_assert_max_num_queries(16):  # read from the snapshot, as before
        client.get(reverse("loyalty-dashboard"), params)
    behind = client.get(reverse("loyalty-customers"), {"figure": "offer", **params})
    names = {c.first_name for c in behind.context["page"].object_list}
    assert names == {"Ann", "Ben", "Cal", "Dee"}
