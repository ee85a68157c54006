"""The demo's frontline user finds today's birthdays and follow-ups in the inbox."""

import re

from django.core.management import call_command
from playwright.sync_api import expect

from crm.kernel.models import User


def test_frontline_sees_todays_birthdays_and_follow_ups_in_the_inbox(page, log_in, screenshot):
    call_command("seed_demo")  # raises today's reminders, as `make run` does
    log_in(User.objects.get(username="frontline"), password="microcx-demo")
    expect(page.get_by_test_id("home-inbox")).to_contain_text("turns")
    page.get_by_role("button", name="Menu").click()
    badge = page.get_by_test_id("inbox-badge")
    count = int(badge.inner_text())
    page.locator("#mainnav").get_by_role("link", name=re.compile("Inbox")).click()
    inbox = page.get_by_test_id("inbox")
    expect(inbox).to_contain_text("Ask how Rex is feeling (Anna)")
    expect(inbox.get_by_text(re.compile(r"turns \d+ today")).first).to_be_visible()
    screenshot("inbox-frontline")
    rex = page.get_by_test_id("notification").filter(has_text="Ask how Rex is feeling")
    rex.get_by_role("button", name="Done").click()
    expect(rex.get_by_role("button", name="Undo")).to_be_visible()
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_test_id("inbox-badge")).to_have_text(str(count - 1))
