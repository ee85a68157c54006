"""Writes for what managers keep: the touchpoint catalogue and its monthly figures, personas and their
designed journeys, who belongs to which persona, and API tokens."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from crm.kernel.models import User
from customers.models import Customer
from journeys.models import ApiToken, CustomerPersona, JourneyStep, Persona, Touchpoint, TouchpointMetric


@transaction.atomic
def touchpoint_save(*, touchpoint: Touchpoint) -> Touchpoint:
    """Save a touchpoint of the catalogue (new, edited or retired)."""
    touchpoint.full_clean()
    touchpoint.save()
    return touchpoint


@transaction.atomic
def metric_set(*, touchpoint: Touchpoint, month: datetime.date, name: str, value: Decimal) -> TouchpointMetric:
    """Record one month's figure for a touchpoint, replacing what was there."""
    metric, _created = TouchpointMetric.objects.update_or_create(
        touchpoint=touchpoint, month=month, name=name, defaults={"value": value}
    )
    return metric


@transaction.atomic
def metrics_import(*, rows: Iterable[tuple[Touchpoint, datetime.date, str, Decimal]]) -> int:
    """Record many figures at once, all or nothing; return how many."""
    count = 0
    for touchpoint, month, name, value in rows:
        metric_set(touchpoint=touchpoint, month=month, name=name, value=value)
        count += 1
    return count


@transaction.atomic
def persona_save(*, persona: Persona, preferred_touchpoints: Iterable[Touchpoint] | None = None) -> Persona:
    persona.full_clean()
    persona.save()
    if preferred_touchpoints is not None:
        persona.preferred_touchpoints.set(preferred_touchpoints)
    return persona


@transaction.atomic
def step_save(*, step: JourneyStep) -> JourneyStep:
    step.full_clean()
    step.save()
    return step


@transaction.atomic
def step_delete(*, step: JourneyStep) -> None:
    step.delete()


@transaction.atomic
def persona_assign(*, customer: Customer, persona: Persona | None, by: User) -> None:
    """Put the customer in a persona, or in none."""
    if persona is None:
        CustomerPersona.objects.filter(customer=customer).delete()
    else:
        CustomerPersona.objects.update_or_create(customer=customer, defaults={"persona": persona, "assigned_by": by})


def api_token_create(*, name: str, by: User) -> tuple[ApiToken, str]:
    """Make a token; the key is shown once, only its hash is kept."""
    key = "crm_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name, key_hash=hashlib.sha256(key.encode()).hexdigest(), prefix=key[:8], created_by=by
    )
    return token, key


def api_token_used(*, token: ApiToken) -> None:
    """Note when a token was last used (shown beside it on the tokens page)."""
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> None:
    """Stop a token working at once (kept, so its past imports still name it)."""
    ApiToken.objects.filter(pk=token.pk).update(is_active=False)
