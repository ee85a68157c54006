"""A manager brings a phone's contacts in: picks the .vcf, sees it named on the preview, imports it."""

from playwright.sync_api import expect

from customers.models import Customer
from tests.customers.test_import_formats import SQUARE_FILE, VCARD_FILE


def test_manager_imports_a_phones_contacts_and_then_a_square_export(page, log_in, screenshot, manager, location):
    log_in(manager)
    page.goto("/customers/import/")
    page.get_by_label("File").set_input_files(
        {"name": "contacts.vcf", "mimeType": "text/vcard", "buffer": VCARD_FILE.encode()}
    )
    page.get_by_label("Default location").select_option(label=location.name)
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_test_id("import-preview")
    expect(preview.get_by_test_id("import-kind")).to_have_text("vCard contacts, 3 customers")
    screenshot("customer-import-vcard-preview")
    preview.get_by_role("button", name="Import 3 rows").click()
    expect(page.get_by_text("Imported: 3 new customers, 0 updated.")).to_be_visible()
    assert Customer.objects.get(email="anna@example.com").important_dates.get().month == 6

    # The till's export names Anna and Ben again (matched on email and phone): two to update, one new.
    page.goto("/customers/import/")
    page.get_by_label("File").set_input_files(
        {"name": "square.csv", "mimeType": "text/csv", "buffer": SQUARE_FILE.encode()}
    )
    page.get_by_label("Default location").select_option(label=location.name)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("import-kind")).to_have_text("Square customer export, 3 customers")
    expect(page.get_by_test_id("import-preview")).to_contain_text("1 new customer, 2 to match existing ones")
    page.get_by_role("button", name="Import 3 rows").click()
    expect(page.get_by_text("Imported: 1 new customer, 2 updated.")).to_be_visible()
    assert Customer.objects.count() == 4


def test_manager_previews_monthly_figures_on_a_phone_before_they_are_saved(page, log_in, screenshot, manager):
    from journeys.models import TouchpointMetric

    page.set_viewport_size({"width": 390, "height": 844})
    log_in(manager)
    page.goto("/journeys/metrics/import/")
    figures = "touchpoint,month,metric,value\nemail,2026-10,email_open_rate,44.2\nphone,2026-10,call_waiting,95\n"
    page.get_by_label("CSV of figures").set_input_files(
        {"name": "figures.csv", "mimeType": "text/csv", "buffer": figures.encode()}
    )
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_test_id("import-preview")
    expect(preview.get_by_test_id("import-ready")).to_have_text("Ready: 2 figures to import.")
    screenshot("metric-import-preview-phone")
    assert not TouchpointMetric.objects.exists()
    preview.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_text("Imported 2 figures.")).to_be_visible()
    assert TouchpointMetric.objects.count() == 2
