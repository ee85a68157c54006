"""The reminder engine: raise follow-ups, important dates, customer anniversaries and
keep-in-touch prompts as notifications, on time and exactly once.

A sweep finds the rows whose next-due day has come, through an index, in each
location's own "today", and hands their ids over in batches. Raising a batch
locks its rows (skipping rows another worker holds), re-checks they are still
due, inserts the notifications (a unique key makes a repeat a no-op) and
advances each row's next-due day, all in one transaction: a worker killed
half-way leaves the rest due for the next try, and nothing is raised twice.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count, Max
from django.urls import reverse
from django.utils import timezone

from crm.inbox.models import Notification, SweepRun
from crm.inbox.notifications import notifications_raise
from crm.kernel import confidences, roles
from crm.kernel.confidences import PRIVATE_FOLLOW_UP
from crm.kernel.models import Location, User
from customers import schedule
from customers.gesture_ideas import GestureIdea
from customers.models import Customer, FollowUp, ImportantDate, Person, RuleExposure
from customers.selectors import ordinal
from customers.services import keep_in_touch_cadence, rule_exposures_record
from journeys.models import Interaction

MAX_REMINDERS = 3  # then the follow-up is escalated to the location's managers
Kind = Notification.Kind

# Each idea opens the gesture form prefilled (crm/inbox/templatetags/inbox_tags.py finds it by its text).
DATE_GESTURES = {
    ImportantDate.Kind.BIRTHDAY: GestureIdea(
        "A handwritten birthday card?", "card", "0", "A handwritten birthday card"
    ),
    ImportantDate.Kind.WEDDING: GestureIdea(
        "Flowers or a card for the anniversary?", "card", "0", "A card for their wedding anniversary"
    ),
    ImportantDate.Kind.ENGAGEMENT: GestureIdea(
        "A card to celebrate?", "card", "0", "A card to celebrate the engagement"
    ),
    "customer_since": GestureIdea(
        "A small thank-you for their loyalty?", "small_gift", "10", "A small thank-you for their loyalty"
    ),
}
GESTURE_IDEAS = {kind: idea.text for kind, idea in DATE_GESTURES.items()}
GESTURE_IDEAS_BY_TEXT = {idea.text: idea for idea in DATE_GESTURES.values()}


# --- who is told ------------------------------------------------------------------


class Recipients:
    """Who works where, loaded once per batch."""

    def __init__(self) -> None:
        self._staff: dict[int, list[int]] = {}
        self._managers: dict[int, list[int]] = {}
        groups = {g.name: g.pk for g in Group.objects.filter(name__in=roles.GROUP_NAMES.values())}
        frontline, manager = (
            groups.get(roles.GROUP_NAMES[roles.FRONTLINE]),
            groups.get(roles.GROUP_NAMES[roles.MANAGER]),
        )
        owner = groups.get(roles.GROUP_NAMES[roles.OWNER])
        staff_by_location = defaultdict(list)
        managers_by_location = defaultdict(list)
        self.owners: list[int] = []
        self.all_managers: list[int] = []
        users = User.objects.filter(is_active=True).prefetch_related("groups", "locations")
        for user in users:
            group_ids = {g.pk for g in user.groups.all()}
            if owner in group_ids:
                self.owners.append(user.pk)
            if manager in group_ids:
                self.all_managers.append(user.pk)
            for location in user.locations.all():
                if frontline in group_ids or manager in group_ids:
                    staff_by_location[location.pk].append(user.pk)
                if manager in group_ids:
                    managers_by_location[location.pk].append(user.pk)
        self._staff, self._managers = staff_by_location, managers_by_location

    def managers(self, location_id: int) -> list[int]:
        """The location's managers, else any manager, else the owners."""
        return self._managers.get(location_id) or self.all_managers or self.owners

    def staff(self, location_id: int) -> list[int]:
        """Everyone on the floor at the location, else whoever manages it."""
        return self._staff.get(location_id) or self.managers(location_id)


