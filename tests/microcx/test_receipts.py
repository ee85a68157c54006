"""Receipts: a photo or PDF that is what its name says, at most 5 MB, kept under a random name and only ever
sent back as a download to staff who may see the gesture."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from microcx.models import Gesture
from tests.crm.factories import UserFactory

pytestmark = pytest.mark.postgres

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def deliver(client, gesture, name: str, content: bytes):
    receipt = SimpleUploadedFile(name, content, content_type="image/jpeg")
    data = {"delivered_on": datetime.date(2026, 11, 20).isoformat(), "reaction": "Big smile", "receipt": receipt}
    return client.post(reverse("gesture-deliver", args=[gesture.pk]), data)


def test_a_receipt_is_kept_under_a_random_name_and_downloaded_never_shown_inline(client, propose, frontline):
    gesture = propose(frontline, "20")
    client.force_login(frontline)
    deliver(client, gesture, "../../My receipt <3>.JPEG", JPEG)
    gesture.refresh_from_db()
    assert gesture.status == Gesture.Status.DELIVERED
    assert gesture.receipt.name.startswith("receipts/") and gesture.receipt.name.endswith(".jpg")
    assert "My receipt" not in gesture.receipt.name and ".." not in gesture.receipt.name

    page = client.get(reverse("gesture-detail", args=[gesture.pk])).content.decode()
    assert reverse("gesture-receipt", args=[gesture.pk]) in page and "/media/" not in page
    response = client.get(reverse("gesture-receipt", args=[gesture.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == f'attachment; filename="receipt-gesture-{gesture.pk}.jpg"'
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_frontline_staff_of_another_location_cannot_download_a_receipt(client, propose, frontline, other_location):
    gesture = propose(frontline, "20")
    client.force_login(frontline)
    deliver(client, gesture, "receipt.jpg", JPEG)
    client.force_login(UserFactory(role="frontline", locations=[other_location]))
    assert client.get(reverse("gesture-receipt", args=[gesture.pk])).status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("receipt.png", HTML, "This file is not the PNG its name says it is."),
        ("receipt.pdf", JPEG, "This file is not the PDF its name says it is."),
        ("receipt.html", HTML, "Upload a photo (JPG, PNG, HEIC, WebP) or a PDF."),
        ("receipt.svg", b"<svg onload='alert(1)'/>", "Upload a photo (JPG, PNG, HEIC, WebP) or a PDF."),
        ("receipt.jpg", JPEG + b"\x00" * (5 * 1024 * 1024), "the most we take is 5 MB"),
    ],
)
def test_a_receipt_that_is_not_a_photo_or_pdf_is_refused_and_nothing_is_delivered(
    client, propose, frontline, name, content, message
):
    gesture = propose(frontline, "20")
    client.force_login(frontline)
    response = deliver(client, gesture, name, content)
    assert response.status_code == 302
    assert any(message in str(m) for m in get_messages(response.wsgi_request)), [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    gesture.refresh_from_db()
    assert gesture.status == Gesture.Status.APPROVED and not gesture.receipt


def test_a_gesture_without_a_receipt_has_nothing_to_download(client, propose, frontline):
    gesture = propose(frontline, "20")
    client.force_login(frontline)
    assert client.get(reverse("gesture-receipt", args=[gesture.pk])).status_code == 404
