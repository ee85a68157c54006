import dataclasses
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import Count, prefetch_related_objects
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from crm.kernel import confidences, imports
from crm.kernel.access import locations_for, require_perm
from crm.kernel.templatetags.crm_tags import ago
from customers import importer, page_cache, privacy, selectors, services
from customers.access import (
    PRIVATE_NOTE,
    can_edit_note,
    customers_for,
    get_customer_for_user,
    get_for_user,
    get_suggestion_for_user,
    show_follow_ups,
    show_suggestions,
)
from customers.exports import marketing_export_lines
from customers.extensions import slots
from customers.forms import (
    CustomerForm,
    CustomerImportForm,
    CustomerSearchForm,
    FollowUpDoneForm,
    FollowUpForm,
    ImportantDateForm,
    NoteForm,
    PersonForm,
    TagCadenceForm,
)
from customers.gesture_ideas import gesture_form_url
from customers.models import Customer, FollowUp, ImportantDate, Note, Person, Suggestion, Tag

LIST_PAGE_SIZE = 25
NOTE_CUSTOMER_COLUMNS = ("pk", "home_location")
HOME_RESULTS_SIZE = 6


def _to_customer(customer: Customer, anchor: str = ""):
    return redirect(reverse("customer-detail", args=[customer.pk]) + (f"#{anchor}" if anchor else ""))


@require_perm("customers.view_customer")
def customer_list(request):
    """Find a customer: search as you type (htmx), or browse the most recently seen."""
    search = CustomerSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    show_archived = request.GET.get("archived") == "1"
    if not search.is_valid():
        context = {"query": "", "results": [], "page": None, "show_archived": show_archived}
        context["search_error"] = " ".join(search.errors["q"])
        template = "customers/_customer_results.html" if request.htmx else "customers/customer_list.html"
        return render(request, template, context, status=400)
    if query:
        # The columns a result shows, its tags' names in the same query (customers/_customer_results.html).
        results = list(selectors.search_results(selectors.search_customers(request.user, query, show_archived)))
        page = None
    else:
        customers = customers_for(request.user).filter(archived_at__isnull=not show_archived)
        customers = selectors.search_results(customers)
        # No count of them all: a shop's twenty thousand customers would be counted on every page.
        page = selectors.list_page(
            customers.order_by("first_name", "last_name", "pk"), page_cache.page_number(request), LIST_PAGE_SIZE
        )
        results = page.object_list
    context = {"query": query, "results": results, "page": page, "show_archived": show_archived}
    if request.htmx and request.htmx.target == "home-results":
        # Today's search box: a short list under the box, nothing at all once the box is cleared.
        if not query:
            return HttpResponse("")
        context.update(results=results[:HOME_RESULTS_SIZE], page=None, compact=True)
        return render(request, "customers/_customer_results.html", context)
    if request.htmx and request.htmx.target == "customer-results":
        return render(request, "customers/_customer_results.html", context)
    return render(request, "customers/customer_list.html", context)


def _created_by_form(request) -> Customer | None:
    """The customer this very form (its token) already created, if it was sent before."""
    try:
        token = uuid.UUID(request.POST.get("form_token", ""))
    except ValueError:
        return None
    return Customer.objects.filter(form_token=token).first()


@require_perm("customers.add_customer")
def customer_create(request):
    """Add a customer. The form carries a token: sent twice (a double click, Back then Save, a resent
    request) it makes one customer, and the second answer says so with a link to them."""
    form = CustomerForm(request.POST or None, user=request.user)
    already = _created_by_form(request) if request.method == "POST" else None
    if request.method == "POST" and already is None and form.is_valid():
        try:
            customer = services.customer_save(
                customer=form.save(commit=False),
                tags=services.tags_from_text(form.cleaned_data["tags_text"]),
                form_data=form.cleaned_data,
                by=request.user,
            )
        except (IntegrityError, ValidationError):
            # The same form sent at the same moment: the other request saved it first.
            already = _created_by_form(request)
            if already is None:
                raise
        else:
            messages.success(request, f"Added {customer.full_name}.")
            return _to_customer(customer)
    context = {"form": form}
    if already is not None:
        # A fresh form: saving this one again would only say the same.
        context["form"] = CustomerForm(user=request.user)
        context["already"] = already
        context["already_visible"] = customers_for(request.user).filter(pk=already.pk).exists()
    return render(request, "customers/customer_form.html", context)


