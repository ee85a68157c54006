"""The audit trail: who changed what, who read sensitive notes, and owners reading it."""

import datetime
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from customers.models import Note
from customers.services import note_create
from tests.customers.factories import ImportantDateFactory
from tests.microcx.factories import propose_gesture

SECRET = "her father's chemotherapy starts Monday"


@pytest.fixture
def sensitive_note(customer, frontline, location):
    customer.locations.add(location)
    return note_create(customer=customer, author=frontline, text=SECRET, is_sensitive=True)


def entries_for(obj):
    return LogEntry.objects.get_for_object(obj).order_by("pk")


def test_editing_a_note_records_who_and_when_but_never_the_text(client, frontline, sensitive_note):
    client.force_login(frontline)
    client.post(
        reverse("note-edit", kwargs={"note_pk": sensitive_note.pk}),
        {"text": SECRET + " (moved to Tuesday)", "is_sensitive": "on"},
    )
    created, changed = entries_for(sensitive_note)
    assert created.action == LogEntry.Action.CREATE
    assert changed.action == LogEntry.Action.UPDATE and changed.actor == frontline
    assert changed.changes_dict["text"] == ["(hidden)", "(hidden)"]
    assert changed.object_repr == f"Note #{sensitive_note.pk}"
    assert changed.additional_data == {"customer_id": sensitive_note.customer_id}
    for entry in LogEntry.objects.all():
        assert "chemotherapy" not in f"{entry.object_repr} {entry.changes} {entry.changes_text}"


def test_opening_a_customer_with_sensitive_notes_records_the_view(client, frontline, customer, sensitive_note):
    client.force_login(frontline)
    client.get(reverse("customer-detail", kwargs={"pk": customer.pk}))
    viewed = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert viewed.actor == frontline
    assert viewed.additional_data == {"customer_id": customer.pk, "sensitive_notes": [sensitive_note.pk]}


def test_no_view_is_recorded_when_nothing_sensitive_was_shown(client, frontline, manager, customer, location):
    customer.locations.add(location)
    note_create(customer=customer, author=frontline, text="Likes oolong")
    client.force_login(frontline)
    client.get(reverse("customer-detail", kwargs={"pk": customer.pk}))
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_staff_who_may_not_read_a_sensitive_note_leave_no_view(client, other_location, sensitive_note, customer):
    from tests.crm.factories import UserFactory

    manager_elsewhere = UserFactory(role="manager", locations=[other_location])
    client.force_login(manager_elsewhere)
    page = client.get(reverse("customer-detail", kwargs={"pk": customer.pk})).content.decode()
    assert "chemotherapy" not in page
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_dates_gestures_budgets_and_roles_are_audited(customer, frontline, location, manager):
    from microcx.services import budget_create

    date = ImportantDateFactory(customer=customer)
    date.day = 3
    date.save()
    budget = budget_create(location=location, period="month", day=location.local_today(), amount=Decimal("90"), by=None)
    gesture = propose_gesture(
        customer=customer, proposer=frontline, location=location, category="card", description="A card", amount="5"
    )
    frontline.groups.add(Group.objects.get(name="Manager"))

    assert [e.action for e in entries_for(date)] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert entries_for(budget).exists()
    gesture_entry = entries_for(gesture).first()
    assert gesture_entry.changes_dict["description"][1] == "(hidden)"
    assert gesture_entry.additional_data == {"customer_id": customer.pk}
    role_change = entries_for(frontline).filter(changes__icontains="Manager").get()
    assert "Manager" in str(role_change.changes_dict)


def test_the_trail_names_people_and_customers_and_shows_local_times(client, owner, frontline, customer, location):
    from customers.services import follow_up_create
    from microcx.services import budget_create

    budget_create(location=location, period="month", day=location.local_today(), amount=Decimal("90"), by=None)
    propose_gesture(
        customer=customer, proposer=frontline, location=location, category="card", description="A card", amount="5"
    )
    follow_up = follow_up_create(
        customer=customer,
        created_by=frontline,
        prompt="Ask about the trip",
        due="on_date",
        due_date=location.local_today(),
    )
    client.force_login(owner)
    page = client.get(reverse("audit-log"), {"customer": customer.pk})
    rows = [row for entry in page.context["page"].object_list for row in entry.rows]
    shown = {label: after for label, _before, after in rows}
    assert shown["Customer"] == str(customer) and shown["Proposed by"] == str(frontline)
    assert shown["Created by"] == str(frontline)
    assert all(not value.isdigit() for label, _b, value in rows if label in ("Customer", "Proposed by", "Location"))
    assert follow_up.pk
    # Stored times (UTC) read in the business's own zone, as the headings are.
    from crm.kernel.views_security import _shown

    assert _shown("2026-12-01 17:31:09.123+00:00") == timezone.localtime(
        datetime.datetime(2026, 12, 1, 17, 31, tzinfo=datetime.UTC)
    ).strftime("%Y-%m-%d %H:%M")


