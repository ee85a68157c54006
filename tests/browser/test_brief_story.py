"""The brief on a phone: a long note takes two lines until "more", a saved note shows at once, big touch targets."""

from playwright.sync_api import expect

from customers.services import note_create

LONG_NOTE = "Told us all about the family reunion in Lisbon. " * 100  # about 5,000 characters


def test_long_note_is_two_lines_with_more_and_a_new_note_appears_at_once(page, log_in, screenshot, frontline, customer):
    note_create(customer=customer, author=frontline, text=LONG_NOTE)
    log_in(frontline)
    page.goto(f"/customers/{customer.pk}/")
    note = page.get_by_test_id("brief-note").first
    text_height = note.locator("[data-clamp]").bounding_box()["height"]
    assert text_height < 60, text_height  # two lines of text, not 5,000 characters
    expect(note.get_by_role("button", name="more")).to_be_visible()
    # The brief, with everything frontline staff need, stays within the first two screens.
    assert page.get_by_test_id("brief").bounding_box()["height"] < 2 * 844
    add_links = page.locator("a.add-link")
    expect(add_links).to_have_count(2)  # a person or pet, a date
    for link in add_links.all():
        assert link.bounding_box()["height"] >= 44
    screenshot("brief-long-note")

    note.get_by_role("button", name="more").click()
    assert note.locator("[data-clamp]").bounding_box()["height"] > 300

    page.locator("#add-note").get_by_role("textbox", name="Personal note").fill(
        "Her daughter starts university in Leeds in September"
    )
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_test_id("recent-notes")).to_contain_text("starts university in Leeds")