@require_perm("customers.change_customer")
def customer_edit(request, pk: int):
    customer = get_customer_for_user(request.user, pk)
    if customer.is_erased:
        raise Http404
    form = CustomerForm(request.POST or None, instance=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.customer_save(
            customer=form.save(commit=False),
            tags=services.tags_from_text(form.cleaned_data["tags_text"]),
            form_data=form.cleaned_data,
            by=request.user,
        )
        messages.success(request, "Saved.")
        return _to_customer(customer)
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer})


# What rendering the customer page reads of the customer, loaded only for a part not in the cache.
FOR_PAGE = ("tags", "locations", "people")


def _moment(user, customer: Customer) -> tuple:
    """What time changes on the customer page: today where they belong, whether a check-in now would be
    the same visit, and "last came ... ago" as the page words it."""
    checked_in = selectors.checked_in_at(customer, selectors.check_in_location(user, customer))
    return (customer.home_location.local_today(), checked_in, ago(customer.last_visit_at))


# What the customer page reads of the customer for its key (_moment), its title and the parts read on every
# render (what shows notes). The whole row is loaded only to render a part kept apart from notes (_whole).
FOR_KEY = (
    "pk",
    "first_name",
    "last_name",
    "preferred_name",
    "home_location",
    "last_visit_at",
    "last_visit_location",
    "archived_at",
    "erased_at",
)


def _whole(request, customer: Customer) -> Customer:
    """The customer's whole row, with what the page reads of them (FOR_PAGE), loaded once per request and only
    when a part kept apart from notes is not in the cache."""
    whole = customer.__dict__.get("_whole")
    if whole is None:
        whole = get_customer_for_user(request.user, customer.pk, also=("last_visit_location",))
        prefetch_related_objects([whole], *FOR_PAGE)
        customer.__dict__["_whole"] = whole
    return whole


def _part(request, template: str, context: Callable[[], dict]) -> Callable[[], str]:
    return lambda: render_to_string(template, {**context(), "csrf_token": page_cache.CSRF_PLACEHOLDER}, request=request)


def _brief(request, customer: Customer, moment: tuple, *, details: bool = False) -> dict:
    """What _brief.html (and with `details`, the details card) shows: the parts that show nothing of notes from
    the cache (page_cache.parts), what does read now."""
    user = request.user

    def whole() -> Customer:
        return _whole(request, customer)

    renders = {
        "head": _part(
            request,
            "customers/_brief_head.html",
            lambda: {"customer": whole(), "tags": list(whole().tags.all()), **selectors.brief_head(whole(), user)},
        ),
        "people_dates": _part(
            request,
            "customers/_brief_people_dates.html",
            lambda: {"customer": whole(), **selectors.brief_people_dates(whole())},
        ),
    }
    if details:
        renders["details"] = _part(
            request,
            "customers/_details.html",
            lambda: {
                "customer": whole(),
                "details": page_cache.sections(request, "details", whole(), name="section", whole=whole),
            },
        )
    # A details section that shows notes would go stale in a kept card: the card is then read every time.
    live = {"details"} if any(s.shows_notes for s in slots.allowed("details", user)) else set()
    parts = page_cache.parts(request, customer, renders, moment=moment, live=live)
    return {
        "customer": customer,
        **selectors.brief_notes(customer, user),
        "parts": parts,
        "sections": page_cache.sections(request, "brief", customer, name="section", whole=whole),
    }


@require_perm("customers.view_customer")
def customer_detail(request, pk: int):
    """The customer page: the brief on top, then what to do and the timeline (cached: customers/page_cache.py)."""
    customer = get_customer_for_user(request.user, pk, only=FOR_KEY)
    number = page_cache.page_number(request)
    moment = _moment(request.user, customer)

    def render_content() -> str:
        return _detail_content(request, customer, number, moment)

    content = page_cache.cached(request, customer, "detail", moment, render_content, page=number)
    return render(request, "customers/customer_detail.html", {"customer": customer, "content": mark_safe(content)})  # noqa: S308


