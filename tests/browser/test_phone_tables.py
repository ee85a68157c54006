"""On a 390 px phone, every wide table reads as a list of cards: nothing is cut off or needs sideways scrolling."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from customers.models import Tag
from journeys.models import JourneyStep, Persona, Touchpoint
from microcx.services import budget_create, gesture_approve
from tests.customers.factories import CustomerFactory
from tests.microcx.factories import propose_gesture

PHONE_WIDTH = 390

# How wide the page and its widest table are; a table cut inside a scrolling card counts as too wide.
MEASURE = """() => {
  const tables = Array.from(document.querySelectorAll('table'));
  return {
    page: document.documentElement.scrollWidth,
    tables: tables.map(t => Math.ceil(t.getBoundingClientRect().width)),
    labelled: tables.every(t => !t.classList.contains('table-stack')
      || Array.from(t.querySelectorAll('tbody td')).every(td => td.hasAttribute('data-label'))),
  };
}"""


@pytest.fixture
def shop(location, owner, manager, frontline):
    budget = budget_create(
        location=location, period="month", day=location.local_today(), amount=Decimal("400"), by=None
    )
    customer = CustomerFactory(first_name="Grace", last_name="Okonkwo-Whitfield", home_location=location)
    gesture = propose_gesture(customer=customer, proposer=frontline, location=location, amount="80")
    gesture_approve(gesture=gesture, by=manager)
    persona = Persona.objects.create(name="Busy parent", summary="Comes in with the children on Saturdays")
    for stage, slug in (("before", "search"), ("during", "in-store"), ("after", "email")):
        JourneyStep.objects.create(
            persona=persona,
            stage=stage,
            touchpoint=Touchpoint.objects.get(slug=slug),
            customer_goal="Find frames that survive a toddler without a second trip",
            pain_points="Waiting while the children are restless",
            moment_that_matters="The fitting takes less than ten minutes",
            improvement_idea="Offer a play corner and a text when the glasses are ready",
        )
    Tag.objects.get_or_create(name="school-run")
    return {"budget": budget, "persona": persona}


def test_wide_tables_stack_into_cards_on_a_phone(page, log_in, screenshot, owner, shop):
    log_in(owner)
    pages = {
        "journey-map": f"/journeys/personas/{shop['persona'].pk}/",
        "touchpoints": "/journeys/touchpoints/",
        "budgets": "/microcx/budgets/",
        "budget": f"/microcx/budgets/{shop['budget'].pk}/",
        "spend-report": "/microcx/report/",
        "locations": "/locations/",
        "operations": "/operations/",
        "tags": "/customers/tags/",
        "staff": "/staff/",
    }
    for name, url in pages.items():
        page.goto(url)
        measured = page.evaluate(MEASURE)
        assert measured["page"] <= PHONE_WIDTH, (name, measured)
        assert all(width <= PHONE_WIDTH for width in measured["tables"]), (name, measured)
        assert measured["labelled"], name
        if name in ("journey-map", "spend-report", "staff"):
            screenshot(f"phone-{name}")
    # The stacked journey map still says which stage each designed step belongs to.
    page.goto(pages["journey-map"])
    label = page.evaluate(
        "() => getComputedStyle(document.querySelector('.journey-map td:not(.cell-empty)'), '::before').content"
    )
    assert label.strip('"') in {"Before the sale", "During the sale", "After the sale"}


def test_manager_sees_waiting_approvals_on_today_on_a_phone(
    page, log_in, screenshot, manager, shop, frontline, location
):
    for name in ("Dina", "Omar"):
        customer = CustomerFactory(first_name=name, home_location=location)
        propose_gesture(customer=customer, proposer=frontline, location=location, amount="70", description="Flowers")
    log_in(manager)
    card = page.get_by_test_id("approvals-waiting")
    expect(card).to_contain_text("2 gestures waiting for approval")
    expect(card).to_contain_text("per-gesture limit")
    expect(page.get_by_test_id("nav-count-microcx")).to_have_count(1)
    screenshot("home-manager-approvals")
    card.get_by_role("link", name="Review").click()
    expect(page.get_by_test_id("queue-item")).to_have_count(2)
