"""With MEDIA_BUCKET set, a receipt goes to object storage (django-storages' S3 backend), not to the web
machine's disk, and any web process sends it back through the same download view. S3 itself is stood in
for by moto (an outside provider)."""

import datetime

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from moto import mock_aws

from microcx.models import Gesture

pytestmark = pytest.mark.postgres

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
BUCKET = "shop-receipts"


@pytest.fixture
def bucket(settings, monkeypatch, tmp_path):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    settings.MEDIA_ROOT = tmp_path / "media"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        # As crm/settings.py configures it when MEDIA_BUCKET is set.
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "location": "media",
                    "default_acl": "private",
                    "file_overwrite": False,
                    "querystring_auth": True,
                },
            },
        }
        yield s3


def test_a_receipt_is_kept_in_the_bucket_not_on_disk_and_downloaded_through_the_app(
    client, propose, frontline, bucket, settings
):
    gesture = propose(frontline, "20")
    client.force_login(frontline)
    receipt = SimpleUploadedFile("receipt.jpg", JPEG, content_type="image/jpeg")
    data = {"delivered_on": datetime.date(2026, 11, 20).isoformat(), "reaction": "Big smile", "receipt": receipt}
    client.post(reverse("gesture-deliver", args=[gesture.pk]), data)
    gesture.refresh_from_db()
    assert gesture.status == Gesture.Status.DELIVERED and gesture.receipt.name.startswith("receipts/")

    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"media/{gesture.receipt.name}"]
    assert bucket.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read() == JPEG
    assert not settings.MEDIA_ROOT.exists() or not any(settings.MEDIA_ROOT.rglob("*.jpg"))

    response = client.get(reverse("gesture-receipt", args=[gesture.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    assert response["Content-Disposition"] == f'attachment; filename="receipt-gesture-{gesture.pk}.jpg"'
