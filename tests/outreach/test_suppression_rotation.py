"""The do-not-send list survives rotating SECRET_KEY (the old key kept in SECRET_KEY_FALLBACKS)."""

import pytest

from customers.signals import address_suppressed
from outreach import policy, services
from outreach.models import Suppression

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

OLD = "an-old-secret-key-that-was-rotated-out-0123456789-abcdefghijklmnop"
NEW = "the-new-secret-key-after-rotation-0123456789-abcdefghijklmnopqrstuv"


def test_an_address_suppressed_under_the_old_key_stays_suppressed_and_is_rekeyed(settings):
    settings.SECRET_KEY = OLD
    services.suppress(address="Anna@Example.com", channel="email", reason="erased customer")
    old_hash = Suppression.objects.get().address_hash

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert policy.is_suppressed("anna@example.com")
    assert address_suppressed(" ANNA@example.com ")
    # Looked up once, it now carries the new key's hash: dropping the old key later loses nothing.
    assert Suppression.objects.get().address_hash == policy.address_hash("anna@example.com") != old_hash
    settings.SECRET_KEY_FALLBACKS = []
    assert policy.is_suppressed("anna@example.com")
    assert not policy.is_suppressed("someone.else@example.com")


def test_without_the_old_key_in_the_fallbacks_the_old_hash_matches_nothing(settings):
    """Why the README says to keep the old key: the hash cannot be recomputed without it."""
    settings.SECRET_KEY = OLD
    services.suppress(address="anna@example.com", channel="email", reason="erased customer")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, []
    assert not policy.is_suppressed("anna@example.com")


def test_the_same_address_suppressed_under_both_keys_leaves_one_row(settings):
    settings.SECRET_KEY = OLD
    services.suppress(address="anna@example.com", channel="email", reason="erased customer")
    settings.SECRET_KEY = NEW
    services.suppress(address="anna@example.com", channel="email", reason="unsubscribed")
    settings.SECRET_KEY_FALLBACKS = [OLD]
    assert policy.suppressed_among(["anna@example.com", "bob@example.com"]) == {"anna@example.com"}
    assert list(Suppression.objects.values_list("address_hash", flat=True)) == [policy.address_hash("anna@example.com")]