def _notify(recipients: Iterable[int], **fields) -> list[Notification]:
    return [Notification(recipient_id=user_id, **fields) for user_id in dict.fromkeys(recipients)]


def _save(notifications: list[Notification]) -> int:
    """Insert, skipping any already raised (same kind, cause, occurrence and recipient)."""
    return notifications_raise(notifications=notifications)


def day_phrase(day: datetime.date, today: datetime.date) -> str:
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta < 0:
        return f"on {day:%A %-d %B} ({-delta} day{'s' if delta < -1 else ''} ago)"
    if delta < 7:
        return f"on {day:%A}"
    return f"on {day:%A %-d %B}"


def days(n: int) -> str:
    return "day" if n == 1 else "days"


def _customer_url(customer_id: int) -> str:
    return reverse("customer-detail", args=[customer_id])


# --- important dates ------------------------------------------------------------------


def date_title(
    important_date: ImportantDate, occurrence: datetime.date, today: datetime.date, partner: Person | None = None
) -> str:
    """Say it as staff would: "Anna turns 40 on Friday", "Ben and Carla's 10th wedding anniversary today"."""
    customer = important_date.customer
    name = customer.greeting_name
    when = day_phrase(occurrence, today)
    years = important_date.years_at(occurrence)
    person = important_date.person
    kind = important_date.kind
    if kind == ImportantDate.Kind.BIRTHDAY:
        who = f"{person.name} ({name}'s {person.get_relation_display().lower()})" if person else name
        if years:
            verb = "turned" if occurrence < today else "turns"
            return f"{who} {verb} {years} {when}"
        return f"{who}'s birthday {when}" if person else f"{name}'s birthday is {when}"
    if kind == ImportantDate.Kind.WEDDING:
        couple = f"{name} and {partner.name}'s" if partner else f"{name}'s"
        number = f"{ordinal(years)} " if years else ""
        return f"{couple} {number}wedding anniversary {when}"
    if kind == ImportantDate.Kind.ENGAGEMENT:
        number = f"{ordinal(years)} " if years else ""
        return f"{name}'s {number}engagement anniversary {when}"
    if kind == ImportantDate.Kind.CUSTOMER_SINCE:
        number = f"{ordinal(years)} " if years else ""
        return f"{name}'s {number}anniversary as a customer {when}"
    return f"{name}: {important_date.title} {when}"


