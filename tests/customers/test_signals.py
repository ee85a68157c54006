"""The customers floor tells the apps above it what happened through signals: each fires once per event,
its receivers run, and a receiver connected twice (same dispatch_uid) runs once."""

import datetime

import pytest
from django.apps import apps
from django.utils import timezone

from crm.inbox.models import Notification
from customers import extensions, signals
from customers.models import Customer, FollowUp
from customers.services import (
    customer_erase,
    customers_contacts_add,
    follow_up_complete,
    follow_up_create,
    follow_up_dismiss,
    follow_up_take,
)
from journeys.models import Interaction, Touchpoint
from journeys.services import interaction_record

pytestmark = pytest.mark.postgres

SIGNALS = {
    "follow_up_closed": signals.follow_up_closed,
    "follow_up_taken": signals.follow_up_taken,
    "contact_recorded": signals.contact_recorded,
    "contacts_recorded": signals.contacts_recorded,
    "customer_erasing": signals.customer_erasing,
}


@pytest.fixture
def heard():
    """Record every sending of the customers signals, connected twice under one dispatch_uid each."""
    sent: dict[str, list[dict]] = {name: [] for name in SIGNALS}
    receivers = {}
    for name, signal in SIGNALS.items():

        def receiver(sender, _name=name, **kwargs):
            sent[_name].append({"sender": sender, **kwargs})

        receivers[name] = receiver
        for _ in range(2):
            signal.connect(receiver, dispatch_uid=f"tests.heard.{name}")
    yield sent
    for name, signal in SIGNALS.items():
        assert signal.disconnect(dispatch_uid=f"tests.heard.{name}")


def reminder(user, customer, kind, follow_up=None, takeable=False):
    return Notification.objects.create(
        recipient=user,
        kind=kind,
        occurrence=datetime.date(2026, 4, 1),
        customer=customer,
        follow_up=follow_up,
        title="reminder",
        takeable=takeable,
    )


def test_a_completed_follow_up_is_announced_once_and_the_inbox_settles_its_reminders(heard, customer, frontline):
    follow_up = follow_up_create(customer=customer, created_by=frontline, prompt="Ask about the trip")
    due = reminder(frontline, customer, Notification.Kind.FOLLOW_UP_DUE, follow_up)
    follow_up_complete(follow_up=follow_up, user=frontline)
    assert [(e["sender"], e["follow_up"].pk) for e in heard["follow_up_closed"]] == [(FollowUp, follow_up.pk)]
    due.refresh_from_db()
    assert due.done_at is not None


def test_a_dismissed_follow_up_is_announced_once(heard, customer, frontline):
    follow_up = follow_up_create(customer=customer, created_by=frontline, prompt="Ask about the trip")
    follow_up_dismiss(follow_up=follow_up, user=frontline)
    assert [e["follow_up"].status for e in heard["follow_up_closed"]] == [FollowUp.Status.DISMISSED]


def test_a_taken_follow_up_is_announced_once_and_the_others_reminders_stop_offering_it(
    heard, customer, frontline, manager
):
    follow_up = follow_up_create(customer=customer, created_by=manager, prompt="Call about the order")
    theirs = reminder(manager, customer, Notification.Kind.FOLLOW_UP_UNTAKEN, follow_up, takeable=True)
    follow_up_take(follow_up=follow_up, user=frontline)
    assert [e["follow_up"].assignee for e in heard["follow_up_taken"]] == [frontline]
    theirs.refresh_from_db()
    assert theirs.done_at is not None and not theirs.takeable


def test_a_recorded_contact_is_announced_once_and_settles_keep_in_touch(heard, customer, frontline, location):
    keep = reminder(frontline, customer, Notification.Kind.KEEP_IN_TOUCH)
    interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=location,
        staff=frontline,
        kind=Interaction.Kind.VISIT,
    )
    assert [(e["sender"], e["customer"].pk) for e in heard["contact_recorded"]] == [(Customer, customer.pk)]
    keep.refresh_from_db()
    assert keep.done_at is not None


