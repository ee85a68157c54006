"""The micro-CX story: a gesture within discretion, one for a manager, and the owner's spend report."""

import re
from decimal import Decimal

from playwright.sync_api import expect

from microcx.models import Gesture
from microcx.services import budget_create, ensure_default_rules


def test_frontline_spends_within_discretion_manager_approves_the_larger_gesture_owner_sees_both(
    page, log_in, screenshot, another_page, frontline, manager, owner, customer, location
):
    ensure_default_rules()
    budget_create(location=location, period="month", day=location.local_today(), amount=Decimal("200"), by=manager)

    # Frontline: a $20 gift card, within discretion, is approved at once and the balance drops.
    log_in(frontline)
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="Propose a gesture").click()
    expect(page.get_by_test_id("available")).to_have_text("$200.00")
    page.get_by_label("Category").select_option("gift_card")
    page.get_by_label("Description").fill("$20 gift card for Monday Night after her car was stolen")
    page.get_by_label("Amount").fill("20")
    page.get_by_test_id("propose").click()
    expect(page.get_by_test_id("status")).to_have_text("Approved")
    expect(page.get_by_text("$180.00").first).to_be_visible()
    screenshot("gesture-approved")

    # A $60 gift is above the frontline limit: the form says so as it is typed, and it waits for a manager.
    page.goto(f"/customers/{customer.pk}/gestures/new/")
    expect(page.get_by_test_id("discretion")).to_contain_text("you have $80.00 left of your $100.00 this month")
    page.get_by_label("Category").select_option("small_gift")
    page.get_by_label("Description").fill("A small framed print of the harbour she loves")
    page.get_by_label("Amount").fill("60")
    why = "Needs a manager: $60.00 is over your $25.00 per-gesture limit."
    expect(page.get_by_test_id("discretion-hint")).to_have_text(why)
    screenshot("gesture-needs-a-manager")
    page.get_by_test_id("propose").click()
    expect(page.get_by_test_id("status")).to_have_text("Waiting for a manager")
    # Kept for the manager who decides, so it names who proposed it.
    expect(page.get_by_test_id("approval-reason")).to_have_text(why.replace("your", f"{frontline}'s"))
    gesture_page = page.url

    # Back, then Propose again: the same gesture, and the page says it already exists.
    page.go_back()
    page.get_by_test_id("propose").click()
    expect(page.get_by_text("You already proposed this gesture with this form")).to_be_visible()
    assert page.url == gesture_page
    assert Gesture.objects.filter(description__contains="framed print").count() == 1

    # The manager approves it from the queue.
    manager_page = log_in(manager, on=another_page())
    manager_page.goto("/microcx/queue/")
    item = manager_page.get_by_test_id("queue-item").filter(has_text="framed print")
    expect(item).to_contain_text("$180.00 available")
    screenshot("gesture-queue", of=manager_page)
    item.get_by_role("button", name="Approve").click()
    expect(manager_page.get_by_text(re.compile("Approved small gift"))).to_be_visible()
    expect(manager_page.get_by_test_id("queue-item")).to_have_count(0)

    # The owner sees both in the spend report.
    owner_page = log_in(owner, on=another_page())
    owner_page.goto("/microcx/report/?group=category")
    report = owner_page.get_by_test_id("spend-report")
    expect(report).to_contain_text("Gift card")
    expect(report).to_contain_text("Small gift")
    expect(report).to_contain_text("$60.00")
    screenshot("spend-report", of=owner_page)
