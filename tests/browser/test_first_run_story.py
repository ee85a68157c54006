"""A fresh install in the browser: the first visitor sets the business up on /setup/ and lands on Today."""

from playwright.sync_api import expect

from crm.kernel import business, roles
from crm.kernel.models import Location, User

PASSWORD = "a long walk by the river"


def test_a_fresh_install_is_set_up_on_the_first_run_page_and_opens_on_today(page, screenshot, db):
    assert not roles.owner_exists()
    page.goto("/")
    page.wait_for_url("**/accounts/login/**")
    page.get_by_test_id("first-run-offer").get_by_role("link").click()
    page.wait_for_url("**/setup/")
    page.get_by_label("Business name").fill("Lumen Eyewear")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Time zone").select_option("Europe/Dublin")
    page.get_by_label("First location").fill("Grafton Street")
    page.get_by_label("Your first name").fill("Aoife")
    page.get_by_label("Your last name").fill("Byrne")
    page.get_by_label("Your email").fill("aoife@lumen.example")
    page.get_by_label("User name").fill("aoife")
    page.locator("#id_password").fill("short")
    page.get_by_label("Password again").fill("short")
    page.get_by_role("button", name="Set up and log in").click()
    expect(page.locator("#error_1_id_password")).to_contain_text("too short")
    assert not User.objects.exists()
    screenshot("first-run")

    page.locator("#id_password").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Set up and log in").click()
    page.wait_for_url(lambda url: url.endswith("/") and "setup" not in url)
    expect(page.get_by_text("Welcome, Aoife. Lumen Eyewear is set up.")).to_be_visible()
    expect(page.locator(".navbar-brand")).to_contain_text("Lumen Eyewear")
    screenshot("first-run-today")

    owner = User.objects.get(username="aoife")
    assert roles.role_of(owner) == roles.OWNER
    assert Location.objects.get().timezone == "Europe/Dublin"
    assert business.current().currency == "EUR"

    # The new owner finds the business's details under their menu and changes the currency.
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Business").click()
    page.wait_for_url("**/business/")
    page.get_by_label("Currency").select_option("GBP")
    page.get_by_role("button", name="Save business settings").click()
    expect(page.get_by_text("Business settings saved.")).to_be_visible()
    assert business.current().currency == "GBP"
    screenshot("business-settings")

    # The page is gone now that an owner exists, even for someone else's browser.
    response = page.request.get("/setup/")
    assert response.status == 404
