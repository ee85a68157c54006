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


def test_a_csv_waits_for_its_confirmation_outside_media_and_is_never_served(client, manager, location, settings):
    client.force_login(manager)
    media, static = Path(settings.MEDIA_ROOT).resolve(), Path(settings.STATIC_ROOT).resolve()
    before = set(media.rglob("*"))
    response = upload(client, "customer-import", "customers.csv", CUSTOMERS.encode())
    token = response.context["token"]
    kept = uploads.UPLOAD_DIR / f"{token}.csv"
    assert kept.read_bytes() == CUSTOMERS.encode()
    assert not kept.resolve().is_relative_to(media) and not kept.resolve().is_relative_to(static)
    assert set(media.rglob("*")) == before
    for path in (f"/var/imports/{token}.csv", f"/imports/{token}.csv", f"/media/imports/{token}.csv"):
        assert client.get(path).status_code == 404
    client.post(reverse("customer-import"), {"confirm": "1", "token": token})
    assert not kept.exists()


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


def test_abandoned_import_files_are_deleted_after_six_hours(tmp_path, monkeypatch):
    import os
    import time

    from crm.kernel import uploads

    monkeypatch.setattr(uploads, "UPLOAD_DIR", tmp_path)
    old, fresh = tmp_path / "old.csv", tmp_path / "fresh.csv"
    old.write_text("first_name\nZed\n")
    fresh.write_text("first_name\nAmy\n")
    # Both times from the same clock (the suite may run with its clock moved; the file system's is not).
    now = time.time()
    os.utime(fresh, (now, now))
    os.utime(old, (now - 7 * 3600, now - 7 * 3600))
    assert uploads.forget_abandoned() == 1
    assert not old.exists() and fresh.exists()
