"""Encrypt the text of every note and of every historical copy of a note (reversible).

Runs with the keys in FIELD_ENCRYPTION_KEYS at migration time. A value that
already opens with those keys is left alone, so running it over a half-done
table finishes the job; going back decrypts every value that opens.
"""

from django.db import migrations

import crm.kernel.fields
from crm.kernel import encryption

TABLES = [("customers_note", "id"), ("customers_historicalnote", "history_id")]
BATCH = 2000


def _opens(value: str) -> bool:
    try:
        encryption.decrypt(value)
    except encryption.DecryptionError:
        return False
    return True


def _convert(schema_editor, change) -> None:
    """Walk each table by primary key in batches, writing change(text) where it returns a new value."""
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, pk in TABLES:
            select = (
                f"SELECT {quote(pk)}, {quote('text')} FROM {quote(table)} "  # noqa: S608 - names are constants
                f"WHERE {quote(pk)} > %s ORDER BY {quote(pk)} LIMIT {BATCH}"
            )
            update = f"UPDATE {quote(table)} SET {quote('text')} = %s WHERE {quote(pk)} = %s"  # noqa: S608
            last = 0
            while rows := _fetch(cursor, select, last):
                last = rows[-1][0]
                changed = [(new, row_pk) for row_pk, text in rows if (new := change(text)) is not None]
                if changed:
                    cursor.executemany(update, changed)


def _fetch(cursor, select: str, last: int) -> list:
    cursor.execute(select, [last])
    return cursor.fetchall()


def encrypt_texts(apps, schema_editor) -> None:
    _convert(schema_editor, lambda text: None if text is None or _opens(text) else encryption.encrypt(text))


def decrypt_texts(apps, schema_editor) -> None:
    _convert(schema_editor, lambda text: encryption.decrypt(text) if text is not None and _opens(text) else None)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_schedule_existing_rows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalnote",
            name="text",
            field=crm.kernel.fields.EncryptedTextField(max_length=4000),
        ),
        migrations.AlterField(
            model_name="note",
            name="text",
            field=crm.kernel.fields.EncryptedTextField(max_length=4000),
        ),
        migrations.RunPython(encrypt_texts, decrypt_texts, elidable=False),
    ]
