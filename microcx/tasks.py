from celery import shared_task

from crm.kernel.tasks import COMMON
from microcx import services
from microcx.models import Budget


@shared_task(**COMMON, soft_time_limit=50, time_limit=60)
def renew_budgets() -> int:
    """On the first day of a period in each location's own time zone, create the budgets owners asked to renew
    (idempotent)."""
    renewed = 0
    for budget_id in services.budgets_to_renew():
        renewed += services.budget_renew(budget=Budget.objects.get(pk=budget_id)) is not None
    return renewed
