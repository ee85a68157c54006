"""The customer page, rendered once per version of the customer and per reader, then served from the cache.

A part of the page (its content, the brief alone, a page of the timeline) is cached under a key made of

- the customer's version: a token in the shared cache, replaced by `changed()` on every write to the
  customer or to what hangs off them (notes, follow-ups, people, dates, tags, suggestions and, through
  the slots' apps, interactions, gestures, messages, offers, personas). Models are watched with
  `watch()` (post_save, post_delete); writes that bypass signals (QuerySet.update, bulk_create) call
  `changed()` themselves. The token is replaced at once *and* when the transaction commits: a page
  rendered inside the writing transaction, or by another request before the commit, is filed under a
  token nobody asks for afterwards;
- a token for what many customers share (locations, tags, touchpoints, personas, the business's currency),
  replaced by `watch_shared()`;
- the reader: who they are (the page shows their own suggestions), their permissions, the locations
  whose confidences they read (crm/kernel/confidences.py decides; the key only records its inputs);
- what time changes: today in the customer's location's zone, whether a check-in now would be the same
  visit, how long ago the last visit was, as the page words it.

A page that shows many customers (Today, the inbox) is keyed instead on a version every `changed()` renews
with the customers' own (`cached_across`), except for writes those pages show nothing of: they list
customers, follow-ups (with whether the note behind one is private), reminders and gestures awaiting
approval, so a new note, a date, a person, a tag, an interaction, a message or an offer leaves them cached
(`watch(..., across=False)`). A busy shop writes notes all day; each would otherwise re-render every
member of staff's Today.

The other apps' sections of the page that show nothing of notes (`Section.shows_notes` False: gestures, offers,
the conversation log form, the journey, "heard of us via") are kept on their own, under a second token of the
customer's that every change renews except a new note or a suggestion written (`watch(..., notes_only=...)`),
and so is each entry of the timeline but follow-ups (`TimelineSource.kept`: a note's, a date's, an
interaction's; a note edited renews them): the page after a new note loads and renders the brief, the
follow-ups and that one note again, not the rest.

A token that has gone from the cache (evicted, Redis restarted) comes back as a new random one, never
as an old one, so a part is never served from before a write. Parts expire after PAGE_TTL regardless
(a part keyed on the minute sooner: it is not asked for again once the minute has passed).

Only the first CACHED_PAGES pages of a list are kept: those are the ones staff read, and a page number is
the reader's to choose, so keeping every page asked for would let anyone fill the cache with pages of one list.

What a part shows of sensitive notes is disclosed again on every view served from the cache
(confidences.gathering records it when the part is rendered), so the audit trail is the same.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.middleware.csrf import get_token

from crm.kernel import confidences
from crm.kernel.cache import bump, current_versions, read_ahead

PAGE_TTL = 300
CACHED_PAGES = 20
BULK = 100
SHARED = "shared"
# Renewed with every customer's version: the version of all customers' data at once, for a page that
# shows many of them (Today: crm/inbox/views.py).
ANY = "any"
# Rendered in place of the reader's CSRF token, which is put back on every view (it is per session).
CSRF_PLACEHOLDER = "csrf-token-placeholder-6b1f0e"


def _token_key(customer_id) -> str:
    return f"customer-page:v:{customer_id}"


def _rest_key(customer_id) -> str:
    """The version of all of the customer but their notes and suggestions."""
    return f"customer-page:v:{customer_id}:rest"


@read_ahead
def _read_ahead(user_pk) -> list[str]:
    """The customer pages and Today read the version of what customers share (and Today that of all of them)."""
    return [_token_key(SHARED), _token_key(ANY)]


def changed(*customer_ids: int | None, across: bool = True, notes_only: bool = False) -> None:
    """The customers' pages are out of date: now, and again when the transaction commits; with `across`, so
    are the pages that show many customers (what changed may be on them); unless `notes_only` (a note or a
    suggestion was written), so are the sections kept apart from notes.

    Past BULK customers at once (an import, a bulk visit) the shared token is renewed instead: every
    page is out of date for the price of one key, where a token a customer would cost thousands of
    writes (each one a query when the cache is PostgreSQL's table).
    """
    ids = {pk for pk in customer_ids if pk is not None}
    if not ids:
        return
    if len(ids) > BULK:
        bump(_token_key(SHARED))
        return
    keys = [_token_key(pk) for pk in ids]
    if not notes_only:
        keys += [_rest_key(pk) for pk in ids]
    if across:
        keys.append(_token_key(ANY))
    bump(*keys)


def shared_changed() -> None:
    """Something every customer page may show changed (a location's name, a tag's, the currency)."""
    changed(SHARED)


def shared_version_key() -> str:
    """The version key every change to what customers share renews (tags, locations, staff, settings)."""
    return _token_key(SHARED)


def tokens(customer_id: int) -> tuple[str, str]:
    """The customer's version and the shared one; a missing one is made afresh (never an old one), and
    while the cache cannot be reached each is a random one, so nothing is served from before a write."""
    version, shared = _versions(_token_key(customer_id), _token_key(SHARED))
    return version, shared


def _versions(*keys: str) -> tuple[str, ...]:
    return tuple(version or uuid.uuid4().hex for version in current_versions(*keys))


def watch(
    model,
    customer_ids: Callable[..., Iterable] = lambda obj: [obj.customer_id],
    *,
    across: bool | Callable[[object, bool], bool] = True,
    notes_only: bool | Callable[[object, bool], bool] = False,
) -> None:
    """Every save or delete of `model` makes its customers' pages out of date, and the pages that show many
    customers too unless `across` is False (or `across(instance, created)` is: never for a delete). With
    `notes_only` (or `notes_only(instance, created)`) true, a save leaves the parts kept apart from notes (the
    other apps' sections, the timeline's kept entries); a delete never does."""

    def receiver(sender, instance, created=False, signal=None, **kwargs):
        deleted = signal is post_delete
        many = across if not callable(across) else deleted or across(instance, created)
        apart = notes_only if not callable(notes_only) else notes_only(instance, created)
        changed(*customer_ids(instance), across=many, notes_only=apart and not deleted)

    uid = f"page_cache.{model._meta.label}"
    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}.save")
    post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}.delete")


def watch_tags(through) -> None:
    """Adding or removing tags (Customer.tags' through model) from either side."""

    def receiver(sender, instance, action, reverse, pk_set, **kwargs):
        if not action.startswith("post_"):
            return
        # Tags are on no page that shows many customers.
        if reverse:  # tag.customers.add(...): the customers are pk_set (all of them on a clear)
            if pk_set is None:
                shared_changed()
            else:
                changed(*pk_set, across=False)
        else:
            changed(instance.pk, across=False)

    m2m_changed.connect(receiver, sender=through, weak=False, dispatch_uid="page_cache.tags")


def watch_shared(model, *, unless_only: frozenset[str] = frozenset()) -> None:
    """Every save or delete of `model` makes every customer page out of date (saves touching only
    `unless_only`, such as a user's last_login, do not)."""

    def receiver(sender, instance, update_fields=None, **kwargs):
        if update_fields and unless_only and set(update_fields) <= unless_only:
            return
        shared_changed()

    uid = f"page_cache.shared.{model._meta.label}"
    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}.save")
    post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}.delete")


