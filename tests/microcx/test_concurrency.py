"""Simultaneous approvals, proposals and budgets, on PostgreSQL with one connection per thread: the budget row
and each person's month are locked, so no number of them at once gets past a budget, a cap or a period."""

import datetime
import threading
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, connections

from microcx import services
from microcx.models import Budget, Gesture, LedgerEntry
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


def _at_once(work, arguments) -> list:
    """Run work(*args) for each args in threads released together; return what each returned or raised."""
    start = threading.Barrier(len(arguments))
    outcomes = []
    lock = threading.Lock()

    def run(args):
        try:
            start.wait()
            result = work(*args)
        except (ValidationError, PermissionDenied) as error:
            result = error
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(args,)) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == len(arguments), "a thread did not finish"
    return outcomes


def test_eight_simultaneous_proposals_by_one_person_never_pass_the_monthly_cap(location, frontline):
    """The issue's report: 8 simultaneous $20 proposals by one frontline user were all self-approved against $100."""
    budget = services.budget_create(
        location=location, period="month", day=location.local_today(), amount=Decimal("1000"), by=None
    )
    customers = [CustomerFactory(home_location=location) for _ in range(8)]

    def propose(customer):
        gesture, _ = services.gesture_propose(
            customer=customer,
            proposer=frontline,
            location=location,
            category="gift_card",
            description=f"Gift card for {customer.pk}",
            amount=Decimal("20"),
            idempotency_key=uuid.uuid4(),
            confirmed_genuine=True,
        )
        return gesture.status

    outcomes = _at_once(propose, [(c,) for c in customers])
    assert sorted(outcomes) == ["approved"] * 5 + ["pending"] * 3
    assert services.month_spend(frontline, services.spending_month(location)) == Decimal("100")
    assert services.budget_balance(budget).held == Decimal("100")
    assert all("of their $100.00 this month" in g.approval_reason for g in Gesture.objects.filter(status="pending"))


def test_simultaneous_approvals_of_a_managers_own_gestures_never_pass_the_cap(location):
    """A manager's own pending gestures (over the cap when proposed), approved by themself at once after a cancel."""
    services.budget_create(
        location=location, period="month", day=location.local_today(), amount=Decimal("1000"), by=None
    )
    manager = UserFactory(role="manager", locations=[location])
    customer = CustomerFactory(home_location=location)

    def propose(amount):
        return services.gesture_propose(
            customer=customer,
            proposer=manager,
            location=location,
            category="small_gift",
            description=f"Gift {uuid.uuid4().hex[:6]}",
            amount=Decimal(amount),
            idempotency_key=uuid.uuid4(),
            confirmed_genuine=True,
        )[0]

    big = [propose("75") for _ in range(4)]  # the manager cap is 300: all four approved
    waiting = [propose("50") for _ in range(6)]
    assert {g.status for g in big} == {"approved"} and {g.status for g in waiting} == {"pending"}
    services.gesture_cancel(gesture=big[0], by=manager)  # $75 free again: room for one $50
    outcomes = _at_once(lambda g: services.gesture_approve(gesture=g, by=manager).status, [(g,) for g in waiting])
    assert outcomes.count("approved") == 1
    assert all(isinstance(o, PermissionDenied) for o in outcomes if o != "approved")
    assert services.month_spend(manager, services.spending_month(location)) == Decimal("275")


def test_a_month_and_a_quarter_budget_set_at_the_same_moment_leave_one(location, manager):
    periods = ["month", "quarter"] * 4

    def create(period):
        return services.budget_create(
            location=location, period=period, day=datetime.date(2027, 2, 10), amount=Decimal("100"), by=manager
        )

    outcomes = _at_once(create, [(p,) for p in periods])
    made = [o for o in outcomes if isinstance(o, Budget)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(made) == 1 and len(refused) == 7
    assert all("already has a budget for" in " ".join(error.messages) for error in refused)
    assert Budget.objects.count() == 1 and LedgerEntry.objects.count() == 1


def test_flush_empties_the_ledger_but_a_plain_truncate_is_still_refused(location):
    """Transactional tests end with `manage.py flush` (TRUNCATE of every table): the flush command may."""
    services.budget_create(location=location, period="month", day=location.local_today(), amount=Decimal("5"), by=None)
    with pytest.raises(DatabaseError, match="TRUNCATE is not allowed"), connection.cursor() as cursor:
        cursor.execute("TRUNCATE microcx_ledgerentry")
    assert LedgerEntry.objects.count() == 1
    call_command("flush", interactive=False, verbosity=0)
    assert LedgerEntry.objects.count() == 0 and Budget.objects.count() == 0
    with pytest.raises(DatabaseError, match="TRUNCATE is not allowed"), connection.cursor() as cursor:
        cursor.execute("TRUNCATE microcx_ledgerentry")
