"""Who may read a confidence: the one rule every page, selector, export, digest, task and API uses.

A confidence is a sensitive note. It belongs to the location where it was written
(`Note.location`), not to the customer: the customer "belongs to" every location that
saw them (that decides who may *open* the customer, `customers.access.customers_for`),
but a visit, an import or an API call elsewhere never widens who *reads* what they
told staff in confidence. A confidence is read by

- the staff of the location where it was written (owners and managers included, only
  when they are staff of that location), and
- the member of staff who wrote it.

Nobody else: not managers or owners of other locations, not emails, snapshots or exports
(which have no reader, `user=None`).

Everything derived from a confidence is as confidential: a follow-up written from it (its
prompt, its outcome, its reminders), the note reader's suggestions, what inspired a
gesture. Rows point at their confidence through a foreign key (`note` by default), so a
note marked sensitive later takes its derived text with it.

Three entry points, one rule:
- `readable(user, through=...)`: a Q for querysets (`Note.objects.visible_to(user)`);
- `may_read(user, note)`: the same rule for an object in hand;
- `mask(user, items, ...)`: the masking helper for derived objects, which sets
  `shown_<field>` to the text or to its placeholder.

Whatever a page shows of a confidence is recorded by `disclose`; ConfidenceAuditMiddleware
writes one "shown sensitive notes" audit entry per customer per page view.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Q

if TYPE_CHECKING:
    from crm.kernel.models import User

# What someone who may not read a confidence sees in its place.
PRIVATE_NOTE = "a private note"
PRIVATE_FOLLOW_UP = "Follow up on a private note"


def reader_location_ids(user: User | None) -> frozenset[int]:
    """The locations whose confidences this user reads: those they are staff of (crm.kernel.access.staff_locations)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    from crm.kernel.access import staff_location_ids  # read once per request

    return frozenset(staff_location_ids(user))


def readable(user: User | None, *, through: str = "") -> Q:
    """A filter for the rows whose confidence `user` may read.

    `through` is "" on a note itself, or the path to the note a row is derived from
    ("note" for a follow-up, a suggestion or a gesture); a row derived from no note is readable.
    """
    prefix = f"{through}__" if through else ""
    allowed = Q(**{f"{prefix}is_sensitive": False})
    if through:
        allowed |= Q(**{f"{through}__isnull": True})
    if user is not None and getattr(user, "is_authenticated", False):
        allowed |= Q(**{f"{prefix}location__in": sorted(reader_location_ids(user))})
        allowed |= Q(**{f"{prefix}author": user})
    return allowed


def may_read(user: User | None, note: Any) -> bool:
    """Whether `user` may read this note (or what is derived from it); no note is no confidence."""
    if note is None or not note.is_sensitive:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return note.author_id == user.pk or note.location_id in reader_location_ids(user)


def mask(
    user: User | None,
    items: Iterable[Any],
    *,
    fields: dict[str, Any],
    source: str = "note",
) -> list[Any]:
    """Set `shown_<field>` on each item: the field's value, or its placeholder when the item is
    derived from a confidence `user` may not read. Return the items as a list.

    `fields` maps each field to its placeholder ({"prompt": PRIVATE_FOLLOW_UP}); `source` names the
    foreign key to the note the item comes from ("" when the item is the note). The notes not
    loaded yet are fetched in one query. What is shown of a confidence is disclosed for the audit trail.
    """
    items = list(items)
    notes = _source_notes(items, source)
    for item in items:
        readable_here = may_read(user, notes.get(id(item)))
        for field, placeholder in fields.items():
            setattr(item, f"shown_{field}", getattr(item, field) if readable_here else placeholder)
    disclose_notes(user, notes.values())
    return items


def _source_notes(items: list[Any], source: str) -> dict[int, Any]:
    """{id(item): the note it comes from, or None}, loading the missing notes in one query."""
    if not source:
        return {id(item): item for item in items}
    found: dict[int, Any] = {}
    missing: dict[int, list[Any]] = defaultdict(list)
    for item in items:
        field = item._meta.get_field(source)
        if field.is_cached(item):
            found[id(item)] = getattr(item, source)
        elif getattr(item, field.attname) is not None:
            missing[getattr(item, field.attname)].append(item)
        else:
            found[id(item)] = None
    if missing:
        model = items[0]._meta.get_field(source).related_model
        loaded = model.objects.only("pk", "customer_id", "is_sensitive", "location_id", "author_id").in_bulk(
            list(missing)
        )
        for pk, waiting in missing.items():
            for item in waiting:
                found[id(item)] = loaded.get(pk)
    return found


# --- disclosure: "shown sensitive notes", once per page view ---------------------------------

_shown: contextvars.ContextVar[dict | None] = contextvars.ContextVar("confidences_shown", default=None)


def disclose(user: User | None, customer_id: int, note_ids: Iterable[int]) -> None:
    """Note that this page shows `user` these sensitive notes of one customer.

    Inside a request the notes are gathered and written once, when the page is sent
    (ConfidenceAuditMiddleware); outside one (a shell, a task) they are written at once.
    """
    note_ids = set(note_ids)
    if user is None or not note_ids:
        return
    shown = _shown.get()
    if shown is None:
        from crm.kernel import audit

        audit.record_sensitive_view(user=user, customer=customer_id, note_ids=sorted(note_ids))
        return
    shown.setdefault((user.pk, customer_id), set()).update(note_ids)


def disclose_notes(user: User | None, notes: Iterable[Any]) -> None:
    """Disclose the sensitive ones among these notes (or historical copies) that a page shows `user`."""
    shown: dict[int, set[int]] = defaultdict(set)
    for note in notes:
        if note is not None and note.is_sensitive and may_read(user, note):
            shown[note.customer_id].add(note.pk if not hasattr(note, "history_id") else note.id)
    for customer_id, note_ids in shown.items():
        disclose(user, customer_id, note_ids)


@contextlib.contextmanager
def gathering(user: User | None):
    """Gather what is disclosed inside the block ({customer_id: note ids} for `user`), and disclose it as
    usual when the block ends: a page part kept in a cache discloses the same again on every view."""
    gathered: dict[int, set[int]] = {}
    token = _shown.set({})
    try:
        yield gathered
        inner = _shown.get()
    finally:
        _shown.reset(token)
    for (user_pk, customer_id), note_ids in inner.items():
        if user is not None and user_pk == user.pk:
            gathered[customer_id] = set(note_ids)
            disclose(user, customer_id, note_ids)


class ConfidenceAuditMiddleware:
    """Write one "shown sensitive notes" audit entry per customer for each page view that showed any."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _shown.set({})
        try:
            response = self.get_response(request)
            shown = _shown.get()
        finally:
            _shown.reset(token)
        if shown and 200 <= response.status_code < 300 and getattr(request, "user", None) is not None:
            from crm.kernel import audit

            for (user_pk, customer_id), note_ids in shown.items():
                if user_pk == request.user.pk:
                    audit.record_sensitive_view(user=request.user, customer=customer_id, note_ids=sorted(note_ids))
        return response
