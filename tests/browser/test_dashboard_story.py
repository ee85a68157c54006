"""An owner opens the loyalty dashboard of the demo business, and follows a figure to its customers."""

import re

from django.core.management import call_command
from playwright.sync_api import expect

from crm.models import User


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
    expect(page.get_by_test_id("drifting")).to_contain_text("usually every")
    expect(page.locator("canvas#monthly")).to_be_visible()
    screenshot("loyalty-dashboard")
    active.click()
    expect(page.get_by_test_id("figure-customers").get_by_role("link")).to_have_count(count)
