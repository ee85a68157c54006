"""Celery tasks for messages: they take ids and call a service (outreach.services)."""

from celery import shared_task

from crm.kernel.tasks import COMMON
from outreach import services


@shared_task(bind=True, **COMMON, soft_time_limit=50, time_limit=60)
def send_message(self, message_id: int) -> str:
    """Send one queued email, once; a transient mail-server error is retried with backoff."""
    try:
        return services.message_deliver(message_id=message_id)
    except services.TransientSendError as error:
        raise self.retry(countdown=error.retry_in, exc=error, max_retries=services.MAX_ATTEMPTS) from error


@shared_task(**COMMON, soft_time_limit=50, time_limit=60)
def sweep_messages() -> int:
    """Queue the emails still waiting (their task was lost while the broker was away, or a retry was)."""
    ids = services.messages_due()
    for message_id in ids:
        send_message.delay(message_id)
    return len(ids)
