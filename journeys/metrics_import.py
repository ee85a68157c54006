"""Import monthly figures of touchpoints (open rate, bounce rate, waiting time...) from CSV.

One import kind of the import framework (crm.kernel.imports): columns touchpoint, month (2026-10), metric and
value; every bad row is reported by line; a figure already there for that month is replaced. No customer
is matched: the figures are the touchpoint's, not a person's.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import pluralize

from crm.kernel import imports
from journeys import services_manage
from journeys.models import Touchpoint, TouchpointMetric

COLUMNS = {
    "touchpoint": ["touchpoint", "channel"],
    "month": ["month"],
    "metric": ["metric", "name", "figure"],
    "value": ["value"],
}


class MetricRowForm(forms.Form):
    touchpoint = forms.CharField(strip=True)
    month = forms.CharField(strip=True)
    metric = forms.CharField(strip=True)
    value = forms.CharField(strip=True)

    def __init__(self, *args, touchpoints: dict[str, Touchpoint], **kwargs):
        super().__init__(*args, **kwargs)
        self.touchpoints = touchpoints
        self.names = {value: value for value in TouchpointMetric.Name.values}
        self.names.update({label.lower(): value for value, label in TouchpointMetric.Name.choices})

    def clean_touchpoint(self) -> Touchpoint:
        name = self.cleaned_data["touchpoint"]
        touchpoint = self.touchpoints.get(name.lower())
        if touchpoint is None:
            raise ValidationError(f"Unknown touchpoint {name!r}.")
        return touchpoint

    def clean_metric(self) -> str:
        name = self.cleaned_data["metric"]
        if name.lower() not in self.names:
            raise ValidationError(f"Unknown metric {name!r}.")
        return self.names[name.lower()]

    def clean_month(self) -> datetime.date:
        text = self.cleaned_data["month"]
        try:
            return datetime.date.fromisoformat(text[:7] + "-01")
        except ValueError:
            raise ValidationError(f"Month {text!r} is not like 2026-10.") from None

    def clean_value(self) -> Decimal:
        text = self.cleaned_data["value"]
        try:
            value = Decimal(text)
            if not value.is_finite() or abs(value) >= 10**10:
                raise InvalidOperation
        except InvalidOperation:
            raise ValidationError(f"Value {text!r} is not a number.") from None
        return value


class MetricImport(imports.ImportSpec):
    kind = "CSV file"
    noun, nouns = "figure", "figures"
    columns = COLUMNS
    required = ("touchpoint", "month", "metric", "value")
    row_form = MetricRowForm
    max_rows = 50_000
    empty = "The file has no rows (columns: touchpoint, month, metric, value)."

    def context(self, options: dict) -> dict:
        touchpoints = {}
        for touchpoint in Touchpoint.objects.all():
            touchpoints[touchpoint.slug] = touchpoints[touchpoint.name.lower()] = touchpoint
        return {"touchpoints": touchpoints}

    def form(self, context: dict) -> MetricRowForm:
        return MetricRowForm(**context)

    def pack(self, row):
        data = row.data
        return (row.line, data["touchpoint"].pk, data["month"], data["metric"], data["value"])

    def unpack(self, packed):
        line, touchpoint, month, metric, value = packed
        return imports.RowResult(
            line=line, data={"touchpoint_id": touchpoint, "month": month, "metric": metric, "value": value}
        )

    def commit_start(self, plan, *, user) -> dict:
        return {"user": user, "imported": 0, "touchpoints": {t.pk: t for t in Touchpoint.objects.all()}}

    def commit_batch(self, batch, state, plan) -> None:
        touchpoints = state["touchpoints"]
        state["imported"] += services_manage.metrics_import(
            rows=[(touchpoints[touchpoint], month, metric, value) for _line, touchpoint, month, metric, value in batch]
        )

    def commit_end(self, state, plan) -> dict:
        return {"imported": state["imported"]}


SPEC = MetricImport()


def check(raw, *, options: dict | None = None, progress: imports.Progress | None = None) -> imports.Plan:
    """Read and check a CSV of monthly figures without saving anything."""
    return imports.check(SPEC, raw, options=options or {}, progress=progress)


def commit(plan: imports.Plan, *, user, progress: imports.Progress | None = None) -> dict[str, int]:
    """Save the figures, all or nothing; return {"imported": n}."""
    return imports.commit(plan, user=user, progress=progress)


def done_message(summary: dict) -> str:
    return f"Imported {summary['imported']} figure{pluralize(summary['imported'])}."
