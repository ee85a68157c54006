"""Reads for journeys: a persona's observed journey, touchpoint trends, a customer's own journey."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Min, Sum

from customers.models import Customer
from journeys.models import (
    CustomerJourneyStat,
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


def journey_map(persona: Persona) -> dict:
    """The designed journey beside the observed one: touchpoints as rows, stages as columns."""
    members = CustomerPersona.objects.filter(persona=persona)
    stats = (
        CustomerJourneyStat.objects.filter(customer__persona_link__persona=persona)
        .values("touchpoint_id", "stage")
        .annotate(
            customers=Count("customer_id", distinct=True),
            interactions=Sum("interactions"),
            sentiment_sum=Sum("sentiment_sum"),
        )
    )
    steps = list(persona.steps.select_related("touchpoint"))
    touchpoint_ids = {row["touchpoint_id"] for row in stats} | {step.touchpoint_id for step in steps}
    touchpoints = list(Touchpoint.objects.filter(pk__in=touchpoint_ids).order_by("position", "name"))
    cells: dict[tuple[int, str], Cell] = defaultdict(Cell)
    for row in stats:
        cell = cells[(row["touchpoint_id"], row["stage"])]
        cell.customers, cell.interactions, cell.sentiment_sum = (
            row["customers"],
            row["interactions"],
            row["sentiment_sum"],
        )
    for step in steps:
        cells[(step.touchpoint_id, step.stage)].steps.append(step)
    grid = [
        {"touchpoint": touchpoint, "cells": [cells[(touchpoint.pk, stage)] for stage, _ in STAGES]}
        for touchpoint in touchpoints
    ]
    return {
        "members": members.count(),
        "grid": grid,
        "stages": STAGES,
        "steps": steps,
        "paths": common_paths(persona, {t.pk: t for t in touchpoints}),
    }


def common_paths(persona: Persona, touchpoints: dict[int, Touchpoint], top: int = 5) -> list[tuple[str, int]]:
    """The most common first three touchpoints (in the order customers first met them)."""
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
    return [
        (" → ".join(touchpoints[pk].name for pk in steps if pk in touchpoints), count)
        for steps, count in paths.most_common(top)
    ]


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
    return {
        "labels": [m.strftime("%b %y") for m in labels],
        "interactions": [counts.get(m, 0) for m in labels],
        "metrics": {name: [values.get(m) for m in labels] for name, values in metrics.items()},
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
        "journey_stages": [(label, by_stage.get(stage, 0)) for stage, label in STAGES],
        "persona": persona.persona if persona else None,
    }
