"""The staff inbox: reads and writes of notifications."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from crm.models import Notification, User

# Things to do first, then dates to know about, then who to get in touch with.
KIND_ORDER = Case(
    When(kind__startswith="follow_up", then=Value(0)),
    When(kind__in=[Notification.Kind.IMPORTANT_DATE, Notification.Kind.CUSTOMER_SINCE], then=Value(1)),
    default=Value(2),
)


def inbox(user: User, show: str = "open") -> QuerySet[Notification]:
    """The user's notifications: open ones first, follow-ups before dates before keep-in-touch."""
    notifications = Notification.objects.filter(recipient=user).select_related("customer")
    if show == "open":
        notifications = notifications.filter(done_at__isnull=True)
    return notifications.alias(kind_order=KIND_ORDER).order_by(
        F("done_at").desc(nulls_first=True), "kind_order", "occurrence", "pk"
    )


def hide_private(items: list[Notification]) -> list[Notification]:
    """Put "Follow up on a private note" in place of the title of reminders of follow-ups written
    from a sensitive note, whoever reads them (the inbox, the start-of-shift email).

    Reminders are raised that way already; this also covers a note marked sensitive afterwards.
    """
    from crm import confidences
    from customers.models import FollowUp

    follow_up_ids = {}
    for item in items:
        kind, _, pk = item.source.partition(":")
        if kind in ("follow_up", "untaken") and pk.isdigit():
            follow_up_ids[item.pk] = int(pk)
    if not follow_up_ids:
        return items
    # A title is stored once for every reader, so it is masked as for nobody in particular.
    follow_ups = FollowUp.objects.select_related("note").defer("prompt", "note__text")
    follow_ups = follow_ups.in_bulk(set(follow_up_ids.values()))
    private = {pk for pk, follow_up in follow_ups.items() if not confidences.may_read(None, follow_up.note)}
    for item in items:
        if follow_up_ids.get(item.pk) in private:
            name = f" ({item.customer.greeting_name})" if item.customer_id else ""
            item.title = f"{confidences.PRIVATE_FOLLOW_UP}{name}"
    return items


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, done_at__isnull=True, read_at__isnull=True).count()


@transaction.atomic
def notification_mark(*, notification: Notification, read: bool | None = None, done: bool | None = None) -> None:
    now = timezone.now()
    if read is not None:
        notification.read_at = now if read else None
    if done is not None:
        notification.done_at = now if done else None
        notification.read_at = notification.read_at or now
    notification.save(update_fields=["read_at", "done_at"])


@transaction.atomic
def notifications_settle(*, sources: list[str]) -> int:
    """Mark done the open notifications whose cause is settled (a follow-up closed, a customer contacted)."""
    return Notification.objects.filter(done_at__isnull=True, source__in=sources).update(done_at=timezone.now())


def follow_up_taken(follow_up) -> None:
    """Once someone took a whole-location follow-up, the others' reminders stop offering it."""
    Notification.objects.filter(
        source__in=[f"follow_up:{follow_up.pk}", f"untaken:{follow_up.pk}"], done_at__isnull=True
    ).exclude(recipient=follow_up.assignee).update(done_at=timezone.now())
    Notification.objects.filter(source__startswith=f"follow_up:{follow_up.pk}").update(takeable=False)


def follow_up_closed(follow_up) -> None:
    notifications_settle(sources=[f"follow_up:{follow_up.pk}", f"untaken:{follow_up.pk}"])


def customer_contacted(customer) -> None:
    notifications_settle(sources=[f"keep:{customer.pk}"])


def customers_contacted(customer_ids: list[int]) -> None:
    """After an import: keep-in-touch reminders of these customers are settled (by customer, not by source)."""
    Notification.objects.filter(
        kind=Notification.Kind.KEEP_IN_TOUCH, customer_id__in=customer_ids, done_at__isnull=True
    ).update(done_at=timezone.now())
