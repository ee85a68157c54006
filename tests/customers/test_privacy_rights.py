"""Privacy rights: an owner exports everything about one customer, and erases it for good."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm.inbox.models import Notification
from crm.kernel.models import SecurityPolicy
from customers.models import Customer, Note
from tests.customers.factories import CustomerFactory, FollowUpFactory, ImportantDateFactory, PersonFactory

NAME = "Zenobia"
SURNAME = "Quarrington"
EMAIL = "zenobia.quarrington@example.org"
PHRASE = "her tortoise Methuselah swallowed a marble"
TILL_REF = "TILL-77-4410-Z"


@pytest.fixture
def held(location, frontline, owner):
    """A customer with something in every table that can hold personal data."""
    from journeys.models import Touchpoint
    from journeys.services import interaction_record
    from microcx.services import budget_create
    from tests.microcx.factories import propose_gesture

    customer = CustomerFactory(
        first_name=NAME,
        last_name=SURNAME,
        email=EMAIL,
        phone="+12075550199",
        preferences=f"Loves green tea; {SURNAME} family",
        home_location=location,
        consent_email_at=datetime.date(2025, 1, 2),
    )
    customer.locations.add(location)
    from customers.services import note_create, note_update, tags_from_text

    # A tag only they wear, and one a neighbour wears too.
    customer.tags.set(tags_from_text(f"{SURNAME} tortoise club, regular"))
    CustomerFactory(home_location=location).tags.set(tags_from_text("regular"))

    note = note_create(customer=customer, author=frontline, text=f"Ask {NAME} about {PHRASE}", is_sensitive=True)
    note_update(note=note, editor=frontline, text=f"{PHRASE}, now better", is_sensitive=True, relevant_until=None)
    note_create(customer=customer, author=frontline, text=f"{NAME} just got engaged")
    PersonFactory(customer=customer, name="Methuselah", relation="pet", species="tortoise")
    ImportantDateFactory(customer=customer, kind="custom", label=f"{NAME}'s gallery opening")
    FollowUpFactory(customer=customer, prompt=f"Ask {NAME} how Methuselah is")
    interaction_record(
        customer=customer,
        touchpoint=Touchpoint.objects.get(slug="in-store"),
        location=location,
        staff=frontline,
        kind="purchase",
        summary=f"{NAME} bought a tortoise lamp",
        amount=Decimal("40"),
        external_ref=TILL_REF,
    )
    budget_create(location=location, period="month", day=location.local_today(), amount=Decimal("200"), by=None)
    # Three gestures: the third is flagged as mechanical, in words that name the customer.
    for category in ("flowers", "card", "small_gift"):
        propose_gesture(
            customer=customer,
            proposer=frontline,
            location=location,
            category=category,
            description=f"{category} for {NAME}",
        )
    assert any(NAME in flag for g in customer.gestures.all() for flag in g.flags)
    Notification.objects.create(
        recipient=frontline,
        kind="message",
        occurrence=timezone.localdate(),
        customer=customer,
        title=f"Ask {NAME} how Methuselah is",
    )
    return customer


def test_owner_exports_everything_held_about_a_customer_as_json(client, owner, held):
    client.force_login(owner)
    response = client.get(reverse("customer-privacy-json", kwargs={"pk": held.pk}))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="customer-{held.pk}-data.json"'
    data = json.loads(response.content)
    assert data["profile"]["email"] == EMAIL
    assert data["profile"]["consent"]["email"] == "2025-01-02"
    assert [p["name"] for p in data["people"]] == ["Methuselah"]
    assert data["important_dates"][0]["what"] == f"{NAME}'s gallery opening"
    assert {n["text"] for n in data["notes"]} == {f"{PHRASE}, now better", f"{NAME} just got engaged"}
    # What a note said before it was edited is held too (in its history), so it is exported.
    assert [v["text"] for v in data["notes"][0]["earlier_versions"]] == [f"Ask {NAME} about {PHRASE}"]
    assert [n["sensitive"] for n in data["notes"]] == [True, False]
    assert data["follow_ups"][0]["prompt"] == f"Ask {NAME} how Methuselah is"
    assert data["interactions"][0]["summary"] == f"{NAME} bought a tortoise lamp"
    assert data["gestures"][0]["description"] == f"flowers for {NAME}"
    assert data["personas"] == []


def test_owner_reads_the_same_export_as_a_page(client, owner, held):
    client.force_login(owner)
    page = client.get(reverse("customer-privacy", kwargs={"pk": held.pk})).content.decode()
    for text in (EMAIL, "Methuselah", f"{PHRASE}, now better", f"{NAME} bought a tortoise lamp", f"flowers for {NAME}"):
        assert text in page


def test_the_export_of_sensitive_notes_is_in_the_audit_trail(client, owner, held):
    from auditlog.models import LogEntry

    client.force_login(owner)
    client.get(reverse("customer-privacy-json", kwargs={"pk": held.pk}))
    viewed = LogEntry.objects.filter(action=LogEntry.Action.ACCESS, actor=owner, additional_data__customer_id=held.pk)
    assert viewed.count() == 1


def _tables_containing(*needles: str) -> dict[str, list[str]]:
    """Search every column of every table in the database for each needle (case-insensitive)."""
    found: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public'
              AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea')
            """
        )
        columns = cursor.fetchall()
        for table, column in columns:
            for needle in needles:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608 - names from the catalogue
                    [f"%{needle}%"],
                )
                if cursor.fetchone()[0]:
                    found.setdefault(needle, []).append(f"{table}.{column}")
    return found