def _detail_content(request, customer: Customer, number: int, moment: tuple) -> str:
    brief = _brief(request, customer, moment, details=True)
    actions = page_cache.sections(request, "actions", customer, name="action", whole=lambda: _whole(request, customer))
    timeline = page_cache.timeline(request, customer, number, loaded={"follow_up": brief["ask_about"]})
    context = {
        **brief,
        "note_form": NoteForm(),
        "actions": actions,
        "suggestions": selectors.open_suggestions_shown(customer, request.user),
        "timeline": timeline,
        "csrf_token": page_cache.CSRF_PLACEHOLDER,
    }
    confidences.disclose_notes(request.user, brief["recent_notes"])
    return render_to_string("customers/_detail_content.html", context, request=request)


@require_perm("customers.view_customer")
def customer_brief(request, pk: int):
    """The brief alone, for htmx to swap in after something on the page changed it."""
    customer = get_customer_for_user(request.user, pk, only=FOR_KEY)
    moment = _moment(request.user, customer)

    def render_brief() -> str:
        brief = _brief(request, customer, moment)
        confidences.disclose_notes(request.user, brief["recent_notes"])
        context = {**brief, "csrf_token": page_cache.CSRF_PLACEHOLDER}
        return render_to_string("customers/_brief.html", context, request=request)

    return HttpResponse(page_cache.cached(request, customer, "brief", moment, render_brief))


@require_perm("customers.view_customer")
def customer_timeline(request, pk: int):
    customer = get_customer_for_user(request.user, pk, only=FOR_KEY)
    number = page_cache.page_number(request)

    def render_timeline() -> str:
        # The timeline reads no more of the customer than the key did (their pk, their location's day).
        timeline = page_cache.timeline(request, customer, number)
        context = {"customer": customer, "timeline": timeline, "csrf_token": page_cache.CSRF_PLACEHOLDER}
        return render_to_string("customers/_timeline.html", context, request=request)

    moment = (customer.home_location.local_today(),)
    return HttpResponse(page_cache.cached(request, customer, "timeline", moment, render_timeline, page=number))


@require_POST
@require_perm("customers.archive_customer")
def customer_archive(request, pk: int):
    customer = get_customer_for_user(request.user, pk)
    if request.POST.get("restore"):
        services.customer_restore(customer=customer)
        messages.success(request, f"{customer.full_name} is back in lists and search.")
    else:
        services.customer_archive(customer=customer)
        messages.success(request, f"Archived {customer.full_name}. Their history is kept.")
    return _to_customer(customer)


@never_cache
@require_perm("customers.erase_customer")
def customer_privacy(request, pk: int, as_json: bool = False):
    """For an owner: everything held about the customer, as a readable page or a JSON file."""
    customer = get_customer_for_user(request.user, pk)
    if customer.is_erased:
        raise Http404
    data = privacy.customer_export(customer)
    # Sensitive notes are in the export: record that this owner was shown them.
    sensitive = list(customer.notes.filter(is_sensitive=True).values_list("pk", flat=True))
    confidences.disclose(request.user, customer.pk, sensitive)
    if as_json:
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}-data.json"'
        response["Cache-Control"] = "no-store"
        return response
    context = {"customer": customer, "data": data, "profile_rows": privacy.profile_rows(data["profile"])}
    return render(request, "customers/customer_privacy.html", context)


@require_perm("customers.erase_customer")
def customer_erase(request, pk: int):
    customer = get_customer_for_user(request.user, pk)
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip().lower() != customer.full_name.lower():
            messages.error(request, "Type the customer's full name exactly to confirm.")
        else:
            services.customer_erase(customer=customer, by=request.user)
            messages.success(request, "Personal data erased. Anonymous visit counts are kept.")
            return redirect("customer-list")
    return render(request, "customers/customer_erase.html", {"customer": customer})


# --- people, pets and dates ---------------------------------------------------


@require_perm("customers.add_person")
def person_create(request, pk: int):
    customer = get_customer_for_user(request.user, pk)
    return _person_form(request, customer, Person(customer=customer))


@require_perm("customers.change_person")
def person_edit(request, person_pk: int):
    person = get_for_user(Person, request.user, person_pk)
    return _person_form(request, person.customer, person)


