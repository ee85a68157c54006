import uuid
from decimal import Decimal

import pytest

from microcx.services import budget_create, ensure_default_rules, gesture_propose


@pytest.fixture(autouse=True)
def discretion_rules(db):
    """The defaults the migration creates (a flushed transactional test database has lost them)."""
    ensure_default_rules()


@pytest.fixture
def budget(location):
    return budget_create(location=location, period="month", day=location.local_today(), amount=Decimal("200"), by=None)


@pytest.fixture
def propose(customer, location, budget):
    """Propose a gesture: propose(user, amount, **fields) -> gesture."""

    def make(user, amount, **fields):
        fields.setdefault("category", "gift_card")
        fields.setdefault("description", f"Gift card {uuid.uuid4().hex[:6]}")
        gesture, _ = gesture_propose(
            customer=fields.pop("customer", customer),
            proposer=user,
            location=location,
            amount=Decimal(amount),
            idempotency_key=fields.pop("key", uuid.uuid4()),
            confirmed_genuine=fields.pop("confirmed", True),
            **fields,
        )
        return gesture

    return make
