"""One policy for confidences: a sensitive note is read where it was written, and nowhere else.

The state machine below plays random sequences of what staff do at three shops (notes, sensitive
or not; visits by every path: the check-in button, the conversation log, the API with a token,
the visits CSV import; follow-ups accepted, taken and closed with an outcome; the reminder sweep;
erasure). After every step it opens, as each member of staff, every page and export they can
reach (customer page, timeline, gesture form, follow-up pages, search, Today, inbox, marketing
export, dashboard and its drill-down) and checks that no words of a confidence they may not read
appear; and it searches every text, varchar and json column in the database for those words in
the clear. The plain tests after it pin each rule on its own.
"""

import datetime
import importlib
import itertools
import json
import types

import pytest
from auditlog.models import LogEntry
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from crm.inbox import reminders
from crm.kernel import confidences
from customers.access import PRIVATE_FOLLOW_UP, customers_for
from customers.models import Customer, FollowUp, Note, Suggestion
from customers.services import follow_up_complete, follow_up_create, note_create
from journeys.models import Touchpoint
from journeys.services_manage import api_token_create
from tests.crm.factories import LocationFactory, UserFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.postgres

names = itertools.count()


def secret_word() -> str:
    """A made-up name found nowhere else (the note reader takes it as the person the note is about)."""
    n = next(names)
    letters = "".join(chr(ord("a") + (n // 26**i) % 26) for i in range(3))
    return f"Qorv{letters}"


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def clear_text_columns() -> list[tuple[str, str]]:
    """Every (table, column) of a text, varchar or json type in the public schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns AS c "
            "JOIN information_schema.tables AS t ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('text', 'character varying', 'json', 'jsonb')"
        )
        return cursor.fetchall()


def tables_holding(words: list[str], columns: list[tuple[str, str]]) -> list[str]:
    """The table.column names whose stored values contain any of the words, as the database holds them."""
    if not words:
        return []
    patterns = [f"%{word}%" for word in words]
    by_table: dict[str, list[str]] = {}
    for table, column in columns:
        by_table.setdefault(table, []).append(column)
    found = []
    with connection.cursor() as cursor:
        for table, cols in by_table.items():
            quote = connection.ops.quote_name
            for column in cols:
                cursor.execute(
                    f"SELECT 1 FROM {quote(table)} WHERE {quote(column)}::text ILIKE ANY(%s) LIMIT 1",  # noqa: S608
                    [patterns],
                )
                if cursor.fetchone():
                    found.append(f"{table}.{column}")
    return found


class ConfidencePolicy(RuleBasedStateMachine):
    """Staff at Downtown (A) and Riverside (B) look after Ana (home A) and Ben (home B); visits
    also come in, by the API and the visits import, from Harbour (C), where nobody works."""

    @initialize(who=st.integers(0, 3), whom=st.integers(0, 1), dated=st.booleans())
    def open_the_shops(self, who, whom, dated):
        # Each example runs in a savepoint of the test's transaction, rolled back at teardown.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        cache.clear()
        self.a, self.b, self.c = (LocationFactory(name=name) for name in ("Downtown", "Riverside", "Harbour"))
        self.staff = {
            "frontline A": UserFactory(role="frontline", username="fa", locations=[self.a]),
            "manager A": UserFactory(role="manager", username="ma", locations=[self.a]),
            "frontline B": UserFactory(role="frontline", username="fb", locations=[self.b]),
            "owner B": UserFactory(role="owner", username="ob", locations=[self.b]),
        }
        self.clients = {}
        for label, user in self.staff.items():
            self.clients[label] = Client()
            self.clients[label].force_login(user)
        self.customers = [
            CustomerFactory(first_name="Ana", email="ana@example.com", home_location=self.a),
            CustomerFactory(first_name="Ben", email="ben@example.com", home_location=self.b),
        ]
        # Both used to come every 50 days and have not been in for 200: the dashboard lists them as
        # drifting, with their notes and follow-ups, until a visit brings them back.
        now = timezone.now()
        Customer.objects.update(
            consent_email_at=datetime.date(2026, 1, 5),
            visit_count=5,
            first_visit_at=now - datetime.timedelta(days=400),
            last_visit_at=now - datetime.timedelta(days=200),
        )
        self.token = api_token_create(name="Till", by=self.staff["owner B"])[1]
        # word -> (location id, author id): who may read it. Ordinary words are not tracked.
        self.secrets: dict[str, tuple[int, int]] = {}
        self.refs = itertools.count(1)
        self.columns = clear_text_columns()
        # Every sequence starts with a confidence and a follow-up from it, told at some shop.
        self.log_a_conversation(who=who, whom=whom, sensitive=True, dated=dated)

    def teardown(self):
        atomic = getattr(self, "atomic", None)
        if atomic is not None:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)

    def _location(self, which: int):
        return (self.a, self.b, self.c)[which % 3]

    def _customer(self, which: int):
        return self.customers[which % len(self.customers)]

    def _user(self, which: int) -> str:
        return list(self.staff)[which % len(self.staff)]

    # --- what staff do ------------------------------------------------------------------------

    @rule(who=st.integers(0, 3), whom=st.integers(0, 1), sensitive=st.booleans(), ask=st.booleans())
    def write_a_note(self, who, whom, sensitive, ask):
        """On the customer page; the note reader proposes a follow-up naming the person, taken at once
        with "Save, ask next visit"."""
        label, customer = self._user(who), self._customer(whom)
        word = secret_word()
        response = self.clients[label].post(
            reverse("note-create", args=[customer.pk]),
            {
                "text": f"Her husband {word} is in hospital",
                **({"is_sensitive": "on"} if sensitive else {}),
                **({"ask_next_visit": "1"} if ask else {}),
            },
        )
        assert response.status_code in (302, 404)
        note = Note.objects.filter(customer=customer).order_by("-pk").first()
        if sensitive and response.status_code == 302:
            self.secrets[word] = (note.location_id, note.author_id)

    @rule(who=st.integers(0, 3), whom=st.integers(0, 1), sensitive=st.booleans(), dated=st.booleans())
    def log_a_conversation(self, who, whom, sensitive, dated):
        """The conversation log at the member of staff's shop: a visit, a note and a follow-up from it."""
        label, customer = self._user(who), self._customer(whom)
        user = self.staff[label]
        location = user.locations.first()
        word = secret_word()
        response = self.clients[label].post(
            reverse("interaction-log", args=[customer.pk]),
            {
                "kind": "visit",
                "touchpoint": Touchpoint.objects.get(slug="in-store").pk,
                "location": location.pk,
                "summary": "Came in for new frames",
                "sentiment": "0",
                "note_text": f"Talked about {word}",
                **({"note_is_sensitive": "on"} if sensitive else {}),
                "follow_up_prompt": f"Ask gently about {word}",
                "follow_up_due": "on_date" if dated else "next_visit",
                "follow_up_due_date": location.local_today().isoformat() if dated else "",
            },
        )
        assert response.status_code in (302, 404)
        if sensitive and response.status_code == 302:
            self.secrets[word] = (location.pk, user.pk)

    @rule(who=st.integers(0, 3), whom=st.integers(0, 1))
    def check_in(self, who, whom):
        label, customer = self._user(who), self._customer(whom)
        response = self.clients[label].post(reverse("customer-check-in", args=[customer.pk]))
        assert response.status_code in (302, 404)

    def _erased(self, whom: int) -> bool:
        customer = self._customer(whom)
        customer.refresh_from_db()
        return customer.is_erased  # nothing left to match a visit on

    @rule(where=st.integers(0, 2), whom=st.integers(0, 1))
    def visit_through_the_api(self, where, whom):
        if self._erased(whom):
            return
        record = {
            "email": self._customer(whom).email,
            "occurred_at": "2026-10-01T10:30:00",
            "touchpoint": "in-store",
            "external_ref": f"API-{next(self.refs)}",
            "location": self._location(where).name,
        }
        response = Client().post(
            reverse("api-interactions"),
            json.dumps(record),
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 201, response.content

    @rule(where=st.integers(0, 2), whom=st.integers(0, 1))
    def import_visits(self, where, whom):
        if self._erased(whom):
            return
        text = (
            "email,date,touchpoint,reference,location\n"
            f"{self._customer(whom).email},2026-10-02 11:00,in-store,"
            f"CSV-{next(self.refs)},{self._location(where).name}\n"
        )
        client = self.clients["owner B"]
        preview = client.post(
            reverse("interaction-import"), {"file": SimpleUploadedFile("v.csv", text.encode(), "text/csv")}
        )
        assert preview.status_code == 200 and preview.context["token"], preview.content
        done = client.post(reverse("interaction-import"), {"confirm": "1", "token": preview.context["token"]})
        assert done.status_code == 302

    @rule(pick=st.integers(0, 50))
    def accept_a_follow_up_suggestion(self, pick):
        open_ones = list(Suggestion.objects.filter(status="open", kind="follow_up").select_related("note__author"))
        if not open_ones:
            return
        suggestion = open_ones[pick % len(open_ones)]
        author = next(label for label, user in self.staff.items() if user.pk == suggestion.note.author_id)
        response = self.clients[author].post(reverse("suggestion-accept", args=[suggestion.pk]))
        assert response.status_code in (302, 404)

    @rule(who=st.integers(0, 3), pick=st.integers(0, 50))
    def take_a_follow_up(self, who, pick):
        untaken = list(FollowUp.objects.filter(status="open", assignee__isnull=True).order_by("pk"))
        if untaken:
            response = self.clients[self._user(who)].post(
                reverse("follow-up-take", args=[untaken[pick % len(untaken)].pk])
            )
            assert response.status_code in (302, 404)

    @rule(who=st.integers(0, 3), pick=st.integers(0, 50))
    def close_a_follow_up_with_an_outcome(self, who, pick):
        """Whoever closes it writes what came of it; a private follow-up's outcome is as private."""
        open_ones = list(FollowUp.objects.filter(status="open").select_related("note").order_by("pk"))
        if not open_ones:
            return
        follow_up = open_ones[pick % len(open_ones)]
        label = self._user(who)
        word = secret_word()
        response = self.clients[label].post(
            reverse("follow-up-done", args=[follow_up.pk]), {"outcome": f"{word} is home again"}
        )
        assert response.status_code in (302, 404)
        if response.status_code == 302 and follow_up.note is not None and follow_up.note.is_sensitive:
            self.secrets[word] = (follow_up.note.location_id, self.staff[label].pk)

    @rule()
    def run_the_reminder_sweep(self):
        reminders.sweep()

    @rule(whom=st.integers(0, 1))
    def erase_a_customer(self, whom):
        customer = self._customer(whom)
        customer.refresh_from_db()
        response = self.clients["owner B"].post(
            reverse("customer-erase", args=[customer.pk]), {"confirm_name": customer.full_name}
        )
        assert response.status_code == (404 if customer.is_erased else 302)
        assert not Note.objects.filter(customer=customer).exists()

    # --- what nobody outside may read -----------------------------------------------------------

    def _pages(self, user) -> list[str]:
        """Every page and export this member of staff can reach (the others answer 403 or 404)."""
        urls = [reverse("home"), reverse("inbox") + "?show=all", reverse("customer-list") + "?q=ana"]
        if user.has_perm("crm.view_loyalty_dashboard"):
            urls += [
                reverse("customer-export"),
                reverse("loyalty-dashboard"),
                reverse("loyalty-customers") + "?figure=active",
            ]
        reachable = list(customers_for(user).filter(pk__in=[c.pk for c in self.customers]).values_list("pk", flat=True))
        for pk in reachable:
            urls += [
                reverse("customer-detail", args=[pk]),
                reverse("customer-timeline", args=[pk]),
                reverse("gesture-propose", args=[pk]),
            ]
        open_ones = FollowUp.objects.filter(status="open", customer_id__in=reachable).order_by("-pk")
        urls += [reverse("follow-up-done", args=[pk]) for pk in open_ones.values_list("pk", flat=True)[:2]]
        return urls

    @invariant()
    def nobody_reads_a_confidence_from_elsewhere(self):
        if not hasattr(self, "secrets"):
            return
        for label, user in self.staff.items():
            readable = {location.pk for location in user.locations.all()}
            forbidden = [w for w, (loc, author) in self.secrets.items() if loc not in readable and author != user.pk]
            if not forbidden:
                continue
            cache.clear()  # the dashboard keeps figures for a while
            for url in self._pages(user):
                response = self.clients[label].get(url, follow=True)  # the gesture form first gets its own id
                assert response.status_code == 200, f"{label} GET {url}: {response.status_code}"
                text = body(response)
                leaked = [word for word in forbidden if word in text]
                assert not leaked, f"{label} read {leaked} on {url}"

    @invariant()
    def the_database_holds_no_confidence_in_the_clear(self):
        if not hasattr(self, "secrets"):
            return
        assert tables_holding(list(self.secrets), self.columns) == []


def test_no_sequence_of_staff_actions_lets_a_confidence_reach_another_location(db):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        ConfidencePolicy,
        settings=settings(
            max_examples=4,
            stateful_step_count=8,
            deadline=None,
            database=None,
            # Eight steps are short enough to read unshrunk; shrinking would take minutes of page loads.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


# --- each rule on its own ------------------------------------------------------------------------


@pytest.fixture
def ana(location):
    return CustomerFactory(first_name="Ana", email="ana@example.com", home_location=location)


@pytest.fixture
def elsewhere(other_location):
    """Frontline staff and a manager of Riverside, where Ana (of Downtown) was never told anything."""
    return {
        "frontline": UserFactory(role="frontline", username="rita", locations=[other_location]),
        "manager": UserFactory(role="manager", username="rob", locations=[other_location]),
    }


def visit_by(path: str, client, *, customer, location, user):
    """Record a visit at `location` by one of the four ways in."""
    if path == "check-in":
        client.force_login(user)
        return client.post(reverse("customer-check-in", args=[customer.pk]))
    if path == "conversation log":
        client.force_login(user)
        return client.post(
            reverse("interaction-log", args=[customer.pk]),
            {
                "kind": "visit",
                "touchpoint": Touchpoint.objects.get(slug="in-store").pk,
                "location": location.pk,
                "summary": "Came by",
                "sentiment": "0",
                "follow_up_due": "next_visit",
            },
        )
    if path == "api":
        token = api_token_create(name="Till", by=user)[1]
        record = {"email": customer.email, "occurred_at": "2026-10-01T10:30:00", "touchpoint": "in-store"}
        return client.post(
            reverse("api-interactions"),
            json.dumps({**record, "external_ref": "T-1", "location": location.name}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
    client.force_login(user)
    text = f"email,date,touchpoint,location\n{customer.email},2026-10-02,in-store,{location.name}\n"
    preview = client.post(
        reverse("interaction-import"), {"file": SimpleUploadedFile("v.csv", text.encode(), "text/csv")}
    )
    return client.post(reverse("interaction-import"), {"confirm": "1", "token": preview.context["token"]})


@pytest.mark.parametrize("path", ["check-in", "conversation log", "api", "csv import"])
def test_a_visit_elsewhere_counts_but_does_not_widen_who_reads_sensitive_notes(
    client, ana, frontline, location, other_location, elsewhere, path
):
    note_create(customer=ana, author=frontline, text="Her mother Qorvzzz is in hospital", is_sensitive=True)
    # Riverside's manager opens every customer: Ana walks in at Riverside, or is recorded there.
    response = visit_by(path, client, customer=ana, location=other_location, user=elsewhere["manager"])
    assert response.status_code in (201, 302), response.content
    ana.refresh_from_db()
    assert ana.visit_count == 1 and ana.locations.filter(pk=other_location.pk).exists()  # she belongs there too now
    for user in elsewhere.values():
        client.force_login(user)
        page = client.get(reverse("customer-detail", args=[ana.pk]))
        assert page.status_code == 200 and "Qorvzzz" not in page.content.decode()
        assert not Note.objects.filter(customer=ana).visible_to(user).exists()
    client.force_login(frontline)
    assert "Qorvzzz" in client.get(reverse("customer-detail", args=[ana.pk])).content.decode()


def test_a_sensitive_note_is_read_by_staff_of_its_location_and_its_author_only(
    ana, frontline, manager, owner, location, other_location, elsewhere
):
    written_elsewhere = note_create(
        customer=ana, author=elsewhere["manager"], text="Qorvyyy", is_sensitive=True, location=other_location
    )
    here = note_create(customer=ana, author=frontline, text="Qorvxxx", is_sensitive=True)
    assert here.location == location  # the customer's home, where the author works
    readers = {
        "frontline of A": frontline,
        "manager of A": manager,
        "owner of both": owner,
        **{f"{k} of B": v for k, v in elsewhere.items()},
    }
    seen = {label: set(Note.objects.visible_to(user).values_list("pk", flat=True)) for label, user in readers.items()}
    assert seen == {
        "frontline of A": {here.pk},
        "manager of A": {here.pk},
        "owner of both": {here.pk, written_elsewhere.pk},
        "frontline of B": {written_elsewhere.pk},
        "manager of B": {written_elsewhere.pk},  # its author
    }
    assert set(Note.objects.visible_to(None)) == set()  # emails, snapshots and exports: ordinary notes only
    assert [confidences.may_read(user, here) for user in readers.values()] == [True, True, True, False, False]


def test_the_outcome_of_a_private_follow_up_is_private_at_its_notes_location(
    client, ana, frontline, location, other_location, elsewhere
):
    note = note_create(customer=ana, author=frontline, text="Her chemo starts Monday", is_sensitive=True)
    follow_up = follow_up_create(
        customer=ana, created_by=frontline, prompt="Ask how the chemo went", location=other_location, note=note
    )
    closed = follow_up_complete(follow_up=follow_up, user=elsewhere["frontline"], outcome="Chemo is finished")
    outcome = closed.outcome_note
    assert outcome.is_sensitive and outcome.location == location
    client.force_login(elsewhere["manager"])
    page = client.get(reverse("customer-detail", args=[ana.pk])).content.decode()
    export = body(client.get(reverse("customer-export")))
    assert "Chemo is finished" not in page + export and "chemo" not in page.lower()
    plain = follow_up_create(customer=ana, created_by=frontline, prompt="Ask about the trip", location=location)
    assert not follow_up_complete(follow_up=plain, user=frontline, outcome="Lovely trip").outcome_note.is_sensitive


def test_derived_text_is_encrypted_at_rest(ana, frontline):
    note = note_create(customer=ana, author=frontline, text="Her husband Qorvwww is in hospital", is_sensitive=True)
    follow_up_create(
        customer=ana, created_by=frontline, prompt="Ask how Qorvwww is", location=ana.home_location, note=note
    )
    assert Suggestion.objects.filter(note=note).count() >= 1
    assert {s.payload.get("name") for s in Suggestion.objects.filter(kind="person")} == {"Qorvwww"}
    assert tables_holding(["Qorvwww"], clear_text_columns()) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT prompt FROM customers_followup UNION ALL SELECT summary FROM customers_suggestion")
        assert all(value.startswith("gAAAAA") for (value,) in cursor.fetchall())


def test_the_customer_page_records_the_sensitive_notes_it_shows_once(client, ana, frontline):
    note = note_create(customer=ana, author=frontline, text="Her husband Qorvvvv is in hospital", is_sensitive=True)
    follow_up_create(
        customer=ana, created_by=frontline, prompt="Ask about Qorvvvv", location=ana.home_location, note=note
    )
    client.force_login(frontline)
    before = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count()
    page = client.get(reverse("customer-detail", args=[ana.pk])).content.decode()
    # Shown in the brief, the timeline, the "ask about" follow-up and the suggestions: one entry.
    assert page.count("Qorvvvv") >= 3
    views = LogEntry.objects.filter(action=LogEntry.Action.ACCESS)
    assert views.count() == before + 1
    assert views.latest("pk").additional_data == {"customer_id": ana.pk, "sensitive_notes": [note.pk]}


def test_whoever_may_not_read_it_sees_the_placeholder_and_leaves_no_view(client, ana, frontline, elsewhere):
    note = note_create(customer=ana, author=frontline, text="Qorvuuu", is_sensitive=True)
    follow_up_create(
        customer=ana, created_by=frontline, prompt="Ask about Qorvuuu", location=ana.home_location, note=note
    )
    client.force_login(elsewhere["manager"])
    page = client.get(reverse("customer-detail", args=[ana.pk])).content.decode()
    assert PRIVATE_FOLLOW_UP in page and "Qorvuuu" not in page
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_the_migrations_place_existing_notes_and_encrypt_derived_text_reversibly(ana, frontline, other_location):
    note = note_create(customer=ana, author=frontline, text="Her dog Qorvttt is sick")
    follow_up_create(customer=ana, created_by=frontline, prompt="Ask about Qorvttt", location=other_location, note=note)
    plain = note_create(customer=ana, author=UserFactory(role="owner", locations=[]), text="Written by an owner")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks, so the table may be altered
        cursor.execute("ALTER TABLE customers_note ALTER COLUMN location_id DROP NOT NULL")
        cursor.execute("UPDATE customers_note SET location_id = NULL")
    place = importlib.import_module("customers.migrations.0012_note_location")
    with connection.cursor() as cursor:
        cursor.execute(place.FILL_NOTES)
        cursor.execute(place.FILL_HISTORY)
    assert Note.objects.get(pk=note.pk).location == other_location  # where its follow-up was written
    assert Note.objects.get(pk=plain.pk).location == ana.home_location
    assert not Note.history.filter(location__isnull=True).exists()

    migration = importlib.import_module("customers.migrations.0013_encrypt_derived_text")
    editor = types.SimpleNamespace(connection=connection)
    migration.decrypt_values(None, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT prompt FROM customers_followup")
        assert cursor.fetchall() == [("Ask about Qorvttt",)]
        cursor.execute("SELECT payload FROM customers_suggestion WHERE kind = 'person'")
        assert json.loads(cursor.fetchone()[0])["name"] == "Qorvttt"
    migration.encrypt_values(None, editor)
    migration.encrypt_values(None, editor)  # a second run leaves encrypted rows alone
    assert tables_holding(["Qorvttt"], clear_text_columns()) == []
    assert FollowUp.objects.get().prompt == "Ask about Qorvttt"
    assert Suggestion.objects.get(kind="person").payload["name"] == "Qorvttt"


def test_nothing_filters_or_orders_by_encrypted_text():
    """A grep over the code: encrypted fields are never used in SQL lookups or ordering."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    pattern = re.compile(r"(prompt|summary|payload)__\w+|order_by\([^)]*[\"'](-?prompt|-?summary|-?payload)[\"']")
    offenders = []
    for app in ("crm", "customers", "journeys", "microcx"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line) and "persona" not in line and "Interaction" not in line:
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
