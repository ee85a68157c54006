"""The inbox's models, moved from the crm app with their tables and rows (crm_notification, ...)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ["heartbeat", "notification", "sweeprun", "digestsend"]


def move_content_types(apps, schema_editor):
    """Relabel the moved models' content types, so their permissions (and who holds them) and audit entries stay."""
    _relabel(apps, "crm", "inbox")


def move_content_types_back(apps, schema_editor):
    _relabel(apps, "inbox", "crm")


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=old, model=model).exists():
            continue  # a fresh database: post_migrate creates the new ones
        # A content type made for the new label already (its own fresh permissions) gives way to the old one.
        ContentType.objects.filter(app_label=new, model=model).delete()
        ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("crm", "0012_move_inbox_and_insights_models"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0013_encrypt_derived_text"),
        ("microcx", "0003_discretion_under_lock"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are (crm_*, named in each model's Meta.db_table): only the state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Heartbeat",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=60, unique=True)),
                        ("beat_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "crm_heartbeat",
                    },
                ),
                migrations.CreateModel(
                    name="SweepRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=40)),
                        ("started_at", models.DateTimeField(db_index=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("raised", models.JSONField(default=dict, help_text="How many notifications of each kind.")),
                        ("error", models.TextField(blank=True)),
                    ],
                    options={
                        "db_table": "crm_sweeprun",
                        "ordering": ["-started_at"],
                        "indexes": [models.Index(fields=["name", "-started_at"], name="sweep_run_recent")],
                    },
                ),
                migrations.CreateModel(
                    name="DigestSend",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("day", models.DateField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("skipped", "Skipped"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("items", models.PositiveIntegerField(default=0)),
                        ("last_error", models.CharField(blank=True, max_length=300)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "recipient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="digests",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "crm_digestsend",
                        "constraints": [models.UniqueConstraint(fields=("recipient", "day"), name="digest_once_a_day")],
                    },
                ),
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("follow_up_due", "Follow-up due"),
                                    ("follow_up_overdue", "Follow-up overdue"),
                                    ("follow_up_untaken", "Follow-up nobody took"),
                                    ("follow_up_escalated", "Follow-up escalated"),
                                    ("important_date", "Important date"),
                                    ("customer_since", "Customer anniversary"),
                                    ("keep_in_touch", "Keep in touch"),
                                    ("gesture_approved", "Gesture approved"),
                                    ("gesture_rejected", "Gesture not approved"),
                                    ("message", "Message"),
                                ],
                                max_length=24,
                            ),
                        ),
                        (
                            "occurrence",
                            models.DateField(help_text="The day (or the date's occurrence) it was raised for."),
                        ),
                        ("title", models.CharField(max_length=200)),
                        ("body", models.TextField(blank=True)),
                        (
                            "gesture_idea",
                            models.CharField(
                                blank=True, help_text="A suggestion, never sent by itself.", max_length=200
                            ),
                        ),
                        ("url", models.CharField(blank=True, max_length=200)),
                        (
                            "takeable",
                            models.BooleanField(
                                default=False, help_text="A whole-location follow-up someone can take on."
                            ),
                        ),
                        (
                            "overdue_on",
                            models.DateField(blank=True, help_text="From this day it shows red (overdue).", null=True),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("read_at", models.DateTimeField(blank=True, null=True)),
                        ("done_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "emailed_on",
                            models.DateField(blank=True, help_text="The digest day it went out in.", null=True),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="customers.customer",
                            ),
                        ),
                        (
                            "follow_up",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="customers.followup",
                            ),
                        ),
                        (
                            "gesture",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="microcx.gesture",
                            ),
                        ),
                        (
                            "important_date",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="customers.importantdate",
                            ),
                        ),
                        (
                            "recipient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "crm_notification",
                        "ordering": ["-occurrence", "-created_at"],
                        "indexes": [
                            models.Index(fields=["recipient", "done_at", "-created_at"], name="notification_inbox"),
                            models.Index(fields=["created_at"], name="notification_created"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=(
                                    "kind",
                                    "customer",
                                    "follow_up",
                                    "important_date",
                                    "gesture",
                                    "occurrence",
                                    "recipient",
                                ),
                                name="notification_once",
                                nulls_distinct=False,
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(
                                        models.Q(
                                            (
                                                "kind__in",
                                                (
                                                    "follow_up_due",
                                                    "follow_up_overdue",
                                                    "follow_up_untaken",
                                                    "follow_up_escalated",
                                                ),
                                            ),
                                            _negated=True,
                                        ),
                                        ("follow_up__isnull", False),
                                        _connector="OR",
                                    ),
                                    models.Q(
                                        models.Q(("kind", "important_date"), _negated=True),
                                        ("important_date__isnull", False),
                                        _connector="OR",
                                    ),
                                    models.Q(
                                        models.Q(("kind__in", ("gesture_approved", "gesture_rejected")), _negated=True),
                                        ("gesture__isnull", False),
                                        _connector="OR",
                                    ),
                                    models.Q(
                                        models.Q(("kind__in", ["customer_since", "keep_in_touch"]), _negated=True),
                                        ("customer__isnull", False),
                                        _connector="OR",
                                    ),
                                ),
                                name="notification_names_its_cause",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
