"""Reads that views share: the brief, the timeline, search and the staff's day."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import TrigramDistance, TrigramWordDistance
from django.db.models import Case, F, Func, IntegerField, OuterRef, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Reverse
from django.utils import timezone

from crm.kernel import confidences
from crm.kernel.access import own_active_locations
from crm.kernel.cache import versioned
from crm.kernel.models import Location, User
from customers import extensions
from customers.access import customers_for, show_follow_ups, show_suggestions, visible_notes
from customers.models import Customer, FollowUp, ImportantDate, Note, Suggestion, Tag

BRIEF_DATE_WINDOW_DAYS = 30
TIMELINE_PAGE_SIZE = 20


@dataclass
class UpcomingDate:
    important_date: ImportantDate
    on: datetime.date
    in_days: int
    years: int | None

    @property
    def description(self) -> str:
        d = self.important_date
        if self.years and d.kind == ImportantDate.Kind.BIRTHDAY:
            return f"{d.title}: turns {self.years}"
        if self.years and d.kind in (ImportantDate.Kind.WEDDING, ImportantDate.Kind.ENGAGEMENT):
            return f"{d.title}: {ordinal(self.years)}"
        return d.title


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def open_follow_ups(customer: Customer) -> QuerySet[FollowUp]:
    """Open follow-ups, the ones waiting for the next visit first, then by due date."""
    return (
        customer.follow_ups.filter(status=FollowUp.Status.OPEN)
        # created_by: the timeline on the same page shows these rather than reading them again.
        .select_related("assignee", "note", "created_by")
        .annotate(
            next_visit_first=Case(
                When(due=FollowUp.Due.NEXT_VISIT, then=Value(0)), default=1, output_field=IntegerField()
            )
        )
        .order_by("next_visit_first", "due_date", "created_at")
    )


def open_follow_ups_shown(customer: Customer, user: User) -> list[FollowUp]:
    """open_follow_ups as this user is shown them (show_follow_ups), read once per customer object: the
    brief and its slots (outreach's "write about") share one query."""
    memo = customer.__dict__.setdefault("_open_follow_ups_shown", {})
    if user.pk not in memo:
        memo[user.pk] = show_follow_ups(user, open_follow_ups(customer))
    return memo[user.pk]


def open_suggestions_shown(customer: Customer, user: User) -> list[Suggestion]:
    """The open suggestions read from this user's own notes about the customer, oldest first, as show_suggestions
    shows them; read once per customer object (the list under the note form and outreach's "write about" share
    one query)."""
    memo = customer.__dict__.setdefault("_open_suggestions_shown", {})
    if user.pk not in memo:
        suggestions = (
            Suggestion.objects.filter(note__customer=customer, note__author=user, status=Suggestion.Status.OPEN)
            .filter(confidences.readable(user, through="note"))
            .select_related("note")
            .order_by("pk")
        )
        memo[user.pk] = show_suggestions(user, suggestions)
    return memo[user.pk]


def upcoming_dates(
    dates: list[ImportantDate], today: datetime.date, window_days: int = BRIEF_DATE_WINDOW_DAYS
) -> list[UpcomingDate]:
    """Return the dates falling within the window from today, soonest first."""
    upcoming = []
    for important_date in dates:
        on = important_date.next_occurrence(today)
        in_days = (on - today).days
        if in_days <= window_days:
            upcoming.append(UpcomingDate(important_date, on, in_days, important_date.years_at(on)))
    return sorted(upcoming, key=lambda u: u.in_days)


# Taps on "Check in" this close together at one location are one visit (a double tap, a colleague
# checking the same customer in, a visit the till sent in moments before).
CHECK_IN_MINUTES = 10


def check_in_location(user: User, customer: Customer) -> Location:
    """Where a check-in by this member of staff happens: their (first active) location, else the
    customer's home location."""
    own = own_active_locations(user)
    return own[0] if own else customer.home_location


def checked_in_at(customer: Customer, location: Location) -> datetime.datetime | None:
    """When the customer's visit at this location began, in its local time, if it began within
    CHECK_IN_MINUTES: a check-in now would be the same visit. Else None."""
    since = timezone.now() - datetime.timedelta(minutes=CHECK_IN_MINUTES)
    if customer.last_visit_location_id != location.pk or not customer.last_visit_at or customer.last_visit_at < since:
        return None
    return timezone.localtime(customer.last_visit_at, location.tzinfo)


# The brief: what a member of staff reads in ten seconds before greeting the customer. Its parts that show
# nothing of notes (its head, people and dates) are kept apart from those that do (customers/views.py).


def brief_notes(customer: Customer, user: User) -> dict:
    """What the brief shows of notes: the follow-ups to ask about, the latest notes still relevant."""
    today = customer.home_location.local_today()
    notes = list(
        visible_notes(user, customer)
        .filter(Q(relevant_until__isnull=True) | Q(relevant_until__gte=today))
        .select_related("author")[:3]
    )
    return {"today": today, "ask_about": open_follow_ups_shown(customer, user), "recent_notes": notes}


def brief_head(customer: Customer, user: User) -> dict:
    """The brief's head: when they last came and usually come, whether a check-in now is the same visit."""
    return {
        "last_visit_at": customer.last_visit_at,
        "usual_gap_days": customer.usual_gap_days,
        "checked_in_at": checked_in_at(customer, check_in_location(user, customer)),
    }


def brief_people_dates(customer: Customer) -> dict:
    """The brief's people and pets, and the important dates of the next BRIEF_DATE_WINDOW_DAYS."""
    today = customer.home_location.local_today()
    dates = list(customer.important_dates.select_related("person"))
    return {"people": list(customer.people.all()), "upcoming_dates": upcoming_dates(dates, today)}


@dataclass
class TimelineEntry:
    kind: str
    at: datetime.datetime
    item: object
    source: extensions.TimelineSource
    pk: int
    # The entry already rendered (customers.page_cache.timeline), when `item` was not loaded.
    html: str | None = None

    @property
    def template(self) -> str:
        return self.source.template


def _builtin_sources() -> list[extensions.TimelineSource]:
    return [
        extensions.TimelineSource(
            kind="note",
            rows=lambda customer, user: visible_notes(user, customer).values_list("pk", "created_at"),
            load=lambda pks, user: Note.objects.select_related("author").in_bulk(pks),
            template="customers/timeline/note.html",
            kept=True,  # a note edited renews the kept entries (customers/apps.py)
            disclose=confidences.disclose_notes,
        ),
        extensions.TimelineSource(
            kind="follow_up",
            rows=lambda customer, user: customer.follow_ups.values_list("pk", "created_at"),
            load=lambda pks, user: _shown_follow_ups(
                user, FollowUp.objects.select_related("assignee", "closed_by", "created_by").in_bulk(pks)
            ),
            template="customers/timeline/follow_up.html",
        ),
        extensions.TimelineSource(
            kind="date",
            rows=lambda customer, user: customer.important_dates.values_list("pk", "created_at"),
            load=lambda pks, user: ImportantDate.objects.select_related("person").in_bulk(pks),
            template="customers/timeline/date.html",
            kept=True,
        ),
    ]


def _shown_follow_ups(user: User, by_pk: dict[int, FollowUp]) -> dict[int, FollowUp]:
    show_follow_ups(user, by_pk.values())
    return by_pk


@dataclass
class ListPage:
    """One page of a list (the timeline, the customer list): whether there is a newer and an older page, no
    count of them all (counting would read the whole history on every customer page, every customer a shop
    sees on every page of the list)."""

    number: int
    object_list: list
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def list_page(queryset: QuerySet, number: int, size: int) -> ListPage:
    """Page `number` of an ordered queryset (page_cache.page_number reads it), one row past it read to learn
    whether an older page exists: no count, so the list costs the same at 200 customers as at 200,000."""
    offset = (number - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    return ListPage(number, rows[:size], has_next=len(rows) > size)


def timeline_sources() -> dict[str, extensions.TimelineSource]:
    sources = {s.kind: s for s in _builtin_sources()}
    sources.update({source.kind: source for source in extensions.slots.timeline})
    return sources


def customer_timeline(
    customer: Customer,
    user: User,
    page_number: int | str = 1,
    loaded: dict[str, list] | None = None,
    kept: Callable[[list[tuple]], dict[tuple, str]] | None = None,
) -> ListPage:
    """Return one page of everything that happened with the customer, newest first.

    One UNION query lists (kind, pk, time) across all sources, one row past the page to learn
    whether an older page exists; then one query per kind loads the page, except the rows the page
    already loaded (`loaded`: kind -> objects, such as the brief's open follow-ups) and the entries `kept` has
    rendered: given [(kind, pk)] of the rows whose source is kept, it returns {(kind, pk): html}
    (customers.page_cache.timeline).
    """
    try:
        number = max(1, int(page_number))
    except (TypeError, ValueError):
        number = 1
    sources = timeline_sources()
    parts = [_as_rows(source.rows(customer, user), kind) for kind, source in sources.items()]
    union = parts[0].union(*parts[1:], all=True).order_by("-at", "-pk")
    offset = (number - 1) * TIMELINE_PAGE_SIZE
    rows = list(union[offset : offset + TIMELINE_PAGE_SIZE + 1])
    page = ListPage(number, rows[:TIMELINE_PAGE_SIZE], has_next=len(rows) > TIMELINE_PAGE_SIZE)
    rendered = kept([(k, pk) for k, pk, _at in page.object_list if sources[k].kept]) if kept else {}
    by_kind: dict[str, list[int]] = {}
    for kind, pk, _at in page.object_list:
        if (kind, pk) not in rendered:
            by_kind.setdefault(kind, []).append(pk)
    have = {kind: {obj.pk: obj for obj in objects} for kind, objects in (loaded or {}).items()}
    items: dict[str, dict] = {}
    for kind, pks in by_kind.items():
        known = have.get(kind, {})
        missing = [pk for pk in pks if pk not in known]
        items[kind] = {**known, **(sources[kind].load(missing, user) if missing else {})}
    entries = []
    for kind, pk, at in page.object_list:
        source = sources[kind]
        if (kind, pk) in rendered:
            entries.append(TimelineEntry(kind, at, None, source, pk, rendered[(kind, pk)]))
        elif pk in items[kind]:
            entries.append(TimelineEntry(kind, at, items[kind][pk], source, pk))
    page.object_list = entries
    return page


def _as_rows(values: QuerySet, kind: str) -> QuerySet:
    """Turn a values_list("pk", <time>) into ("kind", "pk", "at") rows for the UNION."""
    pk_field, time_field = values.query.values_select
    return values.order_by().annotate(kind=Value(kind), at=F(time_field)).values_list("kind", pk_field, "at")


# --- finding customers --------------------------------------------------------

SEARCH_LIMIT = 25


def search_customers(
    user: User, query: str, include_archived: bool = False, limit: int = SEARCH_LIMIT
) -> QuerySet[Customer]:
    """Find customers by name, preferred name, email, phone (any formatting) or tag, forgiving typos.

    Returns at most `limit` customers, best match first, from one query: each path reads one short
    field through its own index (search_name's trigrams, lower(email), the reversed phone digits, the
    tag), so the time does not grow with the number of customers.
    """
    customers = customers_for(user)
    if not include_archived:
        customers = customers.filter(archived_at__isnull=True)
    query = " ".join(query.split()).lower()[:100]
    if not query:
        return customers.none()
    digits = re.sub(r"\D", "", query)
    looks_like_phone = len(digits) >= 4 and len(digits) >= len(query.replace(" ", "")) - 4
    if looks_like_phone:
        # Stored digits are national (crm_phone_digits); so are typed ones: a US 1 in front goes.
        national = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
        # The whole number or its last digits, through the index on the reversed digits.
        return (
            customers.alias(phone_reversed=Reverse("phone_digits"))
            .filter(phone_reversed__startswith=national[::-1])
            .order_by("first_name", "last_name", "pk")[:limit]
        )
    if "@" in query:
        # An address matches exactly, through the index on lower(email).
        return customers.with_email(query).order_by("pk")[:limit]
    tag_pk = _tag_names().get(query)
    if tag_pk is not None:
        return customers.filter(tags=tag_pk).order_by("first_name", "last_name", "pk")[:limit]
    # The typo path: query <% search_name (word similarity over the short name, pg_trgm's default
    # threshold of 0.6: a letter or two wrong in a name) through the GIN trigram index, nearest first.
    # Both sides fold the same way, in SQL (crm_fold: lower case, unaccented).
    folded = Func(Value(query), function="crm_fold", output_field=TextField())
    return (
        customers.filter(search_name__trigram_word_similar=folded)
        .annotate(
            word_distance=TrigramWordDistance(folded, "search_name"),
            distance=TrigramDistance("search_name", folded),
        )
        .order_by("word_distance", "distance", "first_name", "last_name", "pk")[:limit]
    )


TAG_NAMES_SECONDS = 3600


def _tag_names() -> dict[str, int]:
    """Every tag's name and pk, kept in the shared cache under the version of what customers share (a tag saved
    or deleted renews it): a name search asks whether the words are a tag without a query of its own."""
    from customers import page_cache

    return versioned(
        page_cache.shared_version_key(),
        "customers:tag-names",
        lambda: dict(Tag.objects.values_list("name", "pk")),
        TAG_NAMES_SECONDS,
    )


# What a search result shows (customers/_customer_results.html): nothing of the long columns
# (search document, preferences), the home location's name, the tags' names.
RESULT_COLUMNS = (
    "pk",
    "first_name",
    "last_name",
    "preferred_name",
    "email",
    "phone",
    "archived_at",
    "home_location__name",
)


def search_results(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Load only what a list of found customers shows, `tag_names` (alphabetical) in the same query."""
    tag_names = Tag.objects.filter(customers=OuterRef("pk")).order_by("name").values("name")
    return customers.select_related("home_location").only(*RESULT_COLUMNS).annotate(tag_names=ArraySubquery(tag_names))


# --- the staff's day -----------------------------------------------------------

# Only the columns Today shows of a follow-up: the customer's name, the prompt (masked through the
# note it came from, whose confidence columns come in the same row: crm.kernel.confidences.mask).
TODAY_FOLLOW_UP_COLUMNS = (
    "pk",
    "prompt",
    "customer__first_name",
    "customer__preferred_name",
    "note__is_sensitive",
    "note__location_id",
    "note__author_id",
    "note__customer_id",
)
TODAY_ASSIGNEE_COLUMNS = ("assignee__first_name", "assignee__last_name", "assignee__username")


def follow_ups_due(user: User, locations: list[Location]) -> QuerySet[FollowUp]:
    """Return dated follow-ups due today or overdue, for this user or their locations as a whole."""
    if not locations:
        return FollowUp.objects.none()
    # Each location's own today: the latest of them is safe for "due by today" everywhere.
    today = max(location.local_today() for location in locations)
    return (
        FollowUp.objects.filter(status=FollowUp.Status.OPEN, due=FollowUp.Due.ON_DATE, due_date__lte=today)
        .filter(Q(assignee=user) | Q(assignee__isnull=True, location__in=locations))
        .filter(customer__erased_at__isnull=True)
        .select_related("customer", "assignee", "location", "note")
        .only(*TODAY_FOLLOW_UP_COLUMNS, "due_date", *TODAY_ASSIGNEE_COLUMNS, "location__name")
        .order_by("due_date", "pk")
    )


def next_visit_follow_ups_for_seen_customers(user: User, locations: list[Location]) -> QuerySet[FollowUp]:
    """Return next-visit follow-ups of customers who came in today at one of these locations.

    Whoever is on duty sees them, whichever location the follow-up was written at.
    """
    if not locations:
        return FollowUp.objects.none()
    since = min(
        timezone.make_aware(datetime.datetime.combine(loc.local_today(), datetime.time.min), loc.tzinfo)
        for loc in locations
    )
    return (
        FollowUp.objects.filter(
            status=FollowUp.Status.OPEN,
            due=FollowUp.Due.NEXT_VISIT,
            customer__last_visit_at__gte=since,
            customer__last_visit_location__in=locations,
            customer__erased_at__isnull=True,
        )
        .select_related("customer", "note")
        .only(*TODAY_FOLLOW_UP_COLUMNS)
        .order_by("-customer__last_visit_at", "pk")
    )


def recent_customers(user: User, locations: list[Location], limit: int = 10) -> QuerySet[Customer]:
    """Return the customers most recently seen at these locations."""
    return (
        Customer.objects.filter(
            last_visit_location__in=locations, last_visit_at__isnull=False, archived_at__isnull=True
        )
        .select_related("last_visit_location")
        .only("pk", "first_name", "last_name", "last_visit_at", "last_visit_location__name")
        .order_by("-last_visit_at")[:limit]
    )


def open_follow_up_like(customer: Customer, prompt: str) -> FollowUp | None:
    """Return an open follow-up of this customer with the same prompt (compared in Python: prompts are encrypted)."""
    wanted = prompt.strip().casefold()
    for follow_up in customer.follow_ups.filter(status=FollowUp.Status.OPEN).order_by("pk"):
        if follow_up.prompt.strip().casefold() == wanted:
            return follow_up
    return None
