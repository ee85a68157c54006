"""Migration 0010 turns the old `source` strings of notifications into real references."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from crm.inbox.models import Notification
from customers.services import follow_up_create
from tests.customers.factories import ImportantDateFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("crm", "0009_loyalty_rule")]
AFTER = [("crm", "0010_notification_references")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture(autouse=True)
def _latest_schema_afterwards():
    """Leave the database at every app's latest migration, as the tests after this one expect: migrating
    back to 0009 also undid crm's later migrations, which AFTER alone does not redo."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    migrate(executor.loader.graph.leaf_nodes())


def test_source_strings_become_foreign_keys_and_orphans_are_dropped(customer, frontline, location):
    from decimal import Decimal

    from microcx.services import budget_create
    from tests.microcx.factories import propose_gesture

    follow_up = follow_up_create(customer=customer, created_by=frontline, prompt="Ask about the trip")
    date = ImportantDateFactory(customer=customer)
    budget_create(location=location, period="month", day=location.local_today(), amount=Decimal("200"), by=None)
    gesture = propose_gesture(customer=customer, proposer=frontline, location=location, amount="5")
    migrate(BEFORE)
    try:
        rows = [
            ("follow_up_due", f"follow_up:{follow_up.pk}", customer.pk),
            ("follow_up_untaken", f"untaken:{follow_up.pk}", customer.pk),
            ("follow_up_due", f"follow_up:{follow_up.pk + 1000}", customer.pk),  # its follow-up is gone
            ("important_date", f"date:{date.pk}", customer.pk),
            ("keep_in_touch", f"keep:{customer.pk}", customer.pk),
            ("message", f"gesture:{gesture.pk}:approved", customer.pk),
            ("message", f"gesture:{gesture.pk}:rejected", customer.pk),
        ]
        with connection.cursor() as cursor:
            for kind, source, customer_id in rows:
                cursor.execute(
                    "INSERT INTO crm_notification (recipient_id, kind, source, occurrence, customer_id, title, body,"
                    " gesture_idea, url, takeable, created_at)"
                    " VALUES (%s, %s, %s, '2026-04-01', %s, %s, '', '', '', false, now())",
                    [frontline.pk, kind, source, customer_id, source],
                )
    finally:
        migrate(AFTER)
    # Columns later migrations add (crm 0012's import_job) are not there yet at 0010.
    found = {n.title: n for n in Notification.objects.defer("import_job")}
    assert set(found) == {
        f"follow_up:{follow_up.pk}",
        f"untaken:{follow_up.pk}",
        f"date:{date.pk}",
        f"keep:{customer.pk}",
        f"gesture:{gesture.pk}:approved",
        f"gesture:{gesture.pk}:rejected",
    }
    approved, rejected = found[f"gesture:{gesture.pk}:approved"], found[f"gesture:{gesture.pk}:rejected"]
    assert (approved.kind, approved.gesture_id) == ("gesture_approved", gesture.pk)
    assert (rejected.kind, rejected.gesture_id) == ("gesture_rejected", gesture.pk)
    assert found[f"follow_up:{follow_up.pk}"].follow_up_id == follow_up.pk
    assert found[f"untaken:{follow_up.pk}"].follow_up_id == follow_up.pk
    assert found[f"date:{date.pk}"].important_date_id == date.pk
    assert found[f"keep:{customer.pk}"].customer_id == customer.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'crm_notification'")
        assert "source" not in {row[0] for row in cursor.fetchall()}