def test_contacts_recorded_in_bulk_are_announced_once_per_chunk(heard, customer, other_customer, location, frontline):
    keep = reminder(frontline, customer, Notification.Kind.KEEP_IN_TOUCH)
    now = timezone.now()
    customers_contacts_add(
        [
            (customer.pk, location.pk, now, True),
            (other_customer.pk, location.pk, now, False),
            (customer.pk, location.pk, now, True),
        ]
    )
    assert [sorted(e["customer_ids"]) for e in heard["contacts_recorded"]] == [sorted([customer.pk, other_customer.pk])]
    assert heard["contact_recorded"] == []
    keep.refresh_from_db()
    assert keep.done_at is not None


def test_erasing_is_announced_once_inside_the_erase_and_every_app_removes_its_part(heard, customer, owner, location):
    interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="phone"),
        location=location,
        staff=owner,
        summary="Talked about her divorce",
        external_ref="till-123",
    )
    reminder(owner, customer, Notification.Kind.KEEP_IN_TOUCH)
    customer_erase(customer=customer, by=owner)
    assert [(e["customer"].pk, e["by"]) for e in heard["customer_erasing"]] == [(customer.pk, owner)]
    assert list(Interaction.objects.filter(customer=customer).values_list("summary", "external_ref")) == [("", None)]
    assert not Notification.objects.filter(customer=customer).exists()


def test_apps_ready_twice_adds_no_second_receiver_nor_slot(customer, frontline):
    before = {name: len(signal.receivers) for name, signal in SIGNALS.items()}
    slots_before = {namespace: len(getattr(extensions.slots, namespace)) for namespace in extensions.Slots.NAMESPACES}
    for label in ("inbox", "journeys", "microcx"):
        apps.get_app_config(label).ready()
    assert {name: len(signal.receivers) for name, signal in SIGNALS.items()} == before
    assert {n: len(getattr(extensions.slots, n)) for n in extensions.Slots.NAMESPACES} == slots_before
    follow_up = follow_up_create(customer=customer, created_by=frontline, prompt="Ask about the trip")
    calls = []
    signals.follow_up_closed.connect(lambda sender, **kw: calls.append(kw), weak=False, dispatch_uid="tests.once")
    signals.follow_up_closed.connect(lambda sender, **kw: calls.append(kw), weak=False, dispatch_uid="tests.once")
    try:
        follow_up_dismiss(follow_up=follow_up, user=frontline)
    finally:
        signals.follow_up_closed.disconnect(dispatch_uid="tests.once")
    assert len(calls) == 1


def test_every_receiver_of_the_customers_signals_has_a_dispatch_uid():
    for name, signal in SIGNALS.items():
        assert signal.receivers, name
        for lookup_key, _receiver, *_ in signal.receivers:
            assert isinstance(lookup_key[0], str), f"{name}: a receiver connected without dispatch_uid"


def test_the_slot_registry_refuses_an_unknown_namespace_or_the_wrong_kind_of_slot():
    section = extensions.Section(name="x", context=lambda customer, user: {}, template="x.html")
    with pytest.raises(KeyError):
        extensions.slots.register("sidebar", section)
    with pytest.raises(TypeError):
        extensions.slots.register("timeline", section)
    assert {slot.name for slot in extensions.slots.brief} >= {"journey", "gestures"}
    assert [slot.kind for slot in extensions.slots.timeline] == ["interaction"]
    assert [slot.name for slot in extensions.slots.form] == ["heard_via"]


def test_contacts_in_bulk_reschedule_keep_in_touch_of_customers_with_a_cadence_only(location, time_at):
    from customers.models import Tag
    from tests.customers.factories import CustomerFactory

    time_at(datetime.datetime(2026, 3, 10, 15, tzinfo=datetime.UTC))
    own = CustomerFactory(home_location=location, keep_in_touch_days=30)
    tagged = CustomerFactory(home_location=location)
    tagged.tags.add(Tag.objects.create(name="regular", keep_in_touch_days=14))
    none = CustomerFactory(home_location=location)
    at = datetime.datetime(2026, 3, 9, 18, tzinfo=datetime.UTC)
    customers_contacts_add([(c.pk, location.pk, at, True) for c in (own, tagged, none)])
    day = timezone.localtime(at, location.tzinfo).date()
    due = dict(Customer.objects.filter(pk__in=[own.pk, tagged.pk, none.pk]).values_list("pk", "keep_in_touch_due_on"))
    days = datetime.timedelta(days=1)
    assert due == {own.pk: day + 30 * days, tagged.pk: day + 14 * days, none.pk: None}
    assert set(location.customers.values_list("pk", flat=True)) >= {own.pk, tagged.pk, none.pk}
