"""The floors move five models out of the crm app (to inbox and insights) with their tables, rows and permissions.

The database starts at today's schema (crm at 0011, no inbox or insights migrations, the moved models'
content types labelled "crm"), holds a row of every moved model and permissions on them, and is migrated
forward to every app's latest migration.
"""

import datetime

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from crm.inbox.models import DigestSend, Heartbeat, Notification, SweepRun
from crm.insights.models import LoyaltyRule
from crm.kernel import roles
from crm.kernel.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Today's schema: main's leaves before the floors (the other apps' leaves did not change).
TODAY = [("inbox", None), ("insights", None), ("crm", "0011_business_settings")]
MOVED = {"inbox": ["notification", "sweeprun", "digestsend", "heartbeat"], "insights": ["loyaltyrule"]}


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    ContentType.objects.clear_cache()


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture(autouse=True)
def _latest_schema_afterwards():
    """Leave the database at every app's latest migration, as the tests after this one expect."""
    yield
    migrate_to_latest()


def test_a_populated_database_moves_to_the_floors_with_its_rows_and_permissions(customer, frontline, manager):
    migrate(TODAY)
    # Today's database: the moved models' content types are crm's, and so are their permissions.
    for models in MOVED.values():
        for model in models:
            assert ContentType.objects.filter(app_label="crm", model=model).exists()
            assert not ContentType.objects.filter(model=model).exclude(app_label="crm").exists()
    crm_types = {
        model: ContentType.objects.get(app_label="crm", model=model).pk for ms in MOVED.values() for model in ms
    }
    view_sweeprun = Permission.objects.get(content_type__app_label="crm", codename="view_sweeprun")
    change_rule = Permission.objects.get(content_type__app_label="crm", codename="change_loyaltyrule")
    # A manager holds view_sweeprun through their role group; one member of staff holds a permission of their own.
    Group.objects.get(name=roles.GROUP_NAMES[roles.MANAGER]).permissions.add(view_sweeprun)
    frontline.user_permissions.add(change_rule)

    # A row of every moved model, written with SQL as today's code wrote them.
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crm_notification (recipient_id, kind, occurrence, customer_id, title, body, gesture_idea,"
            " url, takeable, created_at) VALUES (%s, 'keep_in_touch', '2026-04-01', %s, 'Say hello', '', '', '',"
            " false, %s) RETURNING id",
            [frontline.pk, customer.pk, now],
        )
        notification_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO crm_sweeprun (name, started_at, finished_at, raised, error)"
            " VALUES ('reminders', %s, %s, '{\"keep_in_touch due\": 1}', '') RETURNING id",
            [now, now],
        )
        sweep_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO crm_digestsend (recipient_id, day, status, attempts, items, last_error, updated_at)"
            " VALUES (%s, '2026-04-01', 'sent', 1, 3, '', %s) RETURNING id",
            [frontline.pk, now],
        )
        digest_id = cursor.fetchone()[0]
        cursor.execute("INSERT INTO crm_heartbeat (name, beat_at) VALUES ('worker', %s)", [now])
        cursor.execute(
            "INSERT INTO crm_loyaltyrule (id, regular_visit_days, regular_months, quiet_weeks, updated_at,"
            " updated_by_id) VALUES (1, 4, 9, 5, %s, %s)",
            [now, manager.pk],
        )
    entry = LogEntry.objects.create(
        content_type_id=crm_types["loyaltyrule"],
        object_pk="1",
        object_repr="Win-back rule",
        action=LogEntry.Action.UPDATE,
        actor=manager,
    )

    migrate_to_latest()

    # The rows are the same rows, read through the models in their new apps.
    notification = Notification.objects.get(pk=notification_id)
    assert (notification.kind, notification.recipient_id, notification.customer_id) == (
        "keep_in_touch",
        frontline.pk,
        customer.pk,
    )
    assert notification.occurrence == datetime.date(2026, 4, 1)
    assert SweepRun.objects.get(pk=sweep_id).raised == {"keep_in_touch due": 1}
    assert DigestSend.objects.get(pk=digest_id).items == 3
    assert Heartbeat.objects.get(name="worker").beat_at == now
    rule = LoyaltyRule.current()
    assert (rule.regular_visit_days, rule.regular_months, rule.quiet_weeks, rule.updated_by_id) == (4, 9, 5, manager.pk)

    # The content types moved (same ids), so permissions, who holds them and the audit trail stay.
    for app_label, models in MOVED.items():
        for model in models:
            assert ContentType.objects.get(app_label=app_label, model=model).pk == crm_types[model]
            assert not ContentType.objects.filter(app_label="crm", model=model).exists()
    assert Permission.objects.get(pk=view_sweeprun.pk).content_type.app_label == "inbox"
    assert User.objects.get(pk=manager.pk).has_perm("inbox.view_sweeprun")
    assert User.objects.get(pk=frontline.pk).has_perm("insights.change_loyaltyrule")
    assert not User.objects.get(pk=frontline.pk).has_perm("inbox.view_sweeprun")
    assert LogEntry.objects.get(pk=entry.pk).content_type.model_class() is LoyaltyRule
    assert ContentType.objects.get_for_model(Notification).pk == crm_types["notification"]


def test_the_move_migrates_back_to_todays_schema_and_forward_again(frontline):
    Heartbeat.objects.create(name="worker", beat_at=timezone.now())
    migrate(TODAY)
    assert ContentType.objects.filter(app_label="crm", model="heartbeat").exists()
    migrate_to_latest()
    assert Heartbeat.objects.filter(name="worker").exists()
    assert ContentType.objects.get_for_model(Heartbeat).app_label == "inbox"
