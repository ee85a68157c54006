"""`manage.py flush`, which may also empty the append-only ledger.

The database refuses TRUNCATE of microcx_ledgerentry (migration 0003) unless the transaction
has set crm.allow_ledger_truncate = on. Flushing is the one deliberate "empty every table":
an operator types "yes" to it, and Django's transactional tests run it between tests. So this
command, which replaces Django's, sets that for its own transaction only; any other TRUNCATE
of the ledger (a script, a mistaken statement in psql) is still refused.
"""

from django.core.management.commands import flush
from django.db import connections, transaction


class Command(flush.Command):
    def handle(self, **options):
        database = options["database"]
        with transaction.atomic(using=database), connections[database].cursor() as cursor:
            cursor.execute("SELECT set_config('crm.allow_ledger_truncate', 'on', true)")
            return super().handle(**options)
