"""Where other apps plug into the customer page without customers importing them.

`journeys` adds its interactions to the timeline and `microcx` its gestures to
the brief, from their AppConfig.ready(). Customers stays at the bottom of the
dependency graph: it calls these hooks, never the apps themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class BriefSection:
    """A block on the customer's brief: context(customer, user) -> dict for `template`."""

    name: str
    context: Callable[..., dict]
    template: str
    # Who sees it: a permission the user must hold (empty: everyone who may open the customer).
    permission: str = ""


timeline_sources: dict[str, TimelineSource] = {}
brief_sections: dict[str, BriefSection] = {}
# Partials shown under the brief (forms from other apps, such as the conversation log).
page_actions: dict[str, BriefSection] = {}


def register_timeline_source(source: TimelineSource) -> None:
    timeline_sources[source.kind] = source


def register_brief_section(section: BriefSection) -> None:
    brief_sections[section.name] = section


def register_page_action(section: BriefSection) -> None:
    page_actions[section.name] = section


# Called with a follow-up once it is done or dismissed (the inbox marks its reminders done).
follow_up_closed_hooks: list[Callable] = []
# Called with a customer after any contact is recorded (keep-in-touch reminders are then settled).
contact_recorded_hooks: list[Callable] = []
# Called with a whole-location follow-up once a member of staff took it on.
follow_up_taken_hooks: list[Callable] = []
# Called with a list of customer ids after many contacts were recorded at once (an import).
contacts_recorded_hooks: list[Callable] = []
# Called with (customer, the owner erasing) inside the erase transaction: each app removes the
# personal data and free text it holds about them (amounts and counts stay).
erase_hooks: list[Callable] = []
# name -> callable(customer) returning a list of plain dicts: what each app holds about a
# customer, for the owner's privacy export.
privacy_export_sections: dict[str, Callable] = {}
