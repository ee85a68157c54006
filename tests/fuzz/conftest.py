"""What the fuzz tests share: the role matrix's world, the forms each page shows, and hostile values.

The form fields are read from the pages themselves (every <form> and hx-post on every page the
matrix can open), so a new form is fuzzed without anyone listing its fields here.
"""

from __future__ import annotations

import inspect
import logging
import re
import uuid
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, resolve, reverse
from hypothesis import strategies as st

from tests import test_role_matrix
from tests.test_role_matrix import LOGIN, MATRIX

# The role matrix's world (a customer, notes, a gesture, a budget... and a user per role), fixture and all.
world = test_role_matrix.world

# Who may use a URL: the most privileged role the matrix lets through (owners may do the most).
ROLE_PREFERENCE = ("owner", "manager", "frontline", "anonymous")


def rows_by_name() -> dict[str, list]:
    rows: dict[str, list] = {}
    for row in MATRIX:
        rows.setdefault(row.name, []).append(row)
    return rows


def allowed_role(rows, method: str) -> str | None:
    """Return the role the matrix lets use the URL with this method: one that gets the page (200) if any
    (the login page: a visitor), else one that gets through (a redirect that is not to the login page)."""
    candidates = [row for row in rows if row.method == method] or rows
    for allowed in (lambda status: status == 200, lambda status: status < 400):
        for role in ROLE_PREFERENCE:
            for row in candidates:
                expected = row.expected(role)
                if expected != LOGIN and isinstance(expected, int) and allowed(expected):
                    return role
    return None


def view_reads(url: str, *markers: str) -> bool:
    """Whether the URL's view (or a helper of its module it hands the request to) reads any of `markers`."""
    view = resolve(urlsplit(url).path).func
    if hasattr(view, "view_class"):
        return True  # a class-based view (login, password change): Django's forms read the request
    view = inspect.unwrap(view)
    try:
        source = inspect.getsource(view)
    except (TypeError, OSError):
        return True  # a class-based or built-in view: assume it reads everything
    module = inspect.getmodule(view)
    for helper in set(re.findall(r"(\w+)\(request\b", source)):
        function = getattr(module, helper, None)
        if inspect.isfunction(function):
            source += inspect.getsource(inspect.unwrap(function))
    return any(marker in source for marker in markers)


@pytest.fixture(autouse=True)
def quiet_request_logs():
    """Keep the thousands of refused requests out of pytest's log capture: each logged 4xx holds its request,
    fuzzed body and all, until the test ends. A 500 is still reported, with its exception, by the test."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security", "axes")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


# URLs that only do something for an approved gesture (the matrix's gesture is pending).
NEEDS_APPROVED_GESTURE = {"gesture-deliver"}


@pytest.fixture
def fuzz_world(world):
    """The matrix's world, plus an approved gesture so the delivery form is there to fuzz."""
    from microcx.services import gesture_approve, gesture_propose

    gesture, _ = gesture_propose(
        customer=world["customer"],
        proposer=world["frontline"],
        location=world["location"],
        category="flowers",
        description="Flowers for the anniversary",
        amount=Decimal("20"),
        idempotency_key=uuid.uuid4(),
        confirmed_genuine=True,
    )
    if gesture.status == gesture.Status.PENDING:
        gesture_approve(gesture=gesture, by=world["owner"])
    return {**world, "approved_gesture": gesture}


def url_for(row, world_objects: dict) -> str:
    if row.name in NEEDS_APPROVED_GESTURE:
        world_objects = {**world_objects, "gesture": world_objects["approved_gesture"]}
    return reverse(row.name, kwargs=row.kwargs(world_objects) if row.kwargs else {})


