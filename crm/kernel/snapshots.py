"""Figures that take a while to compute, kept for a few minutes and refreshed by Celery beat.

Pages show `computed_at` ("as of 10:35"), so nobody mistakes a snapshot for a live count.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.utils import timezone

from crm.kernel.models import Snapshot


def cached(key: str, compute: Callable[[], dict], *, max_age: datetime.timedelta) -> dict:
    """Return the stored figures when fresh enough, else compute, store and return them."""
    snapshot = Snapshot.objects.filter(key=key, computed_at__gte=timezone.now() - max_age).first()
    if snapshot is not None:
        return snapshot.figures
    return store(key, compute())


def store(key: str, figures: dict) -> dict:
    figures = {**figures, "computed_at": timezone.now().isoformat(timespec="seconds")}
    Snapshot.objects.update_or_create(key=key, defaults={"figures": figures, "computed_at": timezone.now()})
    return figures


def forget_older_than(age: datetime.timedelta) -> None:
    Snapshot.objects.filter(computed_at__lt=timezone.now() - age).delete()