@pytest.mark.postgres
def test_erasing_leaves_no_trace_of_the_customer_in_any_table(client, owner, held):
    from microcx.models import Budget, LedgerEntry
    from microcx.services import balances

    # Before: the needles are there (the note text is encrypted, so its phrase shows only through the ORM).
    assert _tables_containing(NAME, EMAIL)
    budget = Budget.objects.get()
    ledger_before = list(LedgerEntry.objects.values_list("pk", "amount"))
    held_before = balances([budget.pk])[budget.pk]

    client.force_login(owner)
    response = client.post(reverse("customer-erase", kwargs={"pk": held.pk}), {"confirm_name": f"{NAME} {SURNAME}"})
    assert response.status_code == 302

    assert _tables_containing(NAME, SURNAME, EMAIL, "2075550199", "Methuselah", "tortoise", PHRASE) == {}
    # Notes, their history and follow-ups are gone through the ORM too (their text is encrypted at rest).
    assert not Note.objects.filter(customer=held).exists()
    assert not Note.history.filter(customer_id=held.pk).exists()
    # Anonymous counts and the books stay.
    erased = Customer.objects.get(pk=held.pk)
    assert erased.is_erased and erased.visit_count == 1
    assert erased.interactions.count() == 1 and erased.gestures.count() == 3
    # Gestures not yet given are cancelled: no new words or receipts can be added, and the held
    # money goes back. The ledger only grows: every earlier entry is still there.
    assert set(erased.gestures.values_list("status", flat=True)) == {"cancelled"}
    entries = list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount", "kind"))
    assert [(pk, amount) for pk, amount, _ in entries[: len(ledger_before)]] == ledger_before
    assert [kind for _, _, kind in entries[len(ledger_before) :]] == ["release"] * 3
    after = balances([budget.pk])[budget.pk]
    assert after.available == held_before.available + Decimal("60")


def test_the_audit_trail_keeps_who_erased_but_not_what(client, owner, held):
    from auditlog.models import LogEntry

    client.force_login(owner)
    client.post(reverse("customer-erase", kwargs={"pk": held.pk}), {"confirm_name": f"{NAME} {SURNAME}"})
    entries = LogEntry.objects.filter(additional_data__customer_id=held.pk)
    assert entries.filter(actor=owner, additional_data__erased=True).count() == 1
    for entry in entries:
        assert NAME not in (entry.object_repr + entry.changes_text + json.dumps(entry.changes))


def test_an_erased_customer_has_no_privacy_page(client, owner, held):
    client.force_login(owner)
    client.post(reverse("customer-erase", kwargs={"pk": held.pk}), {"confirm_name": f"{NAME} {SURNAME}"})
    assert client.get(reverse("customer-privacy", kwargs={"pk": held.pk})).status_code == 404


# --- retention ---------------------------------------------------------------


