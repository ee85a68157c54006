"""The inbox's access helper: a member of staff reads and marks only their own notifications."""

from django.http import Http404

from crm.inbox.models import Notification
from crm.kernel.models import User


def get_notification_for_user(user: User, pk: int) -> Notification:
    """Return a notification of this user's own inbox, else 404: nobody reads or marks another's."""
    try:
        return Notification.objects.select_related("customer").get(pk=pk, recipient=user)
    except (Notification.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such notification") from None