class _FormReader(HTMLParser):
    """Collect, per form target (action or hx-post/hx-get), the names of its fields and which are files."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[dict] = []
        self.current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        target = attrs.get("hx-post") or attrs.get("hx-get")
        if tag == "form":
            method = "get" if (attrs.get("method") or "get").lower() == "get" and not attrs.get("hx-post") else "post"
            self.current = {
                "target": target or attrs.get("action") or self.page_url,
                "method": method,
                "fields": set(),
                "files": set(),
            }
            self.forms.append(self.current)
        elif target and tag in ("button", "a", "input", "select", "div"):
            # An htmx control outside a form posts its own name/value (and hx-vals, which we cannot read here).
            self.forms.append(
                {"target": target, "method": "post" if attrs.get("hx-post") else "get", "fields": set(), "files": set()}
            )
        if tag in ("input", "select", "textarea", "button") and attrs.get("name") and self.current is not None:
            self.current["fields"].add(attrs["name"])
            if attrs.get("type") == "file":
                self.current["files"].add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def read_forms(html: str, page_url: str) -> list[dict]:
    reader = _FormReader(page_url)
    reader.feed(html)
    return reader.forms


def url_name(target: str) -> str | None:
    try:
        return resolve(urlsplit(target).path).url_name
    except Resolver404:
        return None


# --- hostile values -----------------------------------------------------------------------------

HUGE = "x" * 100_000
# Larger than DATA_UPLOAD_MAX_MEMORY_SIZE: Django must answer 400, not fall over.
OVER_THE_LIMIT = "y" * 3_000_000
SPECIAL = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "0",
    "-1",
    "1.5",
    "-0.01",
    "1e309",
    "1E+999999",
    "NaN",
    "Infinity",
    "-Infinity",
    "99999999999999999999",
    "9" * 40,
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2026-13",
    "2026-1",
    "-2026-01-01",
    "31/12/2026",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '=HYPERLINK("http://evil.example")',
    "true",
    "on",
    "null",
    "[]",
    "{}",
    "%00",
    "ǅ𝔘ñí©ødé 🙂",
    "\u202e\u200b",
    HUGE,
]
text_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(SPECIAL),
    st.integers().map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.dates().map(lambda day: day.isoformat()),
    st.dates().map(lambda day: day.strftime("%Y-%m")),
)

CSV_GOOD = b"first name,last name,email,location\nAnna,Kowalski,anna@example.com,Downtown\n"
FILE_CONTENTS = [
    CSV_GOOD,
    b"",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    b"\xff\xd8\xff\xe0\x00\x10JFIF",
    b"PK\x03\x04\x14\x00\x06\x00",
    b"MZ\x90\x00\x03\x00\x00\x00",
    "first name\n\u00e9\n".encode("utf-16"),
    b"first name,email\n\xff\xfe\xfa\n",
    b"<html><script>alert(1)</script></html>",
    b"=cmd|' /C calc'!A0,x\n",
]
FILE_NAMES = ["import.csv", "receipt.jpg", "receipt.pdf", "x.png", "evil.html", "../../x.csv", "noextension", "a.CSV"]


@st.composite
def uploads(draw):
    content = draw(st.one_of(st.sampled_from(FILE_CONTENTS), st.binary(max_size=300)))
    return SimpleUploadedFile(
        draw(st.sampled_from(FILE_NAMES)),
        content,
        content_type=draw(st.sampled_from(["text/csv", "application/octet-stream", "image/png", "text/html"])),
    )


def field_values(known_ids: list[str], is_file: bool = False):
    """A value for one field: text, an id that exists, several values, a file; sometimes far too big."""
    single = st.one_of(text_values, st.sampled_from(known_ids or ["1"]))
    choices = [single, single, st.lists(single, min_size=2, max_size=3)]
    if is_file:
        choices = [uploads(), uploads(), *choices]
    return st.one_of(*choices)


@st.composite
def form_data(draw, fields: set[str], files: set[str], known_ids: list[str], allow_huge: bool = True):
    """Some of the form's own fields (wrong types, missing ones) plus fields nobody asked for."""
    chosen = draw(st.sets(st.sampled_from(sorted(fields)), max_size=len(fields))) if fields else set()
    if fields and draw(st.booleans()):
        chosen = set(fields)  # the whole form, so validation gets past "required"
    data = {name: draw(field_values(known_ids, is_file=name in files)) for name in sorted(chosen)}
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12), field_values(known_ids), max_size=2))
    for name, value in extra.items():
        data.setdefault(name, value)
    if allow_huge and draw(st.integers(0, 40)) == 0:
        data["huge"] = OVER_THE_LIMIT
    return data
