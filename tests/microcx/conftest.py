from decimal import Decimal

import pytest

from microcx.services import budget_create, ensure_default_rules
from tests.microcx.factories import propose_gesture


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
        if "confirmed" in fields:
            fields["confirmed_genuine"] = fields.pop("confirmed")
        return propose_gesture(
            customer=fields.pop("customer", customer), proposer=user, location=location, amount=amount, **fields
        )

    return make
