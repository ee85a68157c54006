"""A manager imports a big customer file on a phone: the page shows a progress bar while a real Celery
worker checks it, then what it found and the button to import; the summary follows, and the inbox says so."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from crm.kernel.models import ImportJob
from customers.models import Customer
from tests.integration.servers import Processes, app_env, current_database_url

pytestmark = pytest.mark.redis
ROWS = 900  # under a thousand: the summary reads the same with or without separators


@pytest.fixture
def worker(tmp_path):
    """A Celery worker on the test's broker and database, started when the story calls it; killed at the end."""
    running = Processes(tmp_path)

    def start() -> None:
        env = app_env(database_url=current_database_url(), broker_url=settings.CELERY_BROKER_URL)
        running.celery("worker", "worker", "--concurrency=1", "--without-mingle", "--without-gossip", env=env)

    yield start
    running.kill_all()


def test_manager_watches_a_big_import_checked_and_imported_in_the_background(
    page, log_in, screenshot, worker, manager, owner, location, settings
):
    settings.IMPORT_BACKGROUND_ROWS = 100
    lines = ["first name,last name,email,location"]
    lines += [f"Ann{n},Lee,ann{n}@example.com,{location.name}" for n in range(ROWS)]
    log_in(manager)
    page.goto("/customers/import/")
    page.get_by_label("File").set_input_files(
        {"name": "till-customers.csv", "mimeType": "text/csv", "buffer": ("\n".join(lines) + "\n").encode()}
    )
    page.get_by_label("Default location").select_option(label=location.name)
    page.get_by_role("button", name="Preview").click()

    # No worker yet: the job waits its turn, and its page says so with a progress bar.
    page.wait_for_url("**/imports/*/")
    progress = page.get_by_test_id("import-progress")
    expect(progress.locator("progress")).to_be_visible()
    expect(progress).to_contain_text(f"Waiting for a worker to check {ROWS:,} rows")
    expect(page.get_by_test_id("time-left")).to_contain_text("Rows checked: 0")
    expect(page.get_by_text("You can leave this page")).to_be_visible()
    screenshot("import-background-progress")

    # The worker starts; the polled bar notices the check is done and the page shows what it found.
    worker()
    expect(page.get_by_test_id("import-ready")).to_contain_text(f"{ROWS:,} rows, none with a problem", timeout=90_000)
    expect(page.get_by_test_id("import-preview")).to_contain_text(f"{ROWS:,} new")
    screenshot("import-background-checked")
    page.get_by_role("button", name=f"Import {ROWS:,} rows").click()

    summary = page.get_by_test_id("import-summary")
    expect(summary).to_contain_text(f"Imported: {ROWS} new customers, 0 updated.", timeout=120_000)
    screenshot("import-background-summary")
    assert Customer.objects.count() == ROWS
    assert ImportJob.objects.get(kind="customer_import").state == "done"

    # Someone who left the page finds the result in the inbox, with a link back to it.
    page.goto("/inbox/")
    expect(page.get_by_text("till-customers.csv: Imported")).to_be_visible()
    expect(page.get_by_text("till-customers.csv is checked")).to_be_visible()
