"""Playwright driving Debian's chromium (headless) against pytest-django's live server."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM
from tests.crm.factories import TEST_PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def chromium_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed")  # turned into a failure under CI by tests/conftest.py
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch_csp(page, violations: list[str]) -> None:
    """Collect what the Content-Security-Policy refused on this page (an inline script or style, eval...)."""
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )


@pytest.fixture
def page(chromium_browser, live_server):
    context = chromium_browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations: list[str] = []
    watch_csp(page, violations)
    yield page
    context.close()
    # Every browser story also proves the pages it walked work under the policy.
    assert not violations, violations


@pytest.fixture
def log_in(page):
    """Log in through the real login form (on another page, for a second person, with on=)."""

    def log_in_as(user, password=TEST_PASSWORD, on=None):
        target = on or page
        target.goto("/accounts/login/")
        target.get_by_label("Username").fill(user.username)
        target.get_by_label("Password").fill(password)
        target.get_by_role("button", name="Log in").click()
        target.wait_for_url("**/")
        return target

    return log_in_as


@pytest.fixture
def another_page(chromium_browser, live_server):
    """A second browser, for a second person in the same story."""
    contexts = []

    violations: list[str] = []

    def open_page():
        context = chromium_browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        opened = context.new_page()
        watch_csp(opened, violations)
        return opened

    yield open_page
    for context in contexts:
        context.close()
    assert not violations, violations


@pytest.fixture
def screenshot(page):
    """Save a screenshot under docs/screenshots/ for anyone to see the app."""

    def take(name: str, of=None):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (of or page).screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