def due_date_ids(today: datetime.date, location_ids: list[int]) -> Iterable[int]:
    return (
        ImportantDate.objects.filter(
            next_prompt_on__lte=today,
            customer__home_location__in=location_ids,
            customer__archived_at__isnull=True,
            customer__erased_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def raise_dates(ids: list[int], today: datetime.date, recipients: Recipients | None = None) -> int:
    """Raise the date prompts still due among `ids` and schedule each date's next year."""
    rows = list(
        ImportantDate.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=ids, next_prompt_on__lte=today)
        .select_related("customer", "person")
    )
    if not rows:
        return 0
    recipients = recipients or Recipients()
    partners = _partners({row.customer_id for row in rows if row.kind == ImportantDate.Kind.WEDDING})
    notifications = []
    birthdays = []
    for row in rows:
        occurrences, row.next_occurrence_on, row.next_prompt_on = schedule.raise_due(
            row.month, row.day, row.lead_days, row.next_occurrence_on or row.next_occurrence(today), today
        )
        row.due_occurrences = occurrences
        if row.kind == ImportantDate.Kind.BIRTHDAY:
            birthdays += [(row.customer_id, row.customer.home_location_id, day) for day in occurrences]
    # Birthday prompts are sent by rule: a stable hold-out gets none, so the dashboard can measure them.
    held_out = rule_exposures_record(rule=RuleExposure.Rule.BIRTHDAY, picks=birthdays, picked_on=today)
    for row in rows:
        if row.kind == ImportantDate.Kind.BIRTHDAY and row.customer_id in held_out:
            continue
        for occurrence in row.due_occurrences:
            notifications += _notify(
                recipients.staff(row.customer.home_location_id),
                kind=Kind.IMPORTANT_DATE,
                important_date_id=row.pk,
                occurrence=occurrence,
                customer_id=row.customer_id,
                title=date_title(row, occurrence, today, partners.get(row.customer_id)),
                body=f"{row.title}: {row.when}",
                gesture_idea=GESTURE_IDEAS.get(row.kind, ""),
                url=_customer_url(row.customer_id),
            )
    ImportantDate.objects.bulk_update(rows, ["next_occurrence_on", "next_prompt_on"])
    return _save(notifications)


def _partners(customer_ids: set[int]) -> dict[int, Person]:
    if not customer_ids:
        return {}
    partners = Person.objects.filter(
        customer_id__in=customer_ids, relation__in=[Person.Relation.SPOUSE, Person.Relation.PARTNER]
    ).order_by("relation", "pk")
    found: dict[int, Person] = {}
    for person in partners:
        found.setdefault(person.customer_id, person)
    return found


# --- customer-since anniversaries ------------------------------------------------------


def _due_customer_ids(due_field: str, today: datetime.date, location_ids: list[int]) -> Iterable[int]:
    """Current customers of these locations whose `due_field` day has come (read through its index)."""
    return (
        Customer.objects.filter(
            **{f"{due_field}__lte": today},
            home_location__in=location_ids,
            archived_at__isnull=True,
            erased_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def due_anniversary_ids(today: datetime.date, location_ids: list[int]) -> Iterable[int]:
    return _due_customer_ids("next_anniversary_on", today, location_ids)


@transaction.atomic
def raise_anniversaries(ids: list[int], today: datetime.date, recipients: Recipients | None = None) -> int:
    """Raise "a customer for 5 years today" prompts and move each customer to their next milestone."""
    customers = list(
        Customer.objects.select_for_update(skip_locked=True).filter(pk__in=ids, next_anniversary_on__lte=today)
    )
    recipients = recipients or Recipients()
    notifications = []
    for customer in customers:
        day = customer.next_anniversary_on
        milestone = schedule.customer_anniversary(customer.customer_since, day)
        if milestone and day >= today - datetime.timedelta(days=schedule.CATCH_UP_DAYS):
            years = milestone[1]
            when = day_phrase(day, today)
            verb = "became" if day < today else "becomes"
            notifications += _notify(
                recipients.staff(customer.home_location_id),
                kind=Kind.CUSTOMER_SINCE,
                occurrence=day,
                customer_id=customer.pk,
                title=f"{customer.greeting_name} {verb} a {years}-year customer {when}",
                body=f"Customer since {customer.customer_since:%-d %B %Y}",
                gesture_idea=GESTURE_IDEAS["customer_since"],
                url=_customer_url(customer.pk),
            )
        following = schedule.customer_anniversary(customer.customer_since, day + datetime.timedelta(days=1))
        customer.next_anniversary_on = following[0] if following else None
    Customer.objects.bulk_update(customers, ["next_anniversary_on"])
    return _save(notifications)


# --- follow-ups ----------------------------------------------------------------------------


def due_follow_up_ids(today: datetime.date, location_ids: list[int]) -> Iterable[int]:
    return (
        FollowUp.objects.filter(
            next_reminder_on__lte=today,
            status=FollowUp.Status.OPEN,
            location__in=location_ids,
            customer__erased_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def raise_follow_ups(ids: list[int], today: datetime.date, recipients: Recipients | None = None) -> int:
    """Remind of follow-ups due or overdue, once a day, three times at most, then escalate to managers."""
    rows = list(
        FollowUp.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=ids, next_reminder_on__lte=today, status=FollowUp.Status.OPEN)
        .select_related("customer", "assignee")
    )
    recipients = recipients or Recipients()
    notifications = []
    now = timezone.now()
    # A follow-up written from a sensitive note says what the note said: its reminders (and the
    # emails they end up in) name only "a private note", with the link to the customer's page.
    # A notification's title is stored once for whoever reads it: masked as for nobody in particular.
    confidences.mask(None, rows, fields={"prompt": PRIVATE_FOLLOW_UP})
    for row in rows:
        name = row.customer.greeting_name
        prompt = row.shown_prompt
        common = {
            "follow_up_id": row.pk,
            "occurrence": today,
            "customer_id": row.customer_id,
            "url": _customer_url(row.customer_id),
            "overdue_on": row.due_date + datetime.timedelta(days=1),
        }
        late = (today - row.due_date).days
        if row.reminders_sent >= MAX_REMINDERS:
            notifications += _notify(
                recipients.managers(row.location_id),
                kind=Kind.FOLLOW_UP_ESCALATED,
                title=f"Still open after {MAX_REMINDERS} reminders: {prompt} ({name})",
                body=f"Due {row.due_date:%-d %B}, {late} days ago; "
                + (f"assigned to {row.assignee}." if row.assignee else "nobody took it."),
                **common,
            )
            row.escalated_at, row.next_reminder_on = now, None
            continue
        who = [row.assignee_id] if row.assignee_id else recipients.staff(row.location_id)
        notifications += _notify(
            who,
            kind=Kind.FOLLOW_UP_DUE if late <= 0 else Kind.FOLLOW_UP_OVERDUE,
            title=f"{prompt} ({name})" if late <= 0 else f"{prompt} ({name}), {late} day{'s' * (late > 1)} late",
            body=("Due today." if late <= 0 else f"Due {row.due_date:%-d %B}.")
            + ("" if row.assignee_id else " For the whole location: take it if it's yours."),
            takeable=row.assignee_id is None,
            **common,
        )
        if row.assignee_id is None and row.reminders_sent >= 1:
            # Nobody took a whole-location follow-up within a day: tell the managers too.
            notifications += _notify(
                recipients.managers(row.location_id),
                kind=Kind.FOLLOW_UP_UNTAKEN,
                title=f"Nobody took this yet: {prompt} ({name})",
                body=f"Due {row.due_date:%-d %B}, for the whole location.",
                takeable=True,
                **common,
            )
        row.reminders_sent += 1
        row.next_reminder_on = today + datetime.timedelta(days=1)
    FollowUp.objects.bulk_update(rows, ["reminders_sent", "next_reminder_on", "escalated_at"])
    return _save(notifications)


# --- keep in touch ----------------------------------------------------------------------------


def due_keep_in_touch_ids(today: datetime.date, location_ids: list[int]) -> Iterable[int]:
    return _due_customer_ids("keep_in_touch_due_on", today, location_ids)


def staff_who_know_best(customer_ids: list[int]) -> dict[int, list[int]]:
    """For each customer, the (at most two) staff who dealt with them most in the last year, latest first."""
    year_ago = timezone.now() - datetime.timedelta(days=365)
    found: dict[int, list[int]] = {}
    rows = (
        Interaction.objects.filter(
            customer_id__in=customer_ids, staff__isnull=False, staff__is_active=True, occurred_at__gte=year_ago
        )
        .values("customer_id", "staff_id")
        .annotate(times=Count("pk"), latest=Max("occurred_at"))
        .order_by("customer_id", "-times", "-latest")
    )
    for row in rows:
        staff = found.setdefault(row["customer_id"], [])
        if len(staff) < 2:
            staff.append(row["staff_id"])
    return found


# How to get in touch on each channel the customer consented to.
CONTACT_IDEAS = {"phone": "a quick call", "email": "a short email", "mail": "a handwritten card by post"}


def keep_in_touch_idea(customer: Customer) -> str:
    """Suggest only the channels the customer agreed to; with none, wait for their next visit."""
    ideas = [CONTACT_IDEAS[channel] for channel in ("phone", "email", "mail") if channel in customer.consented_channels]
    if not ideas:
        return "They have not agreed to be contacted: greet them warmly at their next visit."
    return (" or ".join(ideas) + ", with something they would like.").capitalize()


@transaction.atomic
def raise_keep_in_touch(ids: list[int], today: datetime.date, recipients: Recipients | None = None) -> int:
    """Raise once, to the staff who know them best, each customer past their keep-in-touch cadence."""
    customers = list(
        Customer.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids, keep_in_touch_due_on__lte=today)
        .prefetch_related("tags")
    )
    recipients = recipients or Recipients()
    best = staff_who_know_best([c.pk for c in customers])
    notifications = []
    for customer in customers:
        due = customer.keep_in_touch_due_on
        cadence = keep_in_touch_cadence(customer, list(customer.tags.all())) or 30
        silent = (today - (customer.last_contact_at.date() if customer.last_contact_at else due)).days
        notifications += _notify(
            best.get(customer.pk) or recipients.staff(customer.home_location_id),
            kind=Kind.KEEP_IN_TOUCH,
            occurrence=due,
            customer_id=customer.pk,
            title=f"Keep in touch with {customer.greeting_name}: {silent} days since the last contact",
            body=f"Usually in touch every {cadence} days.",
            gesture_idea=keep_in_touch_idea(customer),
            url=_customer_url(customer.pk),
            overdue_on=due + datetime.timedelta(days=cadence // 2 + 1),
        )
        # Raised once: the next contact starts a new cadence.
        customer.keep_in_touch_due_on = None
    Customer.objects.bulk_update(customers, ["keep_in_touch_due_on"])
    return _save(notifications)


# --- the sweep -------------------------------------------------------------------------------

KINDS: dict[str, tuple[Callable, Callable]] = {
    "follow_ups": (due_follow_up_ids, raise_follow_ups),
    "dates": (due_date_ids, raise_dates),
    "anniversaries": (due_anniversary_ids, raise_anniversaries),
    "keep_in_touch": (due_keep_in_touch_ids, raise_keep_in_touch),
}


def location_days() -> dict[datetime.date, list[int]]:
    """Group the active locations by their own local today."""
    days: dict[datetime.date, list[int]] = defaultdict(list)
    for location in Location.objects.filter(is_active=True):
        days[location.local_today()].append(location.pk)
    return days


def batches(ids: Iterable[int], size: int | None = None) -> Iterable[list[int]]:
    size = size or settings.REMINDER_BATCH_SIZE
    batch: list[int] = []
    for pk in ids:
        batch.append(pk)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def sweep(enqueue: Callable[[str, list[int], datetime.date], None] | None = None) -> SweepRun:
    """Find everything due in each location's today and raise it.

    With `enqueue` (the Celery sweep) each batch of ids becomes a small task;
    without it (the run_sweep command) the batches are raised here and now.
    """
    run = SweepRun.objects.create(name="reminders", started_at=timezone.now())
    counts: Counter = Counter()
    try:
        recipients = None if enqueue else Recipients()
        for today, location_ids in location_days().items():
            for kind, (find_due, raise_batch) in KINDS.items():
                for ids in batches(find_due(today, location_ids).iterator(chunk_size=2000)):
                    counts[f"{kind} due"] += len(ids)
                    if enqueue:
                        enqueue(kind, ids, today)
                    else:
                        counts[f"{kind} raised"] += raise_batch(ids, today, recipients)
    except Exception as error:
        run.error = repr(error)[:2000]
        raise
    finally:
        run.raised = dict(counts)
        run.finished_at = timezone.now()
        run.save(update_fields=["raised", "finished_at", "error"])
    return run
