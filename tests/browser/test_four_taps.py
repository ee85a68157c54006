"""At the counter on a phone: find the customer, write what she said and ask about it next time, in four taps.

A tap is a click, or typing into one field (tapping into it and typing count as one).
"""

import pytest
from playwright.sync_api import expect

from tests.customers.factories import CustomerFactory

TAP_BUDGET = 4


class Taps:
    """Counts what the person does; every interaction in the story goes through it."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, locator):
        self.count += 1
        locator.click()

    def type(self, locator, text):
        self.count += 1
        locator.press_sequentially(text)


@pytest.fixture
def taps(page):
    return Taps(page)


def test_lookup_note_and_follow_up_take_four_taps_on_a_phone(page, log_in, screenshot, taps, frontline, location):
    CustomerFactory(first_name="Anna", last_name="Kowalski", home_location=location)
    CustomerFactory(first_name="Annabel", last_name="Price", home_location=location)
    log_in(frontline)  # the shift starts logged in; not counted

    taps.type(page.get_by_placeholder("Find a customer"), "kowalsk")
    first_result = page.locator("#home-results a").first
    expect(first_result).to_contain_text("Anna Kowalski")
    screenshot("home-live-search")
    taps.click(first_result)
    expect(page.get_by_test_id("greeting-name")).to_have_text("Anna")

    taps.type(page.locator("#add-note").get_by_role("textbox", name="Personal note"), "Her dog Rex is sick")
    taps.click(page.get_by_test_id("save-ask-next-visit"))
    expect(page.get_by_test_id("note-saved")).to_contain_text("Next visit: Ask how Rex is feeling")
    # The brief refreshes by itself: the question is waiting for her next visit, and the note is in it.
    expect(page.get_by_test_id("ask-about")).to_contain_text("Ask how Rex is feeling")
    expect(page.get_by_test_id("recent-notes")).to_contain_text("Her dog Rex is sick")

    assert taps.count <= TAP_BUDGET, f"{taps.count} taps"