def _person_form(request, customer, person):
    form = PersonForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_save(person=form.save(commit=False))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved {person.name}.")
            return _to_customer(customer, "people")
    return render(
        request,
        "customers/simple_form.html",
        {
            "form": form,
            "customer": customer,
            "title": "Edit person or pet" if person.pk else "Add a person or pet",
            "delete_url": reverse("person-delete", args=[person.pk]) if person.pk else None,
        },
    )


@require_POST
@require_perm("customers.delete_person")
def person_delete(request, person_pk: int):
    person = get_for_user(Person, request.user, person_pk)
    services.person_delete(person=person)
    messages.success(request, f"Removed {person.name}.")
    return _to_customer(person.customer, "people")


@require_perm("customers.add_importantdate")
def date_create(request, pk: int):
    """Add a date; a suggestion known only to the month opens this with its kind, month and year filled in."""
    customer = get_customer_for_user(request.user, pk)
    initial = {key: request.GET[key] for key in ("kind", "month", "year", "label") if request.GET.get(key)}
    return _date_form(request, customer, ImportantDate(customer=customer), initial=initial)


@require_perm("customers.change_importantdate")
def date_edit(request, date_pk: int):
    important_date = get_for_user(ImportantDate, request.user, date_pk)
    return _date_form(request, important_date.customer, important_date)


