"""The customer page's slots: where other apps show their parts without customers importing them.

One registry, `slots`, with a namespace per kind of slot. `journeys` adds its interactions to the
timeline and its "heard of us via" field to the customer form, `microcx` its gestures to the brief,
from their AppConfig.ready(); outreach its measured email rates to the touchpoint page
(`touchpoint_figures`). Customers stays at the bottom of the dependency graph: it reads the
slots, never the apps themselves. Events (a follow-up closed, a contact recorded, a customer being
erased, a check-in asked for) are signals, in customers/signals.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import QuerySet


@dataclass(frozen=True)
class TimelineSource:
    """One kind of entry on a customer's timeline.

    rows(customer, user) returns a queryset of values_list("pk", "at") for that
    customer, newest first; load(pks, user) returns {pk: object} for one page.
    `template` renders one entry (the object is `entry.item`).
    """

    kind: str
    rows: Callable[..., QuerySet]
    load: Callable[..., dict]
    template: str
    # Whether its entries show only what a write renewing the customer's sections kept apart from notes changes
    # (customers/page_cache.py: every write but a new note or a suggestion): those are rendered once and kept
    # per entry, so the timeline after a new note loads and renders that note alone. Not a follow-up, whose
    # prompt hides with the note behind it: loaded and rendered every time.
    kept: bool = False
    # What the entries show of sensitive notes, for the audit trail: disclose(user, items), on every view of
    # an entry, kept or not (confidences.disclose_notes for notes; a follow-up discloses as it is loaded).
    disclose: Callable[..., None] | None = None

    @property
    def name(self) -> str:
        return self.kind


@dataclass(frozen=True)
class Section:
    """A block on the customer page: context(customer, user) -> dict for `template`."""

    name: str
    context: Callable[..., dict]
    template: str
    # Who sees it: a permission the user must hold (empty: everyone who may open the customer).
    permission: str = ""
    # Whether it shows anything of the customer's notes or suggestions. One that does not is rendered once and
    # kept until anything else about the customer changes (customers/page_cache.py: `sections`), so the page
    # after a new note renders only what the note is on. When in doubt, True.
    shows_notes: bool = True


# The brief's blocks and the actions under it are both sections.
BriefSection = Section


@dataclass(frozen=True)
class TouchpointFigures:
    """Figures an app measures itself, shown on a touchpoint's page beside the ones typed in by hand.

    figures(touchpoint, first_month) -> {figure name: {month (date, day 1): value or None}}; {} for a
    touchpoint it does not measure (outreach: the Email touchpoint's open and click rates).
    """

    name: str
    figures: Callable[..., dict]


@dataclass(frozen=True)
class FormPart:
    """Fields another app adds to the customer form, and how it saves them.

    fields(form) -> {name: form field} (with their initial values for form.instance); `layout` is
    the row they take in the form; save(customer=..., cleaned_data=..., by=...) runs after the
    customer is saved, inside the same transaction (customers.services.customer_save).
    """

    name: str
    fields: Callable[..., dict]
    save: Callable[..., None]
    layout: tuple[str, ...] = field(default=())


class Slots:
    """The registry: slots.timeline, slots.brief, slots.actions, slots.details, slots.form, and
    slots.touchpoint_figures (the one slot outside the customer page: the touchpoint page's measured figures).

    Each namespace maps a slot's name to the slot; registering a name again replaces it (so an
    app's ready() running twice adds nothing twice).
    """

    NAMESPACES = {
        "timeline": TimelineSource,  # entries on the timeline
        "brief": Section,  # blocks on the brief
        "actions": Section,  # partials under the brief (forms from other apps, such as the conversation log)
        "details": Section,  # rows in the details card (<dt>/<dd> pairs)
        "form": FormPart,  # fields on the customer form
        "touchpoint_figures": TouchpointFigures,  # measured figures on a touchpoint's page
    }

    def __init__(self) -> None:
        self._slots: dict[str, dict[str, object]] = {namespace: {} for namespace in self.NAMESPACES}

    def register(self, namespace: str, slot) -> None:
        kind = self.NAMESPACES.get(namespace)
        if kind is None:
            raise KeyError(f"No customer-page slot namespace {namespace!r}: use one of {sorted(self.NAMESPACES)}.")
        if not isinstance(slot, kind):
            raise TypeError(f"A {namespace!r} slot is a {kind.__name__}, not {type(slot).__name__}.")
        self._slots[namespace][slot.name] = slot

    def __getattr__(self, namespace: str) -> list:
        try:
            return list(self.__dict__["_slots"][namespace].values())
        except KeyError:
            raise AttributeError(namespace) from None

    def allowed(self, namespace: str, user) -> list[Section]:
        """The sections of a namespace this user may see."""
        return [
            section
            for section in getattr(self, namespace)
            if not section.permission or user.has_perm(section.permission)
        ]


slots = Slots()