def reader(user) -> tuple:
    """What about the reader decides what a part shows them."""
    perms = hashlib.sha256(repr(sorted(user.get_all_permissions())).encode()).hexdigest()[:16]
    return (user.pk, user.is_superuser, perms, tuple(sorted(confidences.reader_location_ids(user))))


def cached(request, customer, part: str, moment: tuple, render: Callable[[], str], *, page: int = 1) -> str:
    """The part's HTML from the cache, else render() it (with a placeholder CSRF token) and keep it.

    `moment` is what time changes about the part (today, "last came 3 days ago"); `page` is the page of a
    list the part shows (past CACHED_PAGES it is rendered every time). The sensitive notes the part shows
    are disclosed on every view.
    """
    if page > CACHED_PAGES:
        return _uncached(request, render)
    version, shared = tokens(customer.pk)
    return _cached(request, (part, page, customer.pk, version, shared, reader(request.user), moment), render)


def cached_across(
    request,
    part: str,
    moment: tuple,
    render: Callable[[], str],
    *,
    also: Iterable[str] = (),
    page: int = 1,
    ttl: int = PAGE_TTL,
) -> str:
    """Like cached(), for a part that shows many customers: kept until any customer's data changes (the
    version every changed() renews), anything shared changes, or any of the version keys `also` is renewed
    (the inbox's, say); per reader, `moment` and `page`, as a customer's part is; for `ttl` seconds at most."""
    if page > CACHED_PAGES:
        return _uncached(request, render)
    versions = _versions(_token_key(ANY), _token_key(SHARED), *also)
    return _cached(request, (part, page, versions, reader(request.user), moment), render, ttl)


def sections(request, namespace: str, customer, *, name: str, whole: Callable[[], object] | None = None) -> list[dict]:
    """The customer page's sections of `namespace` this reader may see (customers.extensions), as its templates
    include them under `name`; those that show nothing of notes come rendered (`html`) from the cache (one read
    for all of them), kept per reader and day until anything but a new note or a suggestion of the customer
    changes. Their CSRF placeholder stays in, for the part they are in to replace. A kept section rendered is
    given `whole()` (the customer's whole row) when the page has it to load, the others `customer` as is."""
    from django.template.loader import render_to_string
    from django.utils import timezone

    from customers.extensions import slots

    user = request.user

    def render(section) -> Callable[[], str]:
        def rendered() -> str:
            shown = whole() if whole is not None else customer
            context = section.context(shown, user)
            own = {**context, name: {"template": section.template, **context}, "customer": shown}
            return render_to_string(section.template, {**own, "csrf_token": CSRF_PLACEHOLDER}, request=request)

        return rendered

    allowed = slots.allowed(namespace, user)
    kept = {f"section:{namespace}:{s.name}": render(s) for s in allowed if not s.shows_notes}
    # Today as the server counts it too: an offer's expiry, say, is read on the server's day.
    moment = (customer.home_location.local_today(), timezone.localdate())
    found = parts(request, customer, kept, moment=moment) if kept else {}
    return [
        {"template": s.template, **s.context(customer, user)}
        if s.shows_notes
        else {"html": found[f"section:{namespace}:{s.name}"]}
        for s in allowed
    ]


