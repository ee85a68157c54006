"""Which messages a member of staff may see: those to customers they may open."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from crm.kernel.access import locations_for
from crm.kernel.models import User
from customers.access import customers_for
from outreach.models import Message


def messages_for(user: User) -> QuerySet[Message]:
    """Messages to customers this user may open, written at the locations they work at."""
    return Message.objects.filter(customer__in=customers_for(user), location__in=locations_for(user))


def get_message_for_user(user: User, pk: int) -> Message:
    try:
        return messages_for(user).select_related("customer", "location", "sender").get(pk=pk)
    except (Message.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such message") from None
