"""Twenty managers approve at the same moment against a budget that covers five: exactly five succeed."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from microcx import services
from microcx.models import Gesture, LedgerEntry
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_parallel_approvals_never_overspend(location, frontline):
    budget = services.budget_create(
        location=location, period="month", day=location.local_today(), amount=Decimal("150"), by=None
    )
    managers = [UserFactory(role="manager", locations=[location]) for _ in range(20)]
    gestures = [
        services.gesture_propose(
            customer=CustomerFactory(home_location=location),
            proposer=frontline,
            location=location,
            category="small_gift",
            description=f"Gift {i}",
            amount=Decimal("30"),
            idempotency_key=uuid.uuid4(),
            confirmed_genuine=True,
        )[0]
        for i in range(20)
    ]
    # 30 is above the frontline limit of 25: all twenty wait for a manager.
    assert {g.status for g in gestures} == {Gesture.Status.PENDING}
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(gesture, manager):
        try:
            start.wait()
            services.gesture_approve(gesture=gesture, by=manager)
            result = "approved"
        except ValidationError as error:
            result = " ".join(error.messages)
        finally:
            connections.close_all()  # each thread had its own connection
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=approve, args=(g, m)) for g, m in zip(gestures, managers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes.count("approved") == 5
    refused = [o for o in outcomes if o != "approved"]
    assert len(refused) == 15 and all("Not enough left" in o for o in refused)
    balance = services.budget_balance(budget)
    assert balance.available == Decimal("0") and balance.held == Decimal("150")
    entries = LedgerEntry.objects.filter(budget=budget)
    assert sum(e.amount for e in entries if e.kind == "hold") == Decimal("150")
    assert Gesture.objects.filter(status=Gesture.Status.APPROVED).count() == 5


def test_parallel_auto_approved_proposals_never_overspend(location):
    budget = services.budget_create(
        location=location, period="month", day=location.local_today(), amount=Decimal("50"), by=None
    )
    staff = [UserFactory(role="frontline", locations=[location]) for _ in range(20)]
    customers = [CustomerFactory(home_location=location) for _ in range(20)]
    start = threading.Barrier(20)
    outcomes = []

    def propose(user, customer):
        try:
            start.wait()
            gesture, _ = services.gesture_propose(
                customer=customer,
                proposer=user,
                location=location,
                category="card",
                description=f"Card from {user.username}",
                amount=Decimal("10"),
                idempotency_key=uuid.uuid4(),
            )
            outcomes.append(gesture.status)
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=propose, args=pair) for pair in zip(staff, customers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("approved") == 5
    assert services.budget_balance(budget).available == Decimal("0")
    assert Gesture.objects.count() == 5  # the refused ones saved nothing
