import pytest
from playwright.sync_api import expect


@pytest.mark.parametrize("role", ["frontline", "manager", "owner"])
def test_each_role_logs_in_and_sees_its_home_page(page, log_in, screenshot, users_by_role, role):
    user = users_by_role[role]
    log_in(user)
    expect(page.get_by_test_id("home-title")).to_have_text("Today")
    expect(page.get_by_text("Downtown").first).to_be_visible()
    screenshot(f"home-{role}")
    page.get_by_role("button", name="Menu").click()
    menu = page.locator("#mainnav")
    if role == "frontline":
        expect(menu.get_by_role("link", name="Locations")).to_have_count(0)
    else:
        expect(menu.get_by_role("link", name="Locations")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_contain_text(role.capitalize())


def test_wrong_password_shows_a_clear_error(page, frontline):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(frontline.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()


def test_staff_log_out_and_land_on_the_login_page(page, log_in, frontline):
    log_in(frontline)
    page.get_by_role("button", name="Menu").click()
    # Wait for the menu to finish opening: a click during its animation can be lost on a busy machine.
    expect(page.locator("#mainnav.show:not(.collapsing)")).to_be_visible()
    page.get_by_test_id("user-menu").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