def parts(
    request, customer, renders: dict[str, Callable[[], str]], *, moment: tuple, live: Iterable[str] = ()
) -> dict[str, str]:
    """The customer page's parts that show nothing of notes (the brief's head, its people and dates, the details
    card, the other apps' sections kept apart: `sections`), each rendered by `renders[name]()` once and kept
    until anything but a new note or a suggestion of the customer changes, per reader and `moment`; all read in
    one round trip, and a render is called only for a part not in the cache (those named in `live` every time).
    Returned as safe HTML with the CSRF placeholder still in, for the part they are in to replace."""
    from django.utils.safestring import mark_safe

    user = request.user
    versions = _versions(_rest_key(customer.pk), _token_key(SHARED))
    keys = {
        part: _key(("part", part, customer.pk, versions, reader(user), moment)) for part in renders if part not in live
    }
    found = cache.get_many(list(keys.values())) if keys else {}
    fresh, shown = {}, {}
    for part, render in renders.items():
        key = keys.get(part)
        if key is None:
            shown[part] = mark_safe(render())  # noqa: S308 - our own rendering
            continue
        if key not in found:
            fresh[key] = found[key] = render()
        shown[part] = mark_safe(found[key])  # noqa: S308 - our own rendering
    if fresh:
        cache.set_many(fresh, PAGE_TTL)
    return shown


def timeline(request, customer, number: int, *, loaded: dict[str, list] | None = None):
    """One page of the customer's timeline (selectors.customer_timeline) as this reader sees it, the entries of
    kept sources (extensions.TimelineSource) rendered (`entry.html`) once and kept per entry: keyed on the
    customer's version of all but new notes and suggestions, the shared one, the reader, and today and the time
    zone the times are shown in. On the first CACHED_PAGES pages only. What an entry shows of sensitive notes
    is disclosed on every view, kept or not."""
    from django.template.loader import render_to_string
    from django.utils import timezone
    from django.utils.safestring import mark_safe

    from customers import selectors

    user = request.user
    keys: dict[tuple, str] = {}
    found: dict[str, dict] = {}

    def kept(rows: list[tuple]) -> dict[tuple, str]:
        if not rows:
            return {}
        versions = _versions(_rest_key(customer.pk), _token_key(SHARED))
        moment = (customer.home_location.local_today(), timezone.get_current_timezone_name())
        for kind, pk in rows:
            keys[(kind, pk)] = _key(("entry", kind, pk, customer.pk, versions, reader(user), moment))
        found.update(cache.get_many(list(keys.values())))
        return {row: mark_safe(found[key]["html"]) for row, key in keys.items() if key in found}  # noqa: S308

    page = selectors.customer_timeline(
        customer, user, number, loaded=loaded, kept=kept if number <= CACHED_PAGES else None
    )
    rendered = {}
    for entry in page.object_list:
        key = keys.get((entry.kind, entry.pk))
        if entry.html is not None:
            for customer_id, note_ids in found[key]["shown"].items():
                confidences.disclose(user, customer_id, note_ids)
            continue
        with confidences.gathering(user) as shown:
            if entry.source.disclose is not None:
                entry.source.disclose(user, [entry.item])
        if key is not None:
            context = {"item": entry.item, "customer": customer, "csrf_token": CSRF_PLACEHOLDER}
            html = render_to_string(entry.template, context, request=request)
            rendered[key] = {"html": html, "shown": {cid: sorted(ids) for cid, ids in shown.items()}}
            entry.html = mark_safe(html)  # noqa: S308 - our own rendering
    if rendered:
        cache.set_many(rendered, PAGE_TTL)
    return page


def page_number(request) -> int:
    """The page of a cached list asked for (`?page=`); anything that is not a page number is the first (past
    the last, the paginator shows the last)."""
    try:
        return max(1, min(int(request.GET.get("page", 1)), 10**6))
    except (TypeError, ValueError, OverflowError):
        return 1


def _uncached(request, render: Callable[[], str]) -> str:
    return render().replace(CSRF_PLACEHOLDER, get_token(request))


def _key(what: tuple) -> str:
    """Where a part kept under `what` (its name, versions, reader, moment) is in the cache."""
    return "customer-page:" + hashlib.sha256(repr(what).encode()).hexdigest()


def _cached(request, what: tuple, render: Callable[[], str], ttl: int = PAGE_TTL) -> str:
    key = _key(what)
    hit = cache.get(key)
    if hit is None:
        with confidences.gathering(request.user) as shown:
            html = render()
        hit = {"html": html, "shown": {cid: sorted(ids) for cid, ids in shown.items()}}
        cache.set(key, hit, ttl)
    else:
        for customer_id, note_ids in hit["shown"].items():
            confidences.disclose(request.user, customer_id, note_ids)
    return hit["html"].replace(CSRF_PLACEHOLDER, get_token(request))
