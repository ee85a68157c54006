"""Security stories in the browser: two-factor for an owner, a locked-out login, a customer's data."""

import datetime

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from crm.kernel.models import SecurityPolicy
from tests.crm.factories import TEST_PASSWORD


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = datetime.datetime.now(datetime.UTC).timestamp()
    return f"{generator.token():0{device.digits}d}"


def test_owner_turns_on_two_factor_requires_it_and_logs_in_with_a_code(page, log_in, screenshot, owner):
    log_in(owner)
    page.goto("/accounts/profile/")
    page.get_by_test_id("two-factor-link").click()
    expect(page.get_by_test_id("two-factor-qr").locator("svg")).to_be_visible()
    screenshot("two-factor-setup")
    device = TOTPDevice.objects.get(user=owner)
    page.get_by_label("Code from your authenticator app").fill(current_code(device))
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(page.get_by_text("Two-factor is on.")).to_be_visible()

    page.goto("/security/")
    page.get_by_label("Owners must use two-factor").check()
    page.get_by_label("Remove personal notes after (years)").fill("7")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("Security policy saved.")).to_be_visible()
    policy = SecurityPolicy.current()
    assert policy.require_owner_two_factor and policy.note_retention_years == 7
    screenshot("security-page")

    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(owner.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    screenshot("two-factor-code")
    # A code works once; as if the app had moved to its next 30-second code since the set-up.
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    page.get_by_label("Code from your authenticator app").fill(current_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("home-title")).to_have_text("Today")


def test_a_login_locked_after_wrong_passwords_is_unlocked_by_an_owner(
    page, another_page, log_in, screenshot, frontline, owner
):
    page.goto("/accounts/login/")
    for _ in range(5):
        page.get_by_label("Username").fill(frontline.username)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Too many failed logins")).to_be_visible()
    screenshot("login-locked")

    owners = another_page()
    log_in(owner, on=owners)
    owners.goto("/security/")
    row = owners.get_by_role("listitem").filter(has_text=frontline.username)
    row.get_by_role("button", name="Unlock").click()
    expect(owners.get_by_text("can try again now")).to_be_visible()

    log_in(frontline)
    expect(page.get_by_test_id("home-title")).to_have_text("Today")


def test_owner_reads_and_downloads_what_is_held_about_a_customer(page, log_in, screenshot, owner, customer):
    customer.locations.add(owner.locations.first())
    log_in(owner)
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="Their data").click()
    expect(page.get_by_role("heading", name=f"Data held about {customer.full_name}")).to_be_visible()
    screenshot("customer-data")
    with page.expect_download() as download:
        page.get_by_test_id("privacy-json").click()
    assert download.value.suggested_filename == f"customer-{customer.pk}-data.json"
    page.goto(f"/security/audit/?customer={customer.pk}")
    expect(page.get_by_test_id("audit-entry").first).to_be_visible()
    screenshot("audit-trail")
