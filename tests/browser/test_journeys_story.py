"""A manager imports visits (one bad row reported, then fixed) and reads the persona's observed journey."""

from playwright.sync_api import expect

from journeys.models import CustomerPersona, Persona
from tests.customers.factories import CustomerFactory

GOOD_ROWS = [
    "ann@example.com,2026-10-01 10:00,search,,W-1",
    "ann@example.com,2026-10-03 11:00,in-store,129.00,T-1",
    "bo@example.com,2026-10-02 09:00,word-of-mouth,,W-2",
    "bo@example.com,2026-10-04 15:00,in-store,,T-2",
]


def csv_file(rows):
    return {
        "name": "visits.csv",
        "mimeType": "text/csv",
        "buffer": ("email,date,touchpoint,amount,reference\n" + "\n".join(rows) + "\n").encode(),
    }


def test_manager_imports_visits_and_sees_them_on_the_journey_map(page, log_in, screenshot, manager, location):
    persona = Persona.objects.create(name="Style seeker", summary="Loves designer frames")
    for email in ("ann@example.com", "bo@example.com"):
        CustomerPersona.objects.create(customer=CustomerFactory(email=email, home_location=location), persona=persona)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(manager)
    page.goto("/journeys/import/")

    page.get_by_label("CSV file").set_input_files(csv_file([*GOOD_ROWS, "ann@example.com,yesterday-ish,in-store,,T-3"]))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("bad-row")).to_have_count(1)
    expect(page.get_by_test_id("bad-row")).to_contain_text("6")
    expect(page.get_by_test_id("bad-row")).to_contain_text("Not a date or time")
    screenshot("import-bad-row", of=page)

    page.get_by_label("CSV file").set_input_files(csv_file([*GOOD_ROWS, "ann@example.com,2026-10-20,in-store,,T-3"]))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("import-preview")).to_contain_text("5 interactions to import")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported 5 interactions")).to_be_visible()

    page.goto(f"/journeys/personas/{persona.pk}/")
    expect(page.get_by_test_id("members")).to_have_text("2")
    journey_map = page.get_by_test_id("journey-map")
    store_row = journey_map.locator("tr", has_text="In store")
    expect(store_row).to_contain_text("2 customers")
    expect(page.get_by_test_id("paths")).to_contain_text("Search → In store")
    screenshot("journey-map", of=page)