def test_owner_reads_the_trail_per_customer_and_per_staff_member(
    client, owner, frontline, customer, sensitive_note, django_assert_max_num_queries
):
    client.force_login(frontline)
    client.get(reverse("customer-detail", kwargs={"pk": customer.pk}))
    client.force_login(owner)
    with django_assert_max_num_queries(16):
        by_customer = client.get(reverse("audit-log"), {"customer": customer.pk})
    text = by_customer.content.decode()
    assert "viewed the sensitive notes of" in text and str(frontline) in text
    assert "chemotherapy" not in text
    by_staff = client.get(reverse("audit-log"), {"staff": frontline.pk, "viewed": "1"})
    assert len(by_staff.context["page"].object_list) == 1
    assert client.get(reverse("audit-log"), {"staff": "not-a-number"}).status_code == 404


def test_the_trail_page_keeps_its_query_count_with_many_entries(
    client, owner, frontline, customer, location, django_assert_max_num_queries
):
    customer.locations.add(location)
    for i in range(60):
        note_create(customer=customer, author=frontline, text=f"Note {i}")
    client.force_login(owner)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("audit-log"))
    assert len(response.context["page"].object_list) == 50
    assert Note.objects.count() == 60


def test_the_trail_records_the_real_address_not_a_forged_header(client, frontline, sensitive_note, customer):
    client.force_login(frontline)
    client.get(
        reverse("customer-detail", kwargs={"pk": customer.pk}),
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    assert LogEntry.objects.get(action=LogEntry.Action.ACCESS).remote_addr == "198.51.100.7"


def test_the_gesture_page_records_who_read_the_sensitive_note_behind_it(client, frontline, location, sensitive_note):
    from microcx.services import budget_create

    budget_create(location=location, period="month", day=location.local_today(), amount=Decimal("90"), by=None)
    gesture = propose_gesture(
        customer=sensitive_note.customer, proposer=frontline, location=location, amount="5", note=sensitive_note
    )
    client.force_login(frontline)
    page = client.get(reverse("gesture-detail", kwargs={"pk": gesture.pk})).content.decode()
    assert "chemotherapy" in page
    viewed = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert viewed.additional_data["sensitive_notes"] == [sensitive_note.pk]


def test_unlocking_a_login_and_resetting_an_authenticator_are_in_the_trail(client, owner, frontline):
    from axes.models import AccessAttempt
    from django_otp.plugins.otp_totp.models import TOTPDevice

    attempt = AccessAttempt.objects.create(
        username="fran", ip_address="203.0.113.9", user_agent="x", failures_since_start=5
    )
    TOTPDevice.objects.create(user=frontline, name="phone", confirmed=True)
    client.force_login(owner)
    client.post(reverse("lockout-unlock", kwargs={"pk": attempt.pk}))
    client.post(reverse("staff-two-factor-reset", kwargs={"pk": frontline.pk}))
    said = list(LogEntry.objects.filter(actor=owner).values_list("changes_text", flat=True))
    assert "Unlocked the login 'fran' from 203.0.113.9." in said
    assert "Two-factor authenticator removed (lost phone)." in said


def test_the_trail_reads_as_words_and_outlives_an_erased_customer(client, owner, customer, location):
    from customers.services import customer_erase

    date = ImportantDateFactory(customer=customer, kind="birthday")
    date.kind = "wedding"
    date.save()
    client.force_login(owner)
    page = client.get(reverse("audit-log"), {"customer": customer.pk}).content.decode()
    assert "Birthday → Wedding anniversary" in page
    customer_erase(customer=customer, by=owner)
    page = client.get(reverse("audit-log"), {"customer": customer.pk}).content.decode()
    assert "erased the personal data of" in page


def test_opening_the_security_page_is_not_an_audited_change(client, owner):
    client.force_login(owner)
    client.get(reverse("security"))
    assert not LogEntry.objects.filter(content_type__model="securitypolicy").exists()
