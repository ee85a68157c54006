"""The staff inbox: reads and writes of notifications.

This module is the only writer of notifications: the reminder sweeps and the gesture decisions raise
them through `notifications_raise`, and everything that settles them is below. A notification
names what raised it by foreign key (follow-up, important date, gesture, customer) and its kind;
nothing is matched on text.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from crm.inbox.models import Notification
from crm.kernel import cache
from crm.kernel.bulk import any_id
from crm.kernel.models import User

# Every page's badge reads the unread count from the shared cache; each write below that can change anyone's
# count retires every cached count at once (crm.kernel.cache.bump), so the badge is never behind.
UNREAD_VERSION_KEY = "crm:inbox:unread-version"
UNREAD_CACHE_SECONDS = 300

# Things to do first, then dates to know about, then who to get in touch with.
KIND_ORDER = Case(
    When(kind__in=Notification.FOLLOW_UP_KINDS, then=Value(0)),
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


# What hide_private reads of a reminder's follow-up and note: load them with the reminders,
# `.select_related("follow_up__note").only(..., *PRIVACY_COLUMNS)`, and it reads nothing more.
PRIVACY_COLUMNS = (
    "follow_up_id",
    "follow_up__note__is_sensitive",
    "follow_up__note__location_id",
    "follow_up__note__author_id",
)


def hide_private(items: list[Notification]) -> list[Notification]:
    """Put "Follow up on a private note" in place of the title of reminders of follow-ups written
    from a sensitive note, whoever reads them (the inbox, the start-of-shift email).

    Reminders are raised that way already; this also covers a note marked sensitive afterwards.
    """
    from crm.kernel import confidences
    from customers.models import FollowUp

    follow_up_ids = {item.pk: item.follow_up_id for item in items if item.follow_up_id}
    if not follow_up_ids:
        return items
    # Follow-ups (and their notes) that came with the items (PRIVACY_COLUMNS) are not read again.
    field = Notification._meta.get_field("follow_up")
    follow_ups = {item.follow_up_id: item.follow_up for item in items if item.follow_up_id and field.is_cached(item)}
    missing = set(follow_up_ids.values()) - set(follow_ups)
    if missing:
        loaded = FollowUp.objects.select_related("note").defer("prompt", "note__text").in_bulk(missing)
        follow_ups.update(loaded)
    # A title is stored once for every reader, so it is masked as for nobody in particular.
    private = {pk for pk, follow_up in follow_ups.items() if not confidences.may_read(None, follow_up.note)}
    for item in items:
        if follow_up_ids.get(item.pk) in private:
            name = f" ({item.customer.greeting_name})" if item.customer_id else ""
            item.title = f"{confidences.PRIVATE_FOLLOW_UP}{name}"
    return items


def _unread_key(user_pk) -> str:
    return f"crm:inbox:unread:{user_pk}"


@cache.read_ahead
def _read_ahead(user_pk) -> list[str]:
    """Every page's badge reads the unread count."""
    return [UNREAD_VERSION_KEY, _unread_key(user_pk)]


def unread_count(user: User) -> int:
    """How many of the user's notifications are neither read nor done (the badge), from the shared cache."""
    return cache.versioned(
        UNREAD_VERSION_KEY,
        _unread_key(user.pk),
        lambda: Notification.objects.filter(recipient=user, done_at__isnull=True, read_at__isnull=True).count(),
        UNREAD_CACHE_SECONDS,
    )


def counts_changed(**kwargs) -> None:
    """Some reminders or unread counts may have changed: the badge and the cached inbox and Today are renewed.

    Also connected to Notification's post_save and post_delete, for a save or a cascade (an important date
    deleted, a customer erased, an edit in the admin) made anywhere else."""
    cache.bump(UNREAD_VERSION_KEY)


@transaction.atomic
def notification_mark(*, notification: Notification, read: bool | None = None, done: bool | None = None) -> None:
    now = timezone.now()
    if read is not None:
        notification.read_at = now if read else None
    if done is not None:
        notification.done_at = now if done else None
        notification.read_at = notification.read_at or now
    notification.save(update_fields=["read_at", "done_at"])  # counts_changed() on post_save


@transaction.atomic
def notifications_raise(*, notifications: list[Notification]) -> int:
    """Insert these notifications, skipping any already raised (the unique key), and return how many are new."""
    created = Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=1000)
    if created:
        counts_changed()
    return len(created)


def notifications_mark_emailed(*, notifications: list[Notification], day) -> int:
    """Record the digest day these notifications went out in."""
    return Notification.objects.filter(pk__in=[n.pk for n in notifications]).update(emailed_on=day)


def notifications_forget(*, customer) -> int:
    """Delete every notification about the customer (they are being erased); return how many went."""
    return Notification.objects.filter(customer=customer).delete()[0]


def follow_up_taken(follow_up) -> None:
    """Once someone took a whole-location follow-up, the others' reminders stop offering it."""
    now = timezone.now()
    reminders = Notification.objects.filter(follow_up=follow_up)
    settled = reminders.filter(done_at__isnull=True).exclude(recipient=follow_up.assignee).update(done_at=now)
    # No longer offered to take: the inbox lists (the done ones too) drop the Take button.
    if reminders.filter(takeable=True).update(takeable=False) or settled:
        counts_changed()


def follow_up_closed(follow_up) -> None:
    """A closed follow-up settles every open reminder of it."""
    if Notification.objects.filter(follow_up=follow_up, done_at__isnull=True).update(done_at=timezone.now()):
        counts_changed()


def customer_contacted(customer) -> None:
    """Any contact settles the customer's keep-in-touch reminders."""
    customers_contacted([customer.pk])


def customers_contacted(customer_ids: list[int]) -> None:
    """After a contact or an import: keep-in-touch reminders of these customers are settled."""
    if Notification.objects.filter(
        kind=Notification.Kind.KEEP_IN_TOUCH, customer_id__in=any_id(customer_ids), done_at__isnull=True
    ).update(done_at=timezone.now()):
        counts_changed()


def gesture_decided(sender, *, gesture, title: str, body: str = "", **kwargs) -> None:
    """Tell a gesture's proposer it was approved or turned down (microcx's gesture_decided signal)."""
    from microcx.models import Gesture

    kind = {
        Gesture.Status.APPROVED: Notification.Kind.GESTURE_APPROVED,
        Gesture.Status.REJECTED: Notification.Kind.GESTURE_REJECTED,
    }[gesture.status]
    notifications_raise(
        notifications=[
            Notification(
                recipient_id=gesture.proposed_by_id,
                kind=kind,
                gesture_id=gesture.pk,
                occurrence=gesture.location.local_today(),
                customer_id=gesture.customer_id,
                title=title,
                body=body,
                url=f"/microcx/gestures/{gesture.pk}/",
            )
        ]
    )


def import_job_finished(sender, *, job, stage: str, title: str, **kwargs) -> None:
    """Tell an import's person its background check or import is done (the kernel's import_job_finished)."""
    from django.urls import reverse

    notifications_raise(
        notifications=[
            Notification(
                recipient_id=job.created_by_id,
                kind=Notification.Kind.IMPORT_CHECKED if stage == "checked" else Notification.Kind.IMPORT_FINISHED,
                occurrence=job.location.local_today() if job.location_id else timezone.localdate(),
                import_job_id=job.pk,
                title=title,
                url=reverse("import-job", args=[job.pk]),
            )
        ]
    )
