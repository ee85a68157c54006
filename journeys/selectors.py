"""Reads for journeys: a persona's observed journey, touchpoint trends, a customer's own journey."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Min, Sum

from crm.kernel import snapshots
from customers import extensions
from customers.models import Customer
from journeys.models import (
    CustomerJourneyStat,
    CustomerOrigin,
    CustomerPersona,
    Interaction,
    JourneyStep,
    Persona,
    Touchpoint,
    TouchpointMetric,
    TouchpointMonth,
)

STAGES = Touchpoint.Stage.choices
PATH_LENGTH = 3


@dataclass
class Cell:
    customers: int = 0
    interactions: int = 0
    sentiment_sum: int = 0
    steps: list[JourneyStep] = field(default_factory=list)

    @property
    def sentiment(self) -> float | None:
        return self.sentiment_sum / self.interactions if self.interactions else None

    @property
    def tone(self) -> str:
        """Colour the cell by average sentiment: good, mixed or poor."""
        if self.sentiment is None:
            return "none"
        if self.sentiment >= 0.25:
            return "good"
        if self.sentiment <= -0.25:
            return "poor"
        return "mixed"


MAP_MAX_AGE = datetime.timedelta(minutes=10)


def journey_map(persona: Persona, *, max_age: datetime.timedelta = MAP_MAX_AGE) -> dict:
    """The designed journey beside the observed one: touchpoints as rows, stages as columns.

    The observed part comes from a snapshot at most `max_age` old (Celery refreshes it);
    the designed steps are always current.
    """
    observed = snapshots.cached(f"journey|{persona.pk}", lambda: observed_journey(persona), max_age=max_age)
    steps = list(persona.steps.select_related("touchpoint"))
    touchpoint_ids = {cell[0] for cell in observed["cells"]} | {step.touchpoint_id for step in steps}
    touchpoints = {t.pk: t for t in Touchpoint.objects.filter(pk__in=touchpoint_ids)}
    cells: dict[tuple[int, str], Cell] = defaultdict(Cell)
    for touchpoint_id, stage, customers, interactions, sentiment_sum in observed["cells"]:
        cells[(touchpoint_id, stage)] = Cell(customers, interactions, sentiment_sum)
    for step in steps:
        cells[(step.touchpoint_id, step.stage)].steps.append(step)
    ordered = sorted(touchpoints.values(), key=lambda t: (t.position, t.name))
    grid = [{"touchpoint": t, "cells": [cells[(t.pk, stage)] for stage, _ in STAGES]} for t in ordered]
    paths = [
        (" → ".join(touchpoints[pk].name for pk in path if pk in touchpoints), count)
        for path, count in observed["paths"]
    ]
    return {
        "members": observed["members"],
        "grid": grid,
        "stages": STAGES,
        "steps": steps,
        "paths": paths,
        "as_of": datetime.datetime.fromisoformat(observed["computed_at"]),
    }


def observed_journey(persona: Persona) -> dict:
    """What the persona's customers really did: per touchpoint and stage, and their most common paths."""
    stats = (
        CustomerJourneyStat.objects.filter(customer__persona_link__persona=persona)
        .values("touchpoint_id", "stage")
        .annotate(
            customers=Count("customer_id", distinct=True),
            interactions=Sum("interactions"),
            sentiment_sum=Sum("sentiment_sum"),
        )
    )
    return {
        "members": CustomerPersona.objects.filter(persona=persona).count(),
        "cells": [
            [row["touchpoint_id"], row["stage"], row["customers"], row["interactions"], row["sentiment_sum"]]
            for row in stats
        ],
        "paths": common_paths(persona),
    }


def refresh_journey_snapshots() -> int:
    personas = list(Persona.objects.filter(is_active=True))
    for persona in personas:
        snapshots.store(f"journey|{persona.pk}", observed_journey(persona))
    return len(personas)


def common_paths(persona: Persona, top: int = 5) -> list[tuple[list[int], int]]:
    """The most common first three touchpoints (in the order customers first met them), as touchpoint ids."""
    firsts = (
        CustomerJourneyStat.objects.filter(customer__persona_link__persona=persona)
        .values("customer_id", "touchpoint_id")
        .annotate(first=Min("first_at"))
        .order_by("customer_id", "first")
    )
    paths: Counter = Counter()
    current, path = None, []
    for row in firsts.iterator(chunk_size=5000):
        if row["customer_id"] != current:
            if path:
                paths[tuple(path)] += 1
            current, path = row["customer_id"], []
        if len(path) < PATH_LENGTH:
            path.append(row["touchpoint_id"])
    if path:
        paths[tuple(path)] += 1
    return [(list(steps), count) for steps, count in paths.most_common(top)]


def touchpoint_trend(touchpoint: Touchpoint, months: int = 12, today: datetime.date | None = None) -> dict:
    """Monthly interactions and the business's own figures for one touchpoint, for a small chart."""
    today = today or datetime.date.today()  # noqa: DTZ011 - month labels only
    start = (today.replace(day=1) - datetime.timedelta(days=31 * (months - 1))).replace(day=1)
    labels, month = [], start
    while month <= today:
        labels.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    counts = dict(
        TouchpointMonth.objects.filter(touchpoint=touchpoint, month__gte=start)
        .values("month")
        .annotate(n=Sum("interactions"))
        .values_list("month", "n")
    )
    metrics = defaultdict(dict)
    for metric in TouchpointMetric.objects.filter(touchpoint=touchpoint, month__gte=start):
        metrics[metric.get_name_display()][metric.month] = float(metric.value)
    measured = {}
    for source in extensions.slots.touchpoint_figures:
        measured.update(source.figures(touchpoint, start))
    return {
        "labels": [m.strftime("%b %y") for m in labels],
        "interactions": [counts.get(m, 0) for m in labels],
        "metrics": {name: [values.get(m) for m in labels] for name, values in {**metrics, **measured}.items()},
        # The figures typed in by hand beside the measured ones, newest month first, for months measured.
        "beside": {
            "names": [*metrics, *measured],
            "rows": [
                {
                    "month": m.strftime("%b %Y"),
                    "values": [values.get(m) for values in (*metrics.values(), *measured.values())],
                }
                for m in reversed(labels)
                if any(m in values for values in measured.values())
            ],
        },
    }


def customer_journey(customer: Customer) -> dict:
    """A customer's own journey: how they first heard of us, then their interactions by stage."""
    by_stage = dict(
        Interaction.objects.filter(customer=customer).values("stage").annotate(n=Count("pk")).values_list("stage", "n")
    )
    first = Interaction.objects.filter(customer=customer).select_related("touchpoint").order_by("occurred_at").first()
    persona = CustomerPersona.objects.filter(customer=customer).select_related("persona").first()
    return {
        "journey_first": first,
        "heard_via": None if first else heard_via(customer),
        "journey_stages": [(label, by_stage.get(stage, 0)) for stage, label in STAGES],
        "persona": persona.persona if persona else None,
    }


def heard_via(customer: Customer) -> Touchpoint | None:
    """Return the touchpoint through which the customer first heard of us, if anyone recorded it."""
    origin = CustomerOrigin.objects.filter(customer=customer).select_related("touchpoint").first()
    return origin.touchpoint if origin else None
