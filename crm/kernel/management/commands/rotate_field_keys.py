"""Re-encrypt every encrypted value under the newest key of FIELD_ENCRYPTION_KEYS.

    python manage.py rotate_field_keys [--batch-size 1000]

Put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it),
restart the app, run this, then drop the old keys. It finds every
EncryptedTextField (notes and their history), walks each table by primary key
in batches, one transaction per batch, and rewrites only values not yet under
the newest key, so running it again, or after an interruption, only finishes
what is left. A row edited meanwhile is not overwritten: the UPDATE matches the
token it read.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from crm.kernel import encryption
from crm.kernel.fields import EncryptedTextField


def encrypted_fields() -> list[tuple[type, EncryptedTextField]]:
    """Return (model, field) for every encrypted field of every installed model."""
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value (notes and their history) under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        total = 0
        for model, field in encrypted_fields():
            rotated, seen = self.rotate_field(model, field, batch_size)
            total += rotated
            self.stdout.write(f"{model._meta.label}.{field.name}: {rotated:,} of {seen:,} rotated")
        self.stdout.write(self.style.SUCCESS(f"Rotated {total:,} values to the newest key."))

    def rotate_field(self, model, field: EncryptedTextField, batch_size: int) -> tuple[int, int]:
        quote = connection.ops.quote_name
        table, pk, column = quote(model._meta.db_table), quote(model._meta.pk.column), quote(field.column)
        # Raw SQL: the ORM would decrypt the values; rotation works on the tokens themselves.
        select = (
            f"SELECT {pk}, {column} FROM {table} "  # noqa: S608 - identifiers from the model, quoted
            f"WHERE {pk} > %s AND {column} IS NOT NULL ORDER BY {pk} LIMIT %s"
        )
        update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s"  # noqa: S608
        rotated = seen = 0
        last = 0  # auto-increment keys start at 1
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select, [last, batch_size])
                rows = cursor.fetchall()
                if not rows:
                    return rotated, seen
                seen += len(rows)
                last = rows[-1][0]
                changes = []
                for row_pk, token in rows:
                    if encryption.is_current(token):
                        continue
                    try:
                        changes.append((encryption.rotate(token), row_pk, token))
                    except encryption.DecryptionError as exc:
                        raise CommandError(
                            f"{model._meta.label}.{field.name} row {row_pk}: no key in FIELD_ENCRYPTION_KEYS opens "
                            "it. Put the key it was written with back in the list (after the newest) and run again; "
                            f"{rotated:,} values were rotated before this one."
                        ) from exc
                if changes:
                    cursor.executemany(update, changes)
                    rotated += cursor.rowcount
