"""The spend report's CSV: names someone typed are neutralised (CSV injection), amounts stay numbers."""

import csv
import io

import pytest
from django.urls import reverse

from crm.kernel.models import Location
from microcx import services

pytestmark = pytest.mark.postgres


def test_the_spend_report_csv_neutralises_names_and_keeps_amounts_as_numbers(
    client, propose, frontline, manager, owner, location
):
    propose(frontline, "20")
    services.gesture_approve(gesture=propose(frontline, "60.50"), by=manager)
    Location.objects.filter(pk=location.pk).update(name='=HYPERLINK("http://evil.example","Downtown")')
    client.force_login(owner)
    body = client.get(reverse("spend-report-csv"), {"group": "location"}).content.decode()
    header, row = list(csv.reader(io.StringIO(body)))
    assert header == ["Location", "gestures", "delivered", "committed", "spent"]
    assert row == ['\'=HYPERLINK("http://evil.example","Downtown")', "2", "0", "80.50", "0"]
