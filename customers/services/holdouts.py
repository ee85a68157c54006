"""Writes for the hold-outs: whom a rule-driven prompt picked, and whether they were left out."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from crm.kernel import holdout
from customers.models import RuleExposure


@transaction.atomic
def rule_exposures_record(
    *, rule: str, picks: list[tuple[int, int, datetime.date]], picked_on: datetime.date
) -> set[int]:
    """Record whom a rule picked today, (customer id, location id, occasion) each, held out or not.

    Returns the ids of the customers the rule must leave out. A pick already recorded keeps its first
    row (and its side), so sweeps that run twice, or on two workers, record nothing new.
    """
    if rule not in RuleExposure.Rule.values:
        raise ValidationError({"rule": f"Unknown rule {rule!r}."})
    rows = [
        RuleExposure(
            rule=rule,
            customer_id=customer_id,
            location_id=location_id,
            occasion=occasion,
            picked_on=picked_on,
            held_out=holdout.held_out(rule, customer_id),
        )
        for customer_id, location_id, occasion in picks
    ]
    RuleExposure.objects.bulk_create(rows, ignore_conflicts=True)
    return {row.customer_id for row in rows if row.held_out}
