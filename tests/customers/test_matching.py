"""The one customer matcher every import uses: external id, then email, then phone, normalised, one query."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.matching import CustomerKeys, match_customers
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres


def make_customer(location, **fields):
    fields.setdefault("phone", "")
    return CustomerFactory(home_location=location, **fields)


def test_keys_are_normalised_email_in_lower_case_and_phones_in_international_form():
    keys = CustomerKeys.of(
        external_id=" T-1 ", email=" Anna@Example.COM ", phones=["(207) 555-0101", "", "207 555 0101"]
    )
    assert keys == CustomerKeys(external_id="T-1", email="anna@example.com", phones=("+12075550101",))
    assert keys.key == ("external_id", "T-1")
    assert CustomerKeys.of(phones=["+44 20 7946 0958"]).key == ("phone", "+442079460958")
    assert not CustomerKeys.of()
    with pytest.raises(ValidationError):
        CustomerKeys.of(phones=["12"])


def test_an_external_id_beats_an_email_and_an_email_beats_a_phone(location):
    by_id = make_customer(location, external_id="T-1", email="", phone="")
    by_email = make_customer(location, email="anna@example.com", phone="")
    by_phone = make_customer(location, email="", phone="+12075550101")
    keys = [
        CustomerKeys(external_id="T-1", email="anna@example.com", phones=("+12075550101",)),
        CustomerKeys(email="anna@example.com", phones=("+12075550101",)),
        CustomerKeys(phones=("+12075550199", "+12075550101")),  # a contact's second number
        CustomerKeys(email="nobody@example.com"),
    ]
    assert match_customers(keys) == [by_id.pk, by_email.pk, by_phone.pk, None]


def test_an_email_matches_whatever_its_case_was_when_stored(location):
    customer = make_customer(location, email="anna@example.com")
    type(customer).objects.filter(pk=customer.pk).update(email="Anna@Example.com")  # an old row, stored as typed
    assert match_customers([CustomerKeys.of(email="ANNA@example.com")]) == [customer.pk]


def test_erased_customers_never_match_and_the_oldest_of_two_sharing_a_phone_wins(location):
    erased = make_customer(location, email="gone@example.com")
    type(erased).objects.filter(pk=erased.pk).update(erased_at=timezone.now())
    older = make_customer(location, email="", phone="+12075550101")
    make_customer(location, email="", phone="+12075550101")
    assert match_customers([CustomerKeys(email="gone@example.com"), CustomerKeys(phones=("+12075550101",))]) == [
        None,
        older.pk,
    ]


def test_a_batch_is_matched_in_one_query(location, django_assert_num_queries):
    customers = [make_customer(location, email=f"c{i}@example.com") for i in range(30)]  # no phones
    keys = [CustomerKeys(email=f"c{i}@example.com", phones=(f"+1207555{i:04d}",)) for i in range(30)]
    with django_assert_num_queries(1):
        assert match_customers(keys) == [c.pk for c in customers]
    with django_assert_num_queries(0):
        assert match_customers([]) == []
