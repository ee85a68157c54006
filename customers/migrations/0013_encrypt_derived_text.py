"""Encrypt what is derived from notes: follow-up prompts, suggestion summaries and payloads (reversible).

The columns become text holding Fernet tokens (payload's JSON is kept as its JSON text inside the
token). A value that already opens with FIELD_ENCRYPTION_KEYS is left alone, so running it over a
half-done table finishes the job; going back decrypts every value that opens, before the columns
get their old types back.
"""

from django.db import migrations

import crm.kernel.fields
from crm.kernel import encryption

COLUMNS = [("customers_followup", "prompt"), ("customers_suggestion", "summary"), ("customers_suggestion", "payload")]
BATCH = 2000


def _opens(value: str) -> bool:
    try:
        encryption.decrypt(value)
    except encryption.DecryptionError:
        return False
    return True


def _convert(schema_editor, change) -> None:
    """Walk each column by primary key in batches, writing change(value) where it returns a new value."""
    quote = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        for table, column in COLUMNS:
            select = (
                f"SELECT id, {quote(column)} FROM {quote(table)} "  # noqa: S608 - names are constants
                f"WHERE id > %s ORDER BY id LIMIT {BATCH}"
            )
            update = f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s"  # noqa: S608
            last = 0
            while True:
                cursor.execute(select, [last])
                rows = cursor.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                changed = [(new, pk) for pk, value in rows if (new := change(value)) is not None]
                if changed:
                    cursor.executemany(update, changed)
        # The updates queue deferred foreign-key checks; run them now, so that going back may alter the columns.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def encrypt_values(apps, schema_editor) -> None:
    _convert(schema_editor, lambda value: None if value is None or _opens(value) else encryption.encrypt(value))


def decrypt_values(apps, schema_editor) -> None:
    _convert(schema_editor, lambda value: encryption.decrypt(value) if value is not None and _opens(value) else None)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_note_location"),
    ]

    operations = [
        migrations.AlterField(
            model_name="followup",
            name="prompt",
            field=crm.kernel.fields.EncryptedTextField(max_length=200),
        ),
        migrations.AlterField(
            model_name="suggestion",
            name="summary",
            field=crm.kernel.fields.EncryptedTextField(max_length=200),
        ),
        migrations.AlterField(
            model_name="suggestion",
            name="payload",
            field=crm.kernel.fields.EncryptedJSONField(default=dict),
        ),
        migrations.RunPython(encrypt_values, decrypt_values, elidable=False),
    ]
