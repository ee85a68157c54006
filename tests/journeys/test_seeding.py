"""The default touchpoints and discretion rules have one owner each, run after every migrate."""

from decimal import Decimal
from importlib import import_module
from pathlib import Path

import pytest
from django.core.management.sql import emit_post_migrate_signal

from journeys.catalogue import DEFAULT_TOUCHPOINTS, ensure_catalogue
from journeys.models import Touchpoint
from microcx.models import DiscretionRule
from microcx.services.discretion import DEFAULT_RULES

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def migrated():
    """What `migrate` does at its end, whether or not it applied anything (and `flush` after emptying)."""
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")


def test_a_migrated_database_has_every_default_once():
    assert sorted(Touchpoint.objects.values_list("slug", flat=True)) == sorted(s for s, *_ in DEFAULT_TOUCHPOINTS)
    rules = {r.role: (r.per_gesture_limit, r.monthly_cap) for r in DiscretionRule.objects.all()}
    assert rules == {role: (Decimal(limit), Decimal(cap)) for role, (limit, cap) in DEFAULT_RULES.items()}


def test_migrate_puts_back_missing_defaults_and_never_changes_edited_ones():
    Touchpoint.objects.filter(slug="blog").delete()
    Touchpoint.objects.filter(slug="search").update(name="Google", is_active=False)
    DiscretionRule.objects.filter(role="owner").delete()
    DiscretionRule.objects.filter(role="frontline").update(per_gesture_limit=Decimal("10"))
    migrated()
    migrated()
    assert Touchpoint.objects.count() == len(DEFAULT_TOUCHPOINTS)
    assert Touchpoint.objects.filter(slug="blog").exists()
    assert Touchpoint.objects.filter(slug="search", name="Google", is_active=False).exists()
    assert DiscretionRule.objects.count() == len(DEFAULT_RULES)
    assert DiscretionRule.objects.get(role="frontline").per_gesture_limit == Decimal("10")
    assert DiscretionRule.objects.get(role="owner").monthly_cap == Decimal(DEFAULT_RULES["owner"][1])


def test_ensure_catalogue_keeps_the_catalogue_order():
    Touchpoint.objects.all().delete()
    ensure_catalogue()
    assert list(Touchpoint.objects.order_by("position").values_list("slug", flat=True)) == [
        slug for slug, *_ in DEFAULT_TOUCHPOINTS
    ]


def test_the_migrations_hold_no_second_copy_of_the_defaults():
    touchpoints = import_module("journeys.migrations.0002_seed_touchpoints")
    ledger = import_module("microcx.migrations.0002_ledger_append_only_and_rules")
    assert touchpoints.Migration.operations == []
    assert not hasattr(touchpoints, "TOUCHPOINTS")
    assert "DiscretionRule" not in Path(ledger.__file__).read_text().split('"""', 2)[2]
