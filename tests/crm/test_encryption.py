"""Note text is encrypted at rest (Fernet), readable through the ORM, and its keys rotate."""

import csv
import datetime
import importlib
import io
import types

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from crm.kernel import encryption
from customers.models import Note
from customers.services import note_create, note_update
from tests.crm.test_settings import manage
from tests.customers.factories import CustomerFactory

KEY1 = Fernet.generate_key().decode()
KEY2 = Fernet.generate_key().decode()
TABLES = ["customers_note", "customers_historicalnote"]


def stored(table: str) -> list[str]:
    """Return the text column of a table as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT text FROM {table} ORDER BY 1")  # noqa: S608 - constant table names
        return [text for (text,) in cursor.fetchall()]


def all_texts() -> list[str]:
    return sorted([n.text for n in Note.objects.all()] + [h.text for h in Note.history.all()])


@pytest.mark.postgres
def test_note_text_is_stored_only_as_fernet_tokens_in_the_note_and_its_history(customer, frontline):
    note = note_create(customer=customer, author=frontline, text="Going through chemo, tired", is_sensitive=True)
    note_update(note=note, editor=frontline, text="Chemo finished in May", is_sensitive=False, relevant_until=None)
    for table in TABLES:
        values = stored(table)
        assert values, table
        for value in values:
            assert value.startswith("gAAAAA")  # a Fernet token: version byte 0x80, base64
            assert "hemo" not in value and "tired" not in value
    assert stored("customers_historicalnote") != stored("customers_note")
    assert len(stored("customers_historicalnote")) == 2
    fernet = encryption._current()
    assert sorted(fernet.decrypt(v).decode() for v in stored("customers_historicalnote")) == [
        "Chemo finished in May",
        "Going through chemo, tired",
    ]


def test_orm_reads_give_the_plain_text_of_the_note_and_its_history(customer, frontline):
    note = note_create(customer=customer, author=frontline, text="Her dog Rex is sick, vet on Tuesday")
    note_update(note=note, editor=frontline, text="Rex is on the mend", is_sensitive=False, relevant_until=None)
    assert Note.objects.get(pk=note.pk).text == "Rex is on the mend"
    assert [h.text for h in note.history.order_by("history_date")] == [
        "Her dog Rex is sick, vet on Tuesday",
        "Rex is on the mend",
    ]
    assert Note.objects.values_list("text", flat=True).get() == "Rex is on the mend"


def test_the_note_reader_still_reads_the_text_it_was_given(customer, frontline):
    note = note_create(customer=customer, author=frontline, text="Her dog Rex is sick, vet on Tuesday")
    assert note.suggestions.exists()


def test_pages_and_exports_show_the_plain_text(client, manager, frontline, location):
    customer = CustomerFactory(home_location=location, consent_email_at=datetime.date(2026, 1, 5))
    note = note_create(customer=customer, author=frontline, text="Loves the new round frames")
    note_update(
        note=note, editor=frontline, text="Loves round tortoiseshell frames", is_sensitive=False, relevant_until=None
    )
    client.force_login(manager)
    assert "Loves round tortoiseshell frames" in client.get(reverse("customer-detail", args=[customer.pk])).text
    assert "Loves round tortoiseshell frames" in client.get(reverse("customer-timeline", args=[customer.pk])).text
    history = client.get(reverse("note-history", args=[note.pk])).text
    assert "Loves the new round frames" in history and "tortoiseshell" in history
    assert (
        "Loves round tortoiseshell frames"
        in client.get(reverse("gesture-propose", args=[customer.pk]), follow=True).text
    )
    body = b"".join(client.get(reverse("customer-export")).streaming_content).decode()
    [row] = csv.DictReader(io.StringIO(body))
    assert row["latest_note"] == "Loves round tortoiseshell frames"


@pytest.mark.postgres
def test_bulk_create_and_update_encrypt_too(customer, frontline):
    Note.objects.bulk_create(
        Note(customer=customer, author=frontline, location=customer.home_location, text=f"Bulk note {i}")
        for i in range(3)
    )
    assert all(v.startswith("gAAAAA") and "Bulk" not in v for v in stored("customers_note"))
    assert sorted(Note.objects.values_list("text", flat=True)) == ["Bulk note 0", "Bulk note 1", "Bulk note 2"]
    Note.objects.filter(customer=customer).update(text="Updated in bulk")
    assert all("Updated" not in v for v in stored("customers_note"))
    assert set(Note.objects.values_list("text", flat=True)) == {"Updated in bulk"}


def test_filtering_on_the_encrypted_text_says_why_it_cannot(customer, frontline):
    note_create(customer=customer, author=frontline, text="Prefers tortoiseshell")
    with pytest.raises(FieldError, match="encrypted at rest"):
        list(Note.objects.filter(text="Prefers tortoiseshell"))
    with pytest.raises(FieldError, match="icontains"):
        list(Note.objects.filter(text__icontains="tortoise"))
    assert Note.objects.filter(text__isnull=False).count() == 1


def test_a_wrong_key_is_a_clear_error_not_garbage(customer, frontline, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY1]
    note_create(customer=customer, author=frontline, text="Allergic to nickel frames")
    settings.FIELD_ENCRYPTION_KEYS = [KEY2]
    with pytest.raises(encryption.DecryptionError, match=r"customers\.Note\.text.*FIELD_ENCRYPTION_KEYS"):
        Note.objects.get()
    with pytest.raises(CommandError, match=r"customers\.(Historical)?Note\.text row \d+: no key"):
        call_command("rotate_field_keys", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [KEY2, KEY1]
    assert Note.objects.get().text == "Allergic to nickel frames"


@pytest.mark.postgres
def test_rotation_moves_every_value_to_the_newest_key_so_the_old_one_can_go(
    customer, other_customer, frontline, settings
):
    settings.FIELD_ENCRYPTION_KEYS = [KEY1]
    for i, who in enumerate([customer, customer, other_customer]):
        note = note_create(customer=who, author=frontline, text=f"Note {i}")
        note_update(note=note, editor=frontline, text=f"Note {i}, edited", is_sensitive=True, relevant_until=None)
    before = all_texts()
    assert len(before) == 9  # three notes, two history rows each

    settings.FIELD_ENCRYPTION_KEYS = [KEY2, KEY1]
    out = io.StringIO()
    call_command("rotate_field_keys", batch_size=2, stdout=out)
    assert "customers.Note.text: 3 of 3 rotated" in out.getvalue()
    assert "customers.HistoricalNote.text: 6 of 6 rotated" in out.getvalue()
    assert "Rotated 9 values to the newest key." in out.getvalue()
    for table in TABLES:
        assert all(Fernet(KEY2).decrypt(v) for v in stored(table))

    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "Rotated 0 values" in out.getvalue()  # idempotent: nothing left under the old key

    settings.FIELD_ENCRYPTION_KEYS = [KEY2]
    assert all_texts() == before


@pytest.mark.postgres
def test_rotation_does_not_overwrite_a_value_changed_since_it_was_read(customer, frontline, settings, monkeypatch):
    settings.FIELD_ENCRYPTION_KEYS = [KEY1]
    note = note_create(customer=customer, author=frontline, text="Old text")
    settings.FIELD_ENCRYPTION_KEYS = [KEY2, KEY1]
    [read_token] = stored("customers_note")
    real_rotate = encryption.rotate

    def rotate_while_someone_edits(token, *args, **kwargs):
        if token == read_token:  # the note itself, not its history rows
            Note.objects.filter(pk=note.pk).update(text="Edited meanwhile")
        return real_rotate(token, *args, **kwargs)

    monkeypatch.setattr(encryption, "rotate", rotate_while_someone_edits)
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert Note.objects.get().text == "Edited meanwhile"
    assert "customers.Note.text: 0 of 1 rotated" in out.getvalue()


@pytest.mark.postgres
def test_the_migration_encrypts_plain_rows_once_and_reverses(customer, frontline):
    note = note_create(customer=customer, author=frontline, text="Written before encryption")
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"UPDATE {table} SET text = 'Written before encryption'")  # noqa: S608
    migration = importlib.import_module("customers.migrations.0008_encrypt_note_text")
    editor = types.SimpleNamespace(connection=connection)

    migration.encrypt_texts(None, editor)
    tokens = {table: stored(table) for table in TABLES}
    assert all(v.startswith("gAAAAA") for values in tokens.values() for v in values)
    assert Note.objects.get(pk=note.pk).text == "Written before encryption"
    migration.encrypt_texts(None, editor)  # a second run leaves encrypted rows alone
    assert {table: stored(table) for table in TABLES} == tokens

    migration.decrypt_texts(None, editor)
    assert all(stored(table) == ["Written before encryption"] for table in TABLES)


def test_with_debug_on_and_no_keys_a_development_key_comes_from_secret_key():
    secret = "s" * 50
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEYS)",
        DEBUG="true",
        SECRET_KEY=secret,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str([encryption.development_key(secret)])


def test_development_keys_differ_per_secret_key_and_malformed_keys_are_refused():
    assert encryption.development_key("a" * 50) == encryption.development_key("a" * 50)
    assert encryption.development_key("a" * 50) != encryption.development_key("b" * 50)
    Fernet(encryption.development_key("a" * 50))  # a valid Fernet key
    assert encryption.parse_keys(f" {KEY2} , {KEY1} ") == [KEY2, KEY1]
    for bad in ["", " , ", "short", f"{KEY1},nope"]:
        with pytest.raises(ValueError):
            encryption.parse_keys(bad)


@pytest.mark.postgres
def test_seed_scale_copies_encrypted_notes(db):
    call_command("seed_scale", customers=5, notes_per_customer=2, locations=1, interactions_per_customer=0)
    values = stored("customers_note")
    assert len(values) == 10
    assert all(v.startswith("gAAAAA") and " " not in v for v in values)
    assert all(text and not text.startswith("gAAAAA") for text in Note.objects.values_list("text", flat=True))
