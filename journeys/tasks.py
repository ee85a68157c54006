from celery import shared_task

from crm.kernel.tasks import COMMON
from journeys import selectors


@shared_task(**COMMON, soft_time_limit=240, time_limit=300)
def refresh_journey_maps() -> int:
    """Keep each persona's observed journey current (the map shows "as of")."""
    return selectors.refresh_journey_snapshots()
