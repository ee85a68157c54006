"""An owner opens the loyalty dashboard of the demo business, and follows a figure to its customers;
on a phone (390 x 844) the week reads in one line, the cohorts fit without a sideways scroll, the lists
to act on say who and why, and a reversed range is answered with a message."""

import re

from django.core.management import call_command
from playwright.sync_api import expect

from crm.kernel.models import User


def test_owner_reads_a_dashboard_that_tells_a_story(page, log_in, screenshot):
    call_command("seed_demo")
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(User.objects.get(username="owner"), password="microcx-demo")
    page.locator("#mainnav").get_by_role("link", name="Loyalty").click()
    expect(page.get_by_test_id("as-of")).to_contain_text("as of")
    active = page.get_by_test_id("active")
    expect(active).to_have_text(re.compile(r"^\d+$"))
    count = int(active.inner_text())
    assert count > 20
    expect(page.get_by_test_id("repeat-rate")).to_have_text(re.compile(r"%$"))
    expect(page.get_by_test_id("cohorts")).to_contain_text("First visit")
    expect(page.get_by_test_id("list-drifting")).to_contain_text(re.compile(r"usually every (day|\d+ days)"))
    expect(page.get_by_test_id("list-drifting")).not_to_contain_text("None")
    expect(page.locator("canvas#monthly")).to_be_visible()
    screenshot("loyalty-dashboard")
    active.click()
    expect(page.get_by_test_id("figure-customers").get_by_role("link")).to_have_count(count)


def test_owner_reads_the_dashboard_on_a_phone(page, log_in, screenshot):
    call_command("seed_demo")
    log_in(User.objects.get(username="owner"), password="microcx-demo")  # the page is 390 x 844
    page.goto("/dashboard/")
    week = page.get_by_test_id("week-line")
    expect(week).to_contain_text(re.compile(r"\d+ regulars? drifting: \S+"))
    expect(week).to_contain_text("follow-ups overdue")
    expect(week).to_contain_text(re.compile(r"gestures \w+ \d{4} \$[\d,.]+ of \$[\d,.]+"))
    assert week.bounding_box()["y"] < 400  # at the top, above the fold

    # the cohort table is stacked: nothing wider than its card, so no sideways scroll inside it
    cohorts = page.get_by_test_id("cohorts")
    expect(cohorts).to_contain_text("+1")
    assert page.evaluate(
        """() => {
            const wrap = document.querySelector('.cohort-wrap');
            return wrap.scrollWidth <= wrap.clientWidth + 1 && document.documentElement.scrollWidth <= 391;
        }"""
    )

    for key in ("drifting", "at_risk", "win_back", "never_back"):
        expect(page.get_by_test_id(f"list-{key}")).to_be_visible()
    expect(page.get_by_test_id("win-back-rule")).to_contain_text("At least 3 visit days from")
    first = page.get_by_test_id("list-drifting").locator("li").first
    expect(first.get_by_role("link", name=re.compile("A gesture for"))).to_be_visible()
    screenshot("loyalty-dashboard-phone")

    # a reversed range: a message beside the field, nothing silently swapped
    page.get_by_label("From", exact=True).fill("2026-06-30")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("to-error")).to_contain_text("before it starts")
    expect(page.get_by_test_id("range-problem")).to_be_visible()
    expect(page.get_by_test_id("week-line")).to_have_count(0)
    screenshot("loyalty-dashboard-reversed-range")


def test_owner_reads_whether_gestures_helped_and_how_it_is_worked_out_on_a_phone(page, log_in, settings):
    from crm.insights import loyalty
    from crm.kernel.models import Snapshot

    settings.HOLD_OUT_PERCENT = 10
    call_command("seed_demo")  # works the comparison out once; forget it, as before a live shop's first run
    Snapshot.objects.filter(key=loyalty.IMPACT_KEY).delete()
    log_in(User.objects.get(username="owner"), password="microcx-demo")  # the page is 390 x 844
    page.goto("/dashboard/")
    card = page.get_by_test_id("impact")
    expect(card).to_contain_text("Not worked out yet")  # the page never computes it
    loyalty.refresh_impact()  # what the Celery task does every 15 minutes
    page.reload()
    expect(card).to_contain_text("Recovery gestures (after a bad experience)")
    expect(card).to_contain_text("Delight gestures")
    # a demo shop has a handful of gestures: no number that would mostly be chance
    expect(card).to_contain_text("Not enough data yet")
    expect(card).to_contain_text("from 20 on each side")
    expect(page.get_by_test_id("hold-out-rule")).to_contain_text("leave out 10 % of customers")
    page.get_by_text("How this is worked out").click()
    expect(page.get_by_test_id("impact-method")).to_contain_text("95 % interval")
    assert page.evaluate("() => document.documentElement.scrollWidth <= 391")
    from tests.browser.conftest import SCREENSHOTS

    page.evaluate(
        "() => { for (const el of document.querySelectorAll('.sticky-top, .fixed-top')) el.style.position = 'static'; }"
    )
    card.screenshot(path=str(SCREENSHOTS / "loyalty-impact-phone.png"))  # the card, not the whole long page
