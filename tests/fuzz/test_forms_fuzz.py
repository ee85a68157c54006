"""Every form answers any input with a page, a redirect or a refusal, never a 500.

Each URL of the role matrix gets POSTs of arbitrary data (its own fields with wrong types, unicode,
NUL bytes, huge strings, several values, files; missing fields; fields nobody asked for) from the role
allowed to use it, and GETs with arbitrary query strings. The fields come from the forms on the pages.
One world serves every URL; each request runs in a savepoint that is rolled back, so every example
starts from the same world (nothing archived, cancelled or logged out by an earlier one).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import allowed_role, form_data, read_forms, rows_by_name, url_for, url_name, view_reads

pytestmark = pytest.mark.postgres

ROWS = rows_by_name()
# The JSON API has its own fuzz test (test_api_fuzz.py).
POST_URLS = sorted(name for name in ROWS if name != "api-interactions")
GET_URLS = sorted(name for name in ROWS if any(row.method == "get" for row in ROWS[name]))
# Query parameters our views read without a form on the page saying so.
QUERY_FIELDS = {"page", "q", "from", "to", "group", "month", "figure", "next", "location", "show", "archived"}
# Examples per URL: several where the view reads what is sent, one elsewhere (it must still not fall over).
# FUZZ_SCALE=20 multiplies them for a long hunt on a laptop; the test command keeps to about 40 seconds.
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
EXAMPLES = {"post": 6 * SCALE, "get": 3 * SCALE}
FUZZ = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


_found: dict[str, dict[str, set[str]]] = {}


def forms_on_pages(client, world) -> dict[str, dict[str, set[str]]]:
    """Return, per URL name, the fields its forms send ("post"), the query fields ("get") and file fields.

    Field names do not change from one test's world to the next, so the pages are read once per run.
    """
    if _found:
        return _found
    found = _found
    pages = [(name, world) for name in ROWS]
    # The delivery form shows on an approved gesture's page only.
    pages.append(("gesture-detail", {**world, "gesture": world["approved_gesture"]}))
    for name, objects in pages:
        rows = ROWS[name]
        role = allowed_role(rows, "get")
        row = next((r for r in rows if r.method == "get"), None)
        if row is None or role is None:
            continue
        client.logout()
        if world[role] is not None:
            client.force_login(world[role])
        url = url_for(row, objects)
        response = client.get(url)
        if response.status_code == 302 and urlsplit(response.url).path == urlsplit(url).path:
            url = response.url  # a form that first gives itself a key in its address (the gesture form)
            response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in read_forms(response.content.decode(), url):
            target = url_name(form["target"])
            if target is None:
                continue
            fields = found.setdefault(target, {"post": set(), "get": set(), "files": set()})
            fields[form["method"]] |= form["fields"]
            fields["files"] |= form["files"]
    client.logout()
    return found


def matrix_fields(name: str, world) -> set[str]:
    return set().union(*[set((row.data(world) if callable(row.data) else row.data) or {}) for row in ROWS[name]])


def known_ids(world) -> list[str]:
    return sorted({str(value.pk) for value in world.values() if getattr(value, "pk", None)})


def send(client, world, name: str, method: str, data: dict, htmx: bool):
    """Send one request as the role allowed to use the URL, in a savepoint rolled back afterwards."""
    rows = ROWS[name]
    role = allowed_role(rows, method)
    row = next((r for r in rows if r.method == method), rows[0])
    headers = {"HX-Request": "true"} if htmx else {}
    with transaction.atomic():
        client.logout()
        if role is not None and world[role] is not None:
            client.force_login(world[role])
        response = getattr(client, method)(url_for(row, world), data, headers=headers)
        transaction.set_rollback(True)
    return response


def explain(response) -> str:
    """The exception behind a 500, for the failure message."""
    error = response.exc_info[1] if getattr(response, "exc_info", None) else None
    return f"{response.status_code} {error!r}"[:500]


def failure_report(failure: AssertionError) -> str:
    """The failure and hypothesis's falsifying example (long values cut short)."""
    notes = [note if len(note) < 800 else note[:800] + "..." for note in getattr(failure, "__notes__", [])]
    return "\n".join([str(failure), *notes])


def fuzz_every_url(urls, method: str, fields_of, client, world, regressions=()):
    """Fuzz each URL in turn; return the URLs that answered 500, with hypothesis's smallest example.

    `regressions` are (url name, data) pairs that once gave a 500: each is an @example of its URL.
    """
    client.raise_request_exception = False
    ids = known_ids(world)
    failures = []

    def request_to(name):
        def one_request(payload, htmx):
            response = send(client, world, name, method, payload, htmx)
            assert response.status_code < 500, f"{method.upper()} {name} -> {explain(response)}"

        return one_request

    markers = {"post": ("request.POST", "request.FILES", "request.body"), "get": ("request.GET",)}[method]
    for name in urls:
        fields, files = fields_of(name)
        row = next((r for r in ROWS[name] if r.method == method), ROWS[name][0])
        reads = view_reads(url_for(row, world), *markers)
        max_examples = EXAMPLES[method] if reads else 1
        strategy = form_data(fields, files, ids, allow_huge=method == "post")
        fuzz = given(payload=strategy, htmx=st.booleans())(request_to(name))
        for payload in [data for url, data in regressions if url == name]:
            fuzz = example(payload=payload, htmx=False)(fuzz)
        try:
            settings(FUZZ, max_examples=max_examples)(fuzz)()
        except AssertionError as failure:
            failures.append(failure_report(failure))
    return failures


# 500s the fuzzing found once, replayed every run (url name, data).
POST_REGRESSIONS: list[tuple[str, dict]] = []
GET_REGRESSIONS: list[tuple[str, dict]] = [
    # redirect() took a bare word in ?next= for a URL name: NoReverseMatch.
    ("two-factor-verify", {"next": "0"}),
]


def test_any_post_to_any_form_gets_an_answer_not_a_500(client, fuzz_world):
    world = fuzz_world
    pages = forms_on_pages(client, world)

    def fields_of(name):
        found = pages.get(name, {})
        return found.get("post", set()) | matrix_fields(name, world), found.get("files", set())

    failures = fuzz_every_url(POST_URLS, "post", fields_of, client, world, POST_REGRESSIONS)
    assert not failures, "\n".join(failures)


def test_any_query_string_on_any_page_gets_an_answer_not_a_500(client, fuzz_world):
    world = fuzz_world
    pages = forms_on_pages(client, world)

    def fields_of(name):
        return pages.get(name, {}).get("get", set()) | matrix_fields(name, world) | QUERY_FIELDS, set()

    failures = fuzz_every_url(GET_URLS, "get", fields_of, client, world, GET_REGRESSIONS)
    assert not failures, "\n".join(failures)


def test_the_fuzzer_reads_the_forms_it_fuzzes(client, fuzz_world):
    found = forms_on_pages(client, fuzz_world)
    assert "text" in found["note-create"]["post"]
    assert "file" in found["customer-import"]["files"]
    assert {"delivered_on", "receipt"} <= found["gesture-deliver"]["post"]
    assert "receipt" in found["gesture-deliver"]["files"]
    assert "reason" in found["gesture-reject"]["post"]
    assert "q" in found["customer-list"]["get"]
    assert view_reads(reverse("spend-report-csv"), "request.GET")  # through _report_filters(request)
    assert view_reads(reverse("login"), "request.POST")
    assert not view_reads(reverse("healthz"), "request.POST")
