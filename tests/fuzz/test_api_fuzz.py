"""The JSON endpoint answers any request with a 2xx/4xx, never a 500.

Arbitrary JSON (objects with our fields holding any JSON type, lists, scalars, deep nesting), bytes that
are not JSON, wrong and odd content types, bodies over the size limit, lying Content-Length headers,
other methods, and tokens that are missing, malformed, unknown or revoked.
"""

from __future__ import annotations

import json
import os

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from journeys import api
from journeys.models import ApiToken
from journeys.services_manage import api_token_create

pytestmark = pytest.mark.postgres

FUZZ = settings(
    max_examples=100 * int(os.environ.get("FUZZ_SCALE", "1")),  # FUZZ_SCALE=20 for a long hunt
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIELDS = sorted(api.FIELDS)
SPECIAL_TEXT = [
    "",
    "\x00",
    "anna@example.com",
    "+1 207 555 0101",
    "2026-11-02T14:30:00-05:00",
    "2026-02-30",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00Z",
    "in-store",
    "In store",
    "purchase",
    "positive",
    "1e309",
    "NaN",
    "-0.01",
    "99999999999999999999.99",
    "Downtown",
    "x" * 5000,
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(SPECIAL_TEXT),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def records(draw):
    """An object with some of our fields (any JSON type in them) and perhaps fields we do not know."""
    chosen = draw(st.sets(st.sampled_from(FIELDS), max_size=len(FIELDS)))
    record = {name: draw(st.one_of(st.sampled_from(SPECIAL_TEXT), json_values)) for name in sorted(chosen)}
    if draw(st.booleans()):
        record.update(draw(st.dictionaries(st.text(max_size=10), json_values, max_size=2)))
    return record


def encode(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    records().map(encode),
    records().map(encode),
    json_values.map(encode),
    st.binary(max_size=200),
    st.text(max_size=100).map(lambda text: text.encode("utf-8")),
    st.sampled_from(
        [
            b"",
            b"{",
            b'{"email": "a@example.com"',
            b"[" * 10_000,
            b'{"a": ' * 3_000 + b"1" + b"}" * 3_000,
            b"1" * 5_000,
            '{"summary": "caf\u00e9"}'.encode("utf-16"),
            b"\xff\xfe\x00\x00",
            b'{"email": "\\ud800"}',
            encode({"email": "a@example.com", "touchpoint": "in-store", "occurred_at": "x" * 17_000}),
            b'{"summary": "' + b"y" * 3_000_000 + b'"}',  # over DATA_UPLOAD_MAX_MEMORY_SIZE too
        ]
    ),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=utf-16",
        "application/json; charset=nonsense",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ]
)
tokens = st.sampled_from(["good", "revoked", "none", "garbage", "bearer-empty", "unicode"])
methods = st.sampled_from(["POST", "POST", "POST", "POST", "GET", "PUT", "PATCH", "DELETE"])
# The Content-Length header as sent: honest, or claiming less than was sent. (A header that is not a
# non-negative number never reaches Django: gunicorn answers 400 itself; Django would call int() on it.)
lengths = st.sampled_from(["honest", "honest", "honest", "0", "half"])


@pytest.fixture
def api_keys(world):
    _, good = api_token_create(name="Till", by=world["owner"])
    revoked_token, revoked = api_token_create(name="Old till", by=world["owner"])
    ApiToken.objects.filter(pk=revoked_token.pk).update(is_active=False)
    return {"good": good, "revoked": revoked}


def authorization(kind: str, keys: dict) -> dict:
    return {
        "good": {"Authorization": f"Bearer {keys['good']}"},
        "revoked": {"Authorization": f"Bearer {keys['revoked']}"},
        "none": {},
        "garbage": {"Authorization": "Basic Zm9vOmJhcg=="},
        "bearer-empty": {"Authorization": "Bearer "},
        "unicode": {"Authorization": "Bearer cr\u00e9m_\u2603"},
    }[kind]


def test_the_api_answers_anything_without_a_500(client, world, api_keys):
    client.raise_request_exception = False
    url = reverse("api-interactions")

    @FUZZ
    @given(body=bodies, content_type=content_types, token=tokens, method=methods, length=lengths)
    # Found by this test: JSON nested deeper than Python's recursion limit was a RecursionError (500).
    @example(body=b"[" * 10_000, content_type="application/json", token="good", method="POST", length="honest")
    def one_request(body, content_type, token, method, length):
        extra = {"honest": {}, "0": {"CONTENT_LENGTH": "0"}, "half": {"CONTENT_LENGTH": str(len(body) // 2)}}[length]
        with transaction.atomic():
            response = client.generic(
                method, url, body, content_type=content_type, headers=authorization(token, api_keys), **extra
            )
            transaction.set_rollback(True)
        error = response.exc_info[1] if getattr(response, "exc_info", None) else None
        assert response.status_code < 500, f"{method} {content_type} {token} -> {response.status_code} {error!r}"
        assert response["Content-Type"].startswith("application/json")

    one_request()


def test_a_valid_request_still_records_the_interaction(client, world, api_keys, customer):
    """The fuzzing above must not be passing only because everything is refused."""
    body = {
        "email": customer.email,
        "touchpoint": "in-store",
        "occurred_at": "2026-11-02T14:30:00-05:00",
        "location": customer.home_location.name,
    }
    response = client.post(
        reverse("api-interactions"), body, content_type="application/json", headers=authorization("good", api_keys)
    )
    assert response.status_code == 201, response.content
