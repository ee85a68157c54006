"""The win-back rule, moved from the crm app with its table and row (crm_loyaltyrule)."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ["loyaltyrule"]


def move_content_types(apps, schema_editor):
    """Relabel the moved models' content types, so their permissions (and who holds them) and audit entries stay."""
    _relabel(apps, "crm", "insights")


def move_content_types_back(apps, schema_editor):
    _relabel(apps, "insights", "crm")


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
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are (crm_*, named in each model's Meta.db_table): only the state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LoyaltyRule",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "regular_visit_days",
                            models.PositiveSmallIntegerField(
                                default=3,
                                help_text="Days they came in (several purchases on one day count once).",
                                validators=[
                                    django.core.validators.MinValueValidator(2),
                                    django.core.validators.MaxValueValidator(100),
                                ],
                                verbose_name="at least this many visit days",
                            ),
                        ),
                        (
                            "regular_months",
                            models.PositiveSmallIntegerField(
                                default=6,
                                validators=[
                                    django.core.validators.MinValueValidator(1),
                                    django.core.validators.MaxValueValidator(36),
                                ],
                                verbose_name="within the last (months)",
                            ),
                        ),
                        (
                            "quiet_weeks",
                            models.PositiveSmallIntegerField(
                                default=6,
                                help_text="Also how long a new customer has to come back before they count as never came back.",
                                validators=[
                                    django.core.validators.MinValueValidator(1),
                                    django.core.validators.MaxValueValidator(104),
                                ],
                                verbose_name="and none in the last (weeks)",
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "updated_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "win-back rule",
                        "db_table": "crm_loyaltyrule",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("quiet_weeks__gte", 1), ("regular_months__gte", 1), ("regular_visit_days__gte", 2)
                                ),
                                name="loyalty_rule_positive",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
