"""Random sequences of allocate / propose / approve / reject / deliver / cancel keep the ledger's invariants."""

import datetime
import itertools
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microcx import services
from microcx.models import Gesture, LedgerEntry
from tests.crm.factories import LocationFactory, UserFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres
counter = itertools.count()

operations = st.lists(
    st.tuples(
        st.sampled_from(["allocate", "propose", "approve", "reject", "deliver", "cancel"]),
        st.integers(min_value=-50, max_value=120),  # an amount, sometimes bad
        st.integers(min_value=0, max_value=30),  # which gesture or person
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_ledger_invariants_hold_under_any_sequence(db, ops):
    services.ensure_default_rules()
    n = next(counter)
    location = LocationFactory(name=f"Property shop {n}")
    owner = UserFactory(role="owner", username=f"owner-{n}", locations=[location])
    manager = UserFactory(role="manager", username=f"manager-{n}", locations=[location])
    staff = [UserFactory(role="frontline", username=f"staff-{n}-{i}", locations=[location]) for i in range(3)]
    people = [owner, manager, *staff]
    customers = [CustomerFactory(home_location=location) for _ in range(3)]
    budget = services.budget_create(
        location=location, period="month", day=location.local_today(), amount=Decimal("100"), by=None
    )
    gestures: list[Gesture] = []
    for op, amount, which in ops:
        amount = Decimal(amount)
        try:
            if op == "allocate":
                services.budget_adjust(budget=budget, amount=amount, reason="property test", by=owner)
            elif op == "propose":
                gesture, _ = services.gesture_propose(
                    customer=customers[which % 3],
                    proposer=people[which % len(people)],
                    location=location,
                    category="gift_card",
                    description=f"gift {which}",
                    amount=amount,
                    idempotency_key=uuid.uuid4(),
                    confirmed_genuine=True,
                )
                gestures.append(gesture)
            elif gestures:
                gesture = Gesture.objects.get(pk=gestures[which % len(gestures)].pk)
                if op == "approve":
                    services.gesture_approve(gesture=gesture, by=owner)
                elif op == "reject":
                    services.gesture_reject(gesture=gesture, by=manager, reason="no")
                elif op == "deliver":
                    services.gesture_deliver(gesture=gesture, by=manager, delivered_on=datetime.date(2026, 11, 1))
                elif op == "cancel":
                    services.gesture_cancel(gesture=gesture, by=manager)
        except (ValidationError, PermissionDenied, services.NeedsConfirmation):
            pass  # refused with a message: nothing may have changed, which the invariants check
        assert_invariants(budget)


def assert_invariants(budget):
    balance = services.budget_balance(budget)
    assert balance.available >= 0
    assert balance.held >= 0
    assert balance.allocated == balance.available + balance.held + balance.spent
    gestures = Gesture.objects.filter(budget=budget)
    held = sum((g.amount for g in gestures if g.status == Gesture.Status.APPROVED), Decimal(0))
    spent = sum((g.amount for g in gestures if g.status == Gesture.Status.DELIVERED), Decimal(0))
    assert (balance.held, balance.spent) == (held, spent)
    for gesture in gestures:
        kinds = sorted(LedgerEntry.objects.filter(gesture=gesture).values_list("kind", flat=True))
        expected = {
            Gesture.Status.PENDING: [],
            Gesture.Status.REJECTED: [],
            Gesture.Status.APPROVED: ["hold"],
            Gesture.Status.DELIVERED: ["hold", "spend"],
        }.get(gesture.status)
        if gesture.status == Gesture.Status.CANCELLED:
            assert kinds in ([], ["hold", "release"])
        else:
            assert kinds == expected
