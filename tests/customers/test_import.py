"""Bulk import of customers from CSV: preview, bad rows by line, all or nothing, no duplicates."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers import importer
from customers.models import Customer

pytestmark = pytest.mark.postgres

GOOD = """First name,Last name,Email,Phone,Location,Tags,Customer since
Anna,Kowalski,anna@example.com,(207) 555-0101,Downtown,"regular, varifocals",2019-04-02
Ben,Carter,BEN@example.com,,Downtown,,04/15/2021
Chloé,Dubois,,+1 207 555 0103,,VIP,
"""

BAD = """first_name,last_name,email,phone,location
Anna,Kowalski,anna@example.com,(207) 555-0101,Downtown
,NoFirstName,nofirst@example.com,,Downtown
Dan,Mensah,dan@,,Downtown
Eve,Nowhere,eve@example.com,,Atlantis
Fay,Fone,fay@example.com,12,Downtown
Gus,Again,anna@example.com,,Downtown
Hal,NoContact,,,Downtown
"""


def plan_import(raw: bytes, locations, default_location=None):
    """Check a file as the import page does for a member of staff with these locations."""
    return importer.check(
        raw,
        options={
            "location": default_location.pk if default_location else None,
            "locations": [loc.pk for loc in locations],
        },
    )


def run_import(plan) -> tuple[int, int]:
    summary = importer.commit(plan, user=None)
    return summary["created"], summary["updated"]


def test_valid_file_previews_then_imports(location):
    plan = plan_import(GOOD.encode(), [location], default_location=location)
    assert plan.is_valid and (plan.to_create, plan.to_update) == (3, 0)
    assert Customer.objects.count() == 0  # preview saves nothing
    assert run_import(plan) == (3, 0)
    anna = Customer.objects.get(email="anna@example.com")
    assert anna.phone == "+12075550101" and anna.customer_since.isoformat() == "2019-04-02"
    assert sorted(t.name for t in anna.tags.all()) == ["regular", "varifocals"]
    assert Customer.objects.get(email="ben@example.com").customer_since.isoformat() == "2021-04-15"
    assert Customer.objects.get(phone="+12075550103").home_location == location


def test_reimporting_the_same_file_adds_nothing(location):
    run_import(plan_import(GOOD.encode(), [location], default_location=location))
    plan = plan_import(GOOD.encode(), [location], default_location=location)
    assert (plan.to_create, plan.to_update) == (0, 3)
    assert run_import(plan) == (0, 0)
    assert Customer.objects.count() == 3


def test_bad_rows_are_reported_by_line_and_reason_and_nothing_is_imported(location):
    plan = plan_import(BAD.encode(), [location])
    errors = {row.line: " ".join(row.messages) for row in plan.bad_rows}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]
    assert "first name: This field is required" in errors[3]
    assert "email: Enter a valid email address" in errors[4]
    assert "Unknown location 'Atlantis'" in errors[5]
    assert "not a valid phone number" in errors[6]
    assert "same email as line 2" in errors[7]
    assert "Give an email, phone or external id" in errors[8]
    assert not plan.is_valid
    with pytest.raises(Exception, match="nothing was imported"):
        run_import(plan)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV file"),
        (b"name;age\nx;1\n", "first name column"),
        (b"first name,email\n", "no customer rows"),
    ],
)
def test_files_that_are_not_customer_csvs_get_a_clear_message(location, raw, message):
    plan = plan_import(raw, [location], default_location=location)
    assert message in " ".join(plan.file_errors)


def test_manager_previews_and_confirms_in_the_browser(client, manager, location):
    client.force_login(manager)
    upload = SimpleUploadedFile("customers.csv", GOOD.encode(), content_type="text/csv")
    preview = client.post(reverse("customer-import"), {"file": upload, "default_location": location.pk})
    assert "Ready: <strong>3</strong> new customers" in preview.content.decode()
    assert Customer.objects.count() == 0
    done = client.post(
        reverse("customer-import"),
        {"confirm": "1", "token": preview.context["token"], "default_location": location.pk},
    )
    assert done.status_code == 302 and Customer.objects.count() == 3


def test_browser_preview_lists_bad_rows(client, manager, location):
    client.force_login(manager)
    upload = SimpleUploadedFile("customers.csv", BAD.encode(), content_type="text/csv")
    page = client.post(reverse("customer-import"), {"file": upload}).content.decode()
    assert "6 bad rows" in page and "Unknown location" in page
    assert 'name="confirm"' not in page


def test_a_stale_or_forged_confirmation_imports_nothing(client, manager, location):
    client.force_login(manager)
    response = client.post(reverse("customer-import"), {"confirm": "1", "token": "../../etc/passwd"})
    assert response.status_code == 302 and Customer.objects.count() == 0


def test_a_customer_import_failing_halfway_through_its_commit_leaves_nothing_half_saved(location, monkeypatch):
    from django.db import DatabaseError, connection

    monkeypatch.setattr(importer.SPEC, "batch_size", 2)
    rows = "".join(f"Name{i},name{i}@example.com,regular\n" for i in range(7))
    plan = plan_import(f"first name,email,tags\n{rows}".encode(), [location], default_location=location)
    assert plan.is_valid and plan.spool.batches == 4
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION test_refuse_email() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.email = 'name5@example.com' THEN RAISE EXCEPTION 'injected failure'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_refuse_email BEFORE INSERT ON customers_customer
                FOR EACH ROW EXECUTE FUNCTION test_refuse_email();
            """
        )
    with pytest.raises(DatabaseError, match="injected failure"):
        run_import(plan)
    assert not Customer.objects.exists() and not Customer.tags.through.objects.exists()


def test_an_import_of_many_customers_leaves_one_audit_entry(location):
    from auditlog.models import LogEntry

    run_import(plan_import(GOOD.encode(), [location], default_location=location))
    entries = LogEntry.objects.count()
    changed = GOOD.replace("2019-04-02", "2018-01-01").replace("Ben,Carter", "Benjamin,Carter")
    assert run_import(plan_import(changed.encode(), [location], default_location=location)) == (0, 2)
    assert LogEntry.objects.count() == entries + 1
    assert LogEntry.objects.latest("pk").additional_data == {"import": "customers", "created": 0, "updated": 2}
    assert Customer.objects.get(email="ben@example.com").first_name == "Benjamin"
