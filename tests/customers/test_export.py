import csv
import datetime
import io

import pytest
from django.urls import reverse

from customers.services import note_create
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres


def test_marketing_export_has_consented_channels_only_and_never_sensitive_notes(client, manager, frontline, location):
    consented = CustomerFactory(home_location=location, consent_email_at=datetime.date(2026, 1, 5))
    CustomerFactory(home_location=location)  # no consent: not exported
    note_create(customer=consented, author=frontline, text="Loves the new round frames")
    note_create(customer=consented, author=frontline, text="Going through chemo", is_sensitive=True)
    client.force_login(manager)
    body = b"".join(client.get(reverse("customer-export")).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1
    [row] = rows
    assert row["email"] == consented.email and row["phone"] == ""  # no phone consent
    assert row["latest_note"] == "Loves the new round frames"
    assert "chemo" not in body


def test_export_neutralises_formulas(client, manager, frontline, location):
    customer = CustomerFactory(home_location=location, consent_mail_at=datetime.date(2026, 1, 5))
    note_create(customer=customer, author=frontline, text='=HYPERLINK("http://evil")')
    client.force_login(manager)
    body = b"".join(client.get(reverse("customer-export")).streaming_content).decode()
    assert "'=HYPERLINK" in body
