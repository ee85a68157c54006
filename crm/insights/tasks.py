"""The insights' Celery tasks (the snapshot task keeps its name "crm.tasks.refresh_loyalty_snapshots")."""

from celery import shared_task

from crm.kernel.tasks import COMMON


@shared_task(name="crm.tasks.refresh_loyalty_snapshots", **COMMON, soft_time_limit=240, time_limit=300)
def refresh_loyalty_snapshots() -> int:
    """Keep the dashboard's standard ranges current (a fresh interaction shows within minutes)."""
    from crm.insights import loyalty

    return loyalty.refresh_snapshots()


@shared_task(name="crm.insights.tasks.refresh_impact_snapshot", **COMMON, soft_time_limit=900, time_limit=960)
def refresh_impact_snapshot() -> int:
    """Recompute "did the gestures and the rules help?" (a matched comparison in SQL; the page reads the result)."""
    from crm.insights import loyalty

    return loyalty.refresh_impact()
