"""A row of an interaction import read the quick way (plain parsing) says exactly what the form says."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.kernel import imports
from journeys import importer

pytestmark = pytest.mark.postgres

NOW = datetime.datetime(2026, 11, 15, 12, tzinfo=datetime.UTC)
GOOD = {
    "email": "Anna@Example.com",
    "phone": "",
    "customer_id": "",
    "first_name": "Anna",
    "last_name": "Smith",
    "occurred_at": "2026-10-01 10:30",
    "touchpoint": "in-store",
    "kind": "",
    "amount": "$1,129.50",
    "external_ref": "R-1",
    "location": "downtown",
    "sentiment": "positive",
    "summary": "",
    "offer_code": "",
}
# One cell changed makes a row the form refuses (or, for the last ones, one it reads differently).
CHANGES = [
    {"email": "not an email"},
    {"email": "", "phone": "12"},
    {"email": "", "phone": "", "customer_id": ""},
    {"occurred_at": ""},
    {"occurred_at": "31/02/2026"},
    {"occurred_at": "2027-01-01"},
    {"occurred_at": "2026-10-01T10:30+15:00"},
    {"touchpoint": "carrier pigeon"},
    {"touchpoint": ""},
    {"kind": "telepathy"},
    {"amount": "-5"},
    {"amount": "1.005"},
    {"amount": "NaN"},
    {"amount": "100000000"},
    {"external_ref": "R" * 101},
    {"offer_code": "C" * 41},
    {"location": "Atlantis"},
    {"sentiment": "furious"},
    {"summary": "a\x00b"},
    {"first_name": "A" * 200, "summary": "S" * 3000},
    {"email": "", "phone": "(207) 555-0111"},
    {"email": "", "customer_id": " T-9 "},
    {"external_ref": "", "amount": ""},
    {"kind": "Visit", "sentiment": "-1", "occurred_at": "2026-10-02"},
    {"occurred_at": "2026-10-01T10:30:00+02:00", "location": ""},
]


@pytest.fixture
def forms(location, time_at):
    time_at(NOW)
    spec = importer.SPEC

    def make():
        return spec.form(spec.context({"location": location.pk}))

    return make


def by_form(form, values):
    row = imports.ImportSpec.read(importer.SPEC, form, 1, values, {})
    return row.errors or row.data


def test_a_good_row_is_read_quickly_with_the_forms_values(forms):
    quick = forms().quick(dict(GOOD))
    assert quick is not None
    assert quick == by_form(forms(), dict(GOOD))
    assert quick["amount"] == importer.Decimal("1129.50")
    assert quick["email"] == "anna@example.com"


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: ",".join(change))
def test_the_quick_reading_agrees_with_the_form(forms, change):
    values = {**GOOD, **change}
    quick, form = forms().quick(dict(values)), by_form(forms(), dict(values))
    if quick is None:
        # Refused quickly: the form words the problem.
        assert form and all(isinstance(messages, list) for messages in form.values())
    else:
        assert quick == form


def test_bad_rows_still_get_the_forms_messages_by_line(forms):
    form = forms()
    rows = [importer.SPEC.read(form, line, {**GOOD, **change}, {}) for line, change in enumerate(CHANGES, start=2)]
    assert rows[0].errors == {"email": ["Enter a valid email address."]}
    assert rows[7].errors == {"touchpoint": ["Unknown touchpoint 'carrier pigeon'."]}
    assert rows[10].errors == {"amount": ["Not an amount: '-5'."]}
    assert rows[11].errors == {"amount": ["At most 2 decimal places."]}
    assert rows[14].errors == {"external_ref": ["Ensure this value has at most 100 characters (it has 101)."]}
    # An empty touchpoint is the default one (in store), as an empty location is the default location.
    assert rows[8].data["touchpoint"].slug == "in-store"
    assert [row.line for row in rows if row.errors] == [line for line in range(2, 21) if line != 10]


def test_identical_rows_without_a_reference_count_the_same_either_way(forms):
    values = {**GOOD, "external_ref": ""}
    quick, slow = forms(), forms()
    quick_refs = [quick.quick(dict(values))["external_ref"] for _ in range(3)]
    slow_refs = [by_form(slow, dict(values))["external_ref"] for _ in range(3)]
    assert quick_refs == slow_refs
    assert quick_refs[1] == quick_refs[0] + ":2"


CELLS = {
    "email": ["", "anna@example.com", "ANNA@example.com", "bad@", " b@example.org "],
    "phone": ["", "(207) 555-0111", "12", "+44 20 7946 0958"],
    "customer_id": ["", "T-1", " ", " T-2 "],
    "occurred_at": ["", "2026-10-01", "2026-10-01 10:30", "10/01/2026 10:30", "2026-13-01", "2030-01-01", "x"],
    "touchpoint": ["", "in-store", " In-Store ", "phone", "nowhere"],
    "kind": ["", "purchase", "visit", "VISIT", "other"],
    "amount": ["", "0", " 12.5 ", "£3", "1,000.00", "-1", "1e3", "abc", "0.001"],
    "external_ref": ["", "R-1", "R" * 100, "R" * 101],
    "location": ["", "Downtown", "downtown", "Elsewhere"],
    "sentiment": ["", "negative", "+1", "POSITIVE", "meh"],
    "summary": ["", "Bought a coat", "nul\x00"],
    "offer_code": ["", "WELCOME10", "C" * 41],
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({name: st.sampled_from(cells) for name, cells in CELLS.items()}))
def test_any_row_reads_the_same_quickly_or_by_form(forms, values):
    quick, form = forms().quick(dict(values)), by_form(forms(), dict(values))
    # A row the form accepts is read quickly, to the same values; a row it refuses is left to it.
    if "keys" in form:
        assert quick == form
    else:
        assert quick is None


def test_a_cell_that_is_not_text_is_left_to_the_form(forms):
    assert forms().quick({**GOOD, "sentiment": None}) is None
    assert forms().quick({**GOOD, "amount": 12}) is None
