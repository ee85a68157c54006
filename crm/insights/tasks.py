"""The insights' Celery task (its name stays "crm.tasks.refresh_loyalty_snapshots", as before the floors)."""

from celery import shared_task

from crm.kernel.tasks import COMMON


@shared_task(name="crm.tasks.refresh_loyalty_snapshots", **COMMON, soft_time_limit=240, time_limit=300)
def refresh_loyalty_snapshots() -> int:
    """Keep the dashboard's standard ranges current (a fresh interaction shows within minutes)."""
    from crm.insights import loyalty

    return loyalty.refresh_snapshots()