def test_notes_older_than_the_retention_period_are_removed_with_their_history(customer, frontline, time_at):
    from crm.inbox.tasks import purge_expired_notes
    from customers.services import note_create

    time_at(datetime.datetime(2022, 3, 1, 12, tzinfo=datetime.UTC))
    old = note_create(customer=customer, author=frontline, text="Old news about the move")
    time_at(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC))
    recent = note_create(customer=customer, author=frontline, text="Recent news")
    time_at(datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC))

    assert purge_expired_notes() == 0  # no retention period: notes are kept
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"note_retention_years": 3})
    assert purge_expired_notes() == 1
    assert list(Note.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Note.history.filter(id=old.pk).exists()
    assert purge_expired_notes() == 0  # idempotent


def test_a_purged_sensitive_note_takes_its_follow_ups_with_it(customer, frontline, time_at):
    from crm.inbox.privacy import purge_expired_notes
    from customers.models import FollowUp
    from customers.services import note_create

    time_at(datetime.datetime(2020, 3, 1, 12, tzinfo=datetime.UTC))
    private = note_create(customer=customer, author=frontline, text="Chemo starts", is_sensitive=True)
    plain = note_create(customer=customer, author=frontline, text="Likes jazz")
    private_follow_up = FollowUpFactory(customer=customer, note=private, prompt="Ask how the chemo went")
    plain_follow_up = FollowUpFactory(customer=customer, note=plain, prompt="Ask about the concert")
    time_at(datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC))
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"note_retention_years": 3})

    assert purge_expired_notes() == 2
    # Without its note nothing would mark the prompt private any more, so it goes too.
    assert not FollowUp.objects.filter(pk=private_follow_up.pk).exists()
    plain_follow_up.refresh_from_db()
    assert plain_follow_up.note is None


def test_owner_sets_the_retention_period_on_the_security_page(client, owner):
    client.force_login(owner)
    response = client.post(reverse("security"), {"note_retention_years": "0"})
    assert "Choose between 1 and 50 years" in response.content.decode()
    response = client.post(reverse("security"), {"note_retention_years": "5"})
    assert response.status_code == 302
    assert SecurityPolicy.current().note_retention_years == 5


# --- consent -----------------------------------------------------------------


def test_quick_contact_links_show_only_for_consented_channels(client, frontline, location):
    customer = CustomerFactory(
        home_location=location, email="c@example.org", phone="+12075550123", consent_email_at=datetime.date(2025, 1, 1)
    )
    customer.locations.add(location)
    client.force_login(frontline)
    page = client.get(reverse("customer-detail", kwargs={"pk": customer.pk})).content.decode()
    assert 'href="mailto:c@example.org"' in page
    assert 'href="tel:' not in page
    assert "no consent to call" in page


@pytest.mark.parametrize(
    ("consent", "idea"),
    [
        ({}, "They have not agreed to be contacted: greet them warmly at their next visit."),
        ({"consent_phone_at": datetime.date(2025, 1, 1)}, "A quick call, with something they would like."),
        (
            {"consent_email_at": datetime.date(2025, 1, 1), "consent_mail_at": datetime.date(2025, 1, 1)},
            "A short email or a handwritten card by post, with something they would like.",
        ),
    ],
)
def test_keep_in_touch_reminders_suggest_only_consented_channels(location, consent, idea):
    from crm.inbox.reminders import keep_in_touch_idea

    assert keep_in_touch_idea(CustomerFactory(home_location=location, **consent)) == idea


@pytest.mark.postgres
def test_erasing_also_removes_their_tags_previews_and_external_references(client, owner, held):
    from types import SimpleNamespace

    from crm.kernel import uploads
    from crm.kernel.models import ImportJob
    from customers.models import Tag

    session = SimpleNamespace(session={}, user=owner)
    about_them = [
        f"first_name,last_name,email\nAda,Lovelace,ada@example.com\n{NAME},{SURNAME},\n".encode(),
        f"first_name,email\nBen,ben@example.com\nZ,{EMAIL.upper()}\n".encode(),
        b"email,phone,occurred_at,touchpoint\n,(207) 555-0199,2026-10-01,in-store\n",
    ]
    for n, raw in enumerate(about_them):
        uploads.stash(session, f"import-{n}", raw)
    someone_else = uploads.stash(session, "import-other", b"first_name,email\nBen,ben@example.com\n")

    client.force_login(owner)
    client.post(reverse("customer-erase", kwargs={"pk": held.pk}), {"confirm_name": f"{NAME} {SURNAME}"})

    waiting = ImportJob.objects.filter(state="checked").exclude(raw=b"")
    assert [job.token.hex for job in waiting] == [someone_else]
    assert set(Tag.objects.values_list("name", flat=True)) == {"regular"}
    assert _tables_containing(TILL_REF, "tortoise club") == {}
    assert held.interactions.get().external_ref is None
