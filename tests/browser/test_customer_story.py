"""The frontline story: find a customer, log a visit with a note, accept the follow-up, ask about Rex next time."""

import re

from playwright.sync_api import expect


def test_frontline_finds_customer_logs_visit_accepts_follow_up_and_marks_it_done(
    page, log_in, screenshot, frontline, customer
):
    log_in(frontline)
    # Find her by a misspelt name, from the home page search box.
    page.get_by_placeholder("Find a customer").fill("ana kowalsky")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name=re.compile("Anna Kowalski")).click()
    expect(page.get_by_test_id("greeting-name")).to_have_text("Anna")

    # Log a visit with the note; the suggestions appear in place.
    log_form = page.get_by_test_id("log-form")
    log_form.get_by_label("Visit").check()
    log_form.get_by_label("Personal note (optional)").fill("Her dog Rex is sick, vet on Tuesday")
    log_form.get_by_role("button", name="Log it").click()
    suggestion = page.get_by_test_id("suggestion").filter(has_text="Ask how Rex is feeling")
    expect(suggestion).to_be_visible()
    screenshot("customer-suggestions")
    suggestion.get_by_role("button", name="Accept").click()
    expect(suggestion).to_contain_text("accepted")
    # The brief refreshes by itself: Rex's follow-up is now in "Ask about".
    expect(page.get_by_test_id("ask-about")).to_contain_text("Ask how Rex is feeling")

    # Checking her in now is the same visit just logged (within 10 minutes, same shop): nothing is
    # counted twice, and the button says when she came in. "Ask about Rex" is on the brief and the home page.
    page.get_by_test_id("check-in").click()
    expect(page.get_by_text("Anna was already checked in at Downtown at")).to_be_visible()
    expect(page.get_by_test_id("check-in")).to_contain_text("Checked in")
    expect(page.get_by_test_id("ask-about")).to_contain_text("Ask how Rex is feeling")
    screenshot("customer-brief")
    page.goto("/")
    expect(page.get_by_test_id("seen-today")).to_contain_text("Ask how Rex is feeling")
    screenshot("home-frontline-ask-about")

    # Mark it done, with how it went.
    page.get_by_test_id("seen-today").get_by_role("link", name="Done").click()
    page.get_by_label("How did it go?").fill("Rex is on the mend")
    page.get_by_role("button", name="Mark done").click()
    expect(page.get_by_test_id("seen-today")).not_to_contain_text("Ask how Rex is feeling")
    [rex] = [f for f in customer.follow_ups.all() if f.prompt == "Ask how Rex is feeling"]  # encrypted: compared here
    assert rex.status == "done"
    assert "Rex is on the mend" in [note.text for note in customer.notes.all()]  # encrypted: no SQL filter


def test_a_note_about_a_stolen_car_opens_a_prefilled_gesture_form(page, log_in, screenshot, frontline, customer):
    log_in(frontline)
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_label("Personal note").first.fill("Her car was stolen last night, she was shaken")
    page.get_by_role("button", name="Save note").click()
    idea = page.get_by_test_id("suggestion").filter(has_text="Gesture idea")
    expect(idea).to_contain_text("A small gift card after the theft")
    idea.get_by_role("button", name="Propose it").click()

    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/gestures/new/\?"))
    expect(page.get_by_label("Category")).to_have_value("gift_card")
    expect(page.get_by_label("Amount")).to_have_value("20.00")
    expect(page.get_by_label("Description")).to_have_value("A small gift card after the theft, to cheer them up")
    expect(page.get_by_label("Inspired by")).to_have_value(re.compile(r"^note:\d+$"))
    screenshot("gesture-form-from-note")