def _date_form(request, customer, important_date, initial: dict | None = None):
    form = ImportantDateForm(request.POST or None, instance=important_date, customer=customer, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.important_date_save(important_date=form.save(commit=False))
        messages.success(request, "Saved the date.")
        return _to_customer(customer, "dates")
    return render(
        request,
        "customers/simple_form.html",
        {
            "form": form,
            "customer": customer,
            "title": "Edit important date" if important_date.pk else "Add an important date",
            "delete_url": reverse("date-delete", args=[important_date.pk]) if important_date.pk else None,
        },
    )


@require_POST
@require_perm("customers.delete_importantdate")
def date_delete(request, date_pk: int):
    important_date = get_for_user(ImportantDate, request.user, date_pk)
    services.important_date_delete(important_date=important_date)
    messages.success(request, "Removed the date.")
    return _to_customer(important_date.customer, "dates")


# --- notes and suggestions ----------------------------------------------------


@sensitive_post_parameters("text")
@require_POST
@require_perm("customers.add_note")
def note_create(request, pk: int):
    # Only the columns saving a note reads (its location, the time zone "tomorrow" is read in); the
    # rest of the customer row (search document, preferences, contact details) stays in the database.
    customer = get_customer_for_user(request.user, pk, only=NOTE_CUSTOMER_COLUMNS)
    form = NoteForm(request.POST)
    if form.is_valid():
        follow_up = None
        if request.POST.get("ask_next_visit") and request.user.has_perm("customers.add_followup"):
            note, follow_up = services.note_capture(customer=customer, author=request.user, **form.cleaned_data)
            # It may be a follow-up already open from another note: shown as this writer may read it.
            show_follow_ups(request.user, [follow_up])
            # Capturing accepted one of the suggestions: read back what is still open.
            open_suggestions = [s for s in note.suggestions.all() if s.status == s.Status.OPEN]
        else:
            note = services.note_create(customer=customer, author=request.user, **form.cleaned_data)
            open_suggestions = note.new_suggestions
        if request.htmx:
            # Only what htmx swaps into #note-form-area: the confirmation, the suggestions, an empty form.
            response = render(
                request,
                "customers/_note_saved.html",
                {
                    "customer": customer,
                    "note": note,
                    "follow_up": follow_up,
                    "suggestions": show_suggestions(request.user, open_suggestions),
                    "note_form": NoteForm(),
                },
            )
            # The brief's recent notes and the timeline show the note at once.
            response["HX-Trigger"] = "brief-changed"
            return response
        if follow_up is not None:
            # Not the prompt itself: flash messages sit in the session, and a prompt can be private.
            messages.success(request, "Note saved, with a follow-up for their next visit.")
        else:
            messages.success(request, "Note saved.")
        return _to_customer(customer, "suggestions")
    if request.htmx:
        return render(request, "customers/_note_form.html", {"customer": customer, "note_form": form})
    return render(request, "customers/simple_form.html", {"form": form, "customer": customer, "title": "Add a note"})


@sensitive_post_parameters("text")
@require_perm("customers.view_customer")
def note_edit(request, note_pk: int):
    note = get_for_user(Note, request.user, note_pk)
    if not can_edit_note(request.user, note):
        raise PermissionDenied("Only the note's author or a manager can edit it.")
    form = NoteForm(request.POST or None, instance=note)
    if request.method == "GET":
        confidences.disclose_notes(request.user, [note])
    if request.method == "POST" and form.is_valid():
        services.note_update(note=note, editor=request.user, **form.cleaned_data)
        messages.success(request, "Note updated. The earlier text is kept in its history.")
        return _to_customer(note.customer)
    return render(
        request,
        "customers/simple_form.html",
        {
            "form": form,
            "customer": note.customer,
            "title": "Edit note",
            "submit": "Save note",
        },
    )


@require_perm("customers.view_customer")
def note_history(request, note_pk: int):
    note = get_for_user(Note, request.user, note_pk)
    versions = list(note.history.select_related("history_user").order_by("-history_date"))
    # A note once marked sensitive and later unmarked keeps its sensitive wording in the history:
    # staff who may not read those versions see "a private note" in place of their text.
    hidden = {id(version) for version in versions if not confidences.may_read(request.user, version)}
    confidences.disclose_notes(request.user, versions)
    changes = []
    for newer, older in zip(versions, [*versions[1:], None], strict=True):
        delta = newer.diff_against(older).changes if older is not None else []
        delta = [_hide_private_text(change, older, newer, hidden) for change in delta]
        if id(newer) in hidden:
            newer.text = PRIVATE_NOTE
        changes.append({"version": newer, "changes": delta})
    return render(request, "customers/note_history.html", {"note": note, "customer": note.customer, "changes": changes})


@require_POST
@require_perm("customers.add_note")
def suggestion_decide(request, suggestion_pk: int, decision: str):
    suggestion = get_suggestion_for_user(request.user, suggestion_pk)
    customer = suggestion.note.customer
    error = None
    try:
        if decision == "accept":
            services.suggestion_accept(suggestion=suggestion, user=request.user)
        else:
            services.suggestion_ignore(suggestion=suggestion)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    suggestion.refresh_from_db()
    if decision == "accept" and not error and services.suggestion_opens_form(suggestion):
        # A gesture idea or a date known to the month: open the form, prefilled, for staff to complete.
        url = _suggestion_form_url(suggestion)
        if request.htmx:
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return redirect(url)
    show_suggestions(request.user, [suggestion])
    if request.htmx:
        response = render(request, "customers/_suggestion.html", {"suggestion": suggestion, "error": error})
        if decision == "accept" and not error:
            response["HX-Trigger"] = "brief-changed"
        return response
    if error:
        messages.error(request, error)
    return _to_customer(customer)


def _suggestion_form_url(suggestion: Suggestion) -> str:
    customer_id = suggestion.note.customer_id
    data = suggestion.payload
    if suggestion.kind == Suggestion.Kind.GESTURE:
        return gesture_form_url(
            customer_id,
            category=data.get("category", ""),
            amount=data.get("amount", ""),
            description=data.get("description", ""),
            note_id=suggestion.note_id,
        )
    query = urlencode({key: data[key] for key in ("kind", "month", "year", "label") if data.get(key)})
    return f"{reverse('date-create', args=[customer_id])}?{query}"


def _hide_private_text(change, older, newer, hidden: set[int]):
    """Put "a private note" in place of the text of a version this user may not read."""
    if change.field != "text":
        return change
    return dataclasses.replace(
        change,
        old=PRIVATE_NOTE if id(older) in hidden else change.old,
        new=PRIVATE_NOTE if id(newer) in hidden else change.new,
    )


# --- follow-ups -----------------------------------------------------------------


@require_perm("customers.add_followup")
def follow_up_create(request, pk: int):
    customer = get_customer_for_user(request.user, pk)
    form = FollowUpForm(request.POST or None, customer=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.follow_up_create(
            customer=customer,
            created_by=request.user,
            prompt=data["prompt"],
            due=data["due"],
            due_date=data["due_date"],
            assignee=data["assignee"],
            location=data["location"],
        )
        messages.success(request, "Follow-up saved.")
        return _to_customer(customer)
    return render(request, "customers/simple_form.html", {"form": form, "customer": customer, "title": "New follow-up"})


@sensitive_post_parameters("outcome")  # it becomes a personal note
@require_perm("customers.change_followup")
def follow_up_done(request, follow_up_pk: int):
    follow_up = get_for_user(FollowUp, request.user, follow_up_pk)
    show_follow_ups(request.user, [follow_up])
    form = FollowUpDoneForm(request.POST or None, prompt=follow_up.shown_prompt)
    if request.method == "POST" and form.is_valid():
        try:
            services.follow_up_complete(follow_up=follow_up, user=request.user, outcome=form.cleaned_data["outcome"])
            messages.success(request, f"Done: {follow_up.shown_prompt}.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return _after_follow_up(request, follow_up)
    return render(
        request,
        "customers/follow_up_done.html",
        {
            "form": form,
            "follow_up": follow_up,
            "customer": follow_up.customer,
            "next": request.GET.get("next", ""),
        },
    )


@require_POST
@require_perm("customers.change_followup")
def follow_up_take(request, follow_up_pk: int):
    """Take a whole-location follow-up on yourself."""
    follow_up = get_for_user(FollowUp, request.user, follow_up_pk)
    show_follow_ups(request.user, [follow_up])
    try:
        services.follow_up_take(follow_up=follow_up, user=request.user)
        messages.success(request, f"It's yours: {follow_up.shown_prompt}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    if request.POST.get("next") == "inbox":
        return redirect("inbox")
    return _after_follow_up(request, follow_up)


@require_POST
@require_perm("customers.change_followup")
def follow_up_dismiss(request, follow_up_pk: int):
    follow_up = get_for_user(FollowUp, request.user, follow_up_pk)
    show_follow_ups(request.user, [follow_up])
    try:
        services.follow_up_dismiss(follow_up=follow_up, user=request.user)
        messages.success(request, f"Dismissed: {follow_up.shown_prompt}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return _after_follow_up(request, follow_up)


def _after_follow_up(request, follow_up):
    if request.POST.get("next") == "home":
        return redirect("home")
    return _to_customer(follow_up.customer)


# --- import ---------------------------------------------------------------------


@require_perm("customers.import_customers")
def customer_import(request):
    """Upload a CSV, see what it would do (and every bad row by line), then import it."""
    locations = list(locations_for(request.user).filter(is_active=True).values_list("pk", flat=True))
    return imports.preview_and_confirm(
        request,
        kind=importer,
        name="customer_import",
        form=CustomerImportForm(request.POST or None, request.FILES or None, user=request.user),
        options=lambda cleaned: {
            "location": cleaned["default_location"].pk if cleaned["default_location"] else None,
            "locations": locations,
        },
        template="customers/customer_import.html",
        done=importer.done_message,
        back="customer-list",
    )


# --- marketing export ------------------------------------------------------------


@require_perm("customers.export_customers")
def customer_export(request):
    """Download, for marketing, the customers who agreed to be contacted, with what they agreed to.

    Only consented channels are filled in, and sensitive notes never appear.
    """
    response = StreamingHttpResponse(
        (line for line in marketing_export_lines(request.user)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="customers-marketing.csv"'
    return response


@require_perm("customers.change_tag")
def tag_list(request):
    """Tags and their keep-in-touch cadences ("regulars: every 30 days")."""
    tags = list(Tag.objects.annotate(customers_count=Count("customers")).order_by("name"))
    forms = [TagCadenceForm(request.POST or None, instance=tag, prefix=f"tag{tag.pk}") for tag in tags]
    if request.method == "POST" and all(form.is_valid() for form in forms):
        for form in forms:
            if form.has_changed():
                services.tag_save(tag=form.save(commit=False))
        messages.success(request, "Saved. Customers with these tags are rescheduled.")
        return redirect("tag-list")
    return render(request, "customers/tag_list.html", {"rows": list(zip(tags, forms, strict=True))})
