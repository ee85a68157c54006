"""Every CSV upload form refuses, with a message naming the problem, files that are too big, not CSV or binary;
a CSV is read and kept outside MEDIA_ROOT, never served."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.kernel import uploads
from crm.kernel.csvfiles import csv_problem, open_csv
from customers.models import Customer
from journeys.models import Interaction, TouchpointMetric

pytestmark = pytest.mark.postgres

CUSTOMERS = "first name,last name,email,location\nAnna,Kowalski,anna@example.com,Downtown\n"
UPLOAD_URLS = ["customer-import", "interaction-import", "metric-import"]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


def upload(client, url_name: str, name: str, content: bytes):
    return client.post(reverse(url_name), {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def nothing_imported() -> bool:
    return not (Customer.objects.exists() or Interaction.objects.exists() or TouchpointMetric.objects.exists())


@pytest.mark.parametrize("url_name", UPLOAD_URLS)
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("customers.csv", PNG, "This file is a PNG image, not a CSV file."),
        ("customers.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "an Excel workbook or a ZIP archive"),
        ("customers.csv", b"first name,email\nAnna\x00\x01,a@example.com\n", "binary data (NUL bytes)"),
        ("customers.csv", b"first name,email\nAnna\x1b[31m,a@example.com\n", "binary data (control characters)"),
        ("customers.csv", CUSTOMERS.encode("utf-16"), "saved as UTF-16"),
        ("customers.xlsx", CUSTOMERS.encode(), "can be imported; “customers.xlsx” is not one."),  # CSV (and vCard)
        ("customers.exe", CUSTOMERS.encode(), "is not one"),
    ],
)
def test_an_upload_that_is_not_a_csv_is_refused_with_a_message_naming_the_problem(
    client, manager, url_name, name, content, message
):
    client.force_login(manager)
    response = upload(client, url_name, name, content)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert nothing_imported()


@pytest.mark.parametrize("url_name", UPLOAD_URLS)
def test_a_csv_over_the_size_limit_is_refused_saying_how_big_it_was(client, manager, settings, url_name):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    client.force_login(manager)
    big = CUSTOMERS.encode() + b"Ben,Carter,ben@example.com,Downtown\n" * 32_000  # 1.1 MB
    response = upload(client, url_name, "customers.csv", big)
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert error == "The file is 1.1 MB; the most we take is 1 MB. Split it into smaller files."
    assert nothing_imported()


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(client, manager, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(manager)
    response = upload(client, "customer-import", "customers.csv", b"a,b\n" * 300_000)  # 1.2 MB
    assert response.status_code == 400
    assert b"too large" in response.content
    assert nothing_imported()


def test_a_windows_excel_csv_is_still_read(client, manager, location):
    """Excel on Windows saves "CSV" in its own encoding (cp1252), not UTF-8: accepted, accents and all."""
    client.force_login(manager)
    content = "first name,last name,email,location\nChloé,Dubois,chloe@example.com,Downtown\n".encode("cp1252")
    response = upload(client, "customer-import", "export.CSV", content)
    assert not response.context["form"].errors
    plan = response.context["plan"]
    assert plan.is_valid and plan.to_create == 1


def test_a_csv_waits_for_its_confirmation_in_the_database_not_on_disk_and_is_never_served(
    client, manager, location, settings
):
    from crm.kernel.models import ImportJob

    client.force_login(manager)
    var, media = Path(settings.VAR_DIR).resolve(), Path(settings.MEDIA_ROOT).resolve()
    before = set(var.rglob("*")) if var.exists() else set()
    response = upload(client, "customer-import", "customers.csv", CUSTOMERS.encode())
    token = response.context["token"]
    kept = ImportJob.objects.get(token=token)
    assert bytes(kept.raw) == CUSTOMERS.encode() and kept.state == "checked" and kept.created_by == manager
    # Nothing of it on this machine's disk: any web process can take the confirmation.
    assert not any(CUSTOMERS.encode() in p.read_bytes() for p in set(var.rglob("*")) - before if p.is_file())
    assert not media.exists() or not any(media.rglob(f"*{token}*"))
    for path in (f"/var/imports/{token}.csv", f"/imports/{token}.csv", f"/media/imports/{token}.csv"):
        assert client.get(path).status_code == 404
    client.post(reverse("customer-import"), {"confirm": "1", "token": token})
    kept.refresh_from_db()
    assert bytes(kept.raw) == b"" and not kept.is_open
    assert Customer.objects.filter(email="anna@example.com").exists()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"name\nAnna\n", None),
        ("name\nZoë\n".encode("cp1252"), None),
        ("\ufeffname\nZoë\n".encode(), None),
        (b"name;email\tx\r\n", None),
        (b"%PDF-1.7\n", "a PDF"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG photo"),
        (b"\x7fELF\x02\x01\x01", "a program"),
        (b"name\n\x81\x8d\x8f\n", "not in a text encoding we can read"),
    ],
)
def test_csv_problem_names_what_the_file_is(raw, problem):
    found = csv_problem(raw)
    assert (found is None) if problem is None else (problem in found)
    assert (open_csv(raw) is None) == (problem is not None)


def test_abandoned_import_files_are_dropped_after_six_hours(manager, time_at):
    import datetime
    import uuid

    from django.utils import timezone

    from crm.kernel.models import ImportJob

    def waiting(first_name):
        return ImportJob.objects.create(
            token=uuid.uuid4(),
            created_by=manager,
            kind="customer_import",
            raw=f"first_name\n{first_name}\n".encode(),
            state=ImportJob.State.CHECKED,
        )

    start = timezone.now()
    time_at(start - datetime.timedelta(hours=7))
    old = waiting("Zed")
    time_at(start)
    fresh = waiting("Amy")
    assert uploads.forget_abandoned() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.state, bytes(old.raw)) == ("cancelled", b"")
    assert fresh.state == "checked" and bytes(fresh.raw)
