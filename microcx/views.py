import datetime
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm.kernel import confidences, uploads
from crm.kernel.access import locations_for, own_active_locations, require_perm
from crm.kernel.csvfiles import SafeWriter
from crm.kernel.models import Location
from crm.kernel.templatetags.crm_tags import money
from customers.access import PRIVATE_NOTE, get_customer_for_user, show_follow_ups
from customers.models import Note
from microcx import selectors, services
from microcx.access import budgets_for, gestures_for, get_budget_for_user, get_gesture_for_user
from microcx.forms import AdjustForm, AmountField, BudgetForm, DeliverForm, DiscretionRuleForm, GestureForm, RejectForm
from microcx.models import DiscretionRule, Gesture

PAGE_SIZE = 25


def _my_locations(user) -> list[Location]:
    return own_active_locations(user) or list(locations_for(user).filter(is_active=True))


def _today(user) -> datetime.date:
    """Today at the user's locations (the latest of their calendars), for the pages' default dates."""
    return max((location.local_today() for location in _my_locations(user)), default=timezone.localdate())


@require_perm("microcx.view_budget")
def overview(request):
    """What is left to spend at my locations, my own discretion, my gestures."""
    user = request.user
    locations = _my_locations(user)
    rule = services.rule_for(user)
    mine = gestures_for(user).filter(proposed_by=user).select_related("customer")[:10]
    context = {
        "budgets": selectors.current_budgets(locations),
        "rule": rule,
        "month_spend": services.month_spend(user, services.spending_month(locations[0])) if locations else 0,
        "my_gestures": list(mine),
        "pending_count": Gesture.objects.filter(status=Gesture.Status.PENDING).count()
        if user.has_perm("microcx.approve_gesture")
        else None,
    }
    return render(request, "microcx/overview.html", context)


FORM_KEY = "form"  # the URL parameter that carries a gesture form's idempotency key


def _form_key(request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.GET.get(FORM_KEY, ""))
    except ValueError:
        return None


@require_perm("microcx.add_gesture")
def gesture_propose(request, pk: int):
    """Propose a gesture for a customer; it may need a manager, and it may ask whether it is genuine.

    The form's idempotency key lives in its address (?form=<key>): opening the form without one
    redirects to an address with a new key, so Back returns to the same form, and proposing it
    again finds the gesture it already made instead of making a second one.
    """
    customer = get_customer_for_user(request.user, pk)
    key = _form_key(request)
    if request.method == "GET" and key is None:
        query = request.GET.copy()
        query[FORM_KEY] = str(uuid.uuid4())
        return redirect(f"{request.path}?{query.urlencode()}")
    initial = {"idempotency_key": key}
    if note_id := request.GET.get("note"):
        initial["inspired_by"] = f"note:{note_id}"
    elif follow_up_id := request.GET.get("follow_up"):
        initial["inspired_by"] = f"follow_up:{follow_up_id}"
    form = GestureForm(request.POST or None, customer=customer, user=request.user, initial=initial)
    # As the amount is typed, the form says whether a manager will be needed, and why (_discretion_hint.html).
    form.fields["amount"].widget.attrs.update(
        {
            "hx-get": request.path + (f"?{FORM_KEY}={key}" if key else ""),
            "hx-trigger": "input changed delay:300ms",
            "hx-target": "#discretion-hint",
            "hx-swap": "outerHTML",
            "hx-include": "[name=location]",
        }
    )
    location = _spending_location(request, form)
    month = services.spending_month(location) if location else None
    if request.htmx and request.method == "GET" and "amount" in request.GET:
        return render(
            request, "microcx/_discretion_hint.html", _discretion_hint(request.user, request.GET["amount"], month)
        )
    form.initial.update(_idea_initial(request, month))
    flags = []
    already = None
    if request.method == "POST" and (made := _made_by_this_form(request, customer)) is not None:
        # Sent again (Back then Propose, a double click, a resent request): the first gesture stands.
        messages.info(request, "You already proposed this gesture with this form; here it is.")
        return redirect("gesture-detail", pk=made.pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            gesture, created = services.gesture_propose(
                customer=customer,
                proposer=request.user,
                location=data["location"],
                category=data["category"],
                description=data["description"],
                amount=data["amount"],
                idempotency_key=data["idempotency_key"],
                confirmed_genuine=data["genuine"],
                occasion=data["occasion"],
                **data["inspired_by"],
            )
        except services.NeedsConfirmation as warning:
            flags = warning.flags
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if not created:
                messages.info(request, "You already proposed this gesture with this form; here it is.")
            elif gesture.status == Gesture.Status.APPROVED:
                messages.success(request, f"Approved within your discretion: {money(gesture.amount)} is held for it.")
            else:
                messages.info(request, gesture.approval_reason or "Sent to a manager for approval.")
            return redirect("gesture-detail", pk=gesture.pk)
    elif request.method == "GET":
        already = services.gesture_for_form(key, proposer=request.user, customer=customer)
    budgets = selectors.current_budgets(_my_locations(request.user))
    amount = form.data.get("amount") if form.is_bound else None
    return render(
        request,
        "microcx/gesture_form.html",
        {
            "form": form,
            "customer": customer,
            "flags": flags,
            "budgets": budgets,
            "already": already,
            **_discretion_hint(request.user, amount, month),
        },
    )


def _idea_initial(request, month: datetime.date | None) -> dict:
    """Read a gesture idea from the address (category, amount, description) as the form's first values.

    Only initial values: the submitted form is validated as always. The amount is capped at what the
    proposer may still spend on their own this month, so taking up an idea never asks for approval.
    """
    initial: dict = {}
    if request.GET.get("category") in Gesture.Category.values:
        initial["category"] = request.GET["category"]
    if description := request.GET.get("description", "").strip():
        initial["description"] = description[:200]
    try:
        amount = Decimal(request.GET.get("amount", ""))
    except InvalidOperation:
        return initial
    if amount.is_finite() and amount >= 0:
        room = services.discretion_for(request.user, month).room if month else Decimal(0)
        initial["amount"] = max(Decimal(0), min(amount, room)).quantize(Decimal("0.01"))
    return initial


def _made_by_this_form(request, customer) -> Gesture | None:
    try:
        key = uuid.UUID(request.POST.get("idempotency_key", ""))
    except ValueError:
        return None
    return services.gesture_for_form(key, proposer=request.user, customer=customer)


def _spending_location(request, form: GestureForm) -> Location | None:
    """The location whose month the form's figures are for: the one chosen, else the form's default."""
    locations = list(form.fields["location"].queryset)
    chosen = (request.POST or request.GET).get("location") or form.fields["location"].initial
    return next((loc for loc in locations if str(loc.pk) == str(chosen)), locations[0] if locations else None)


def _discretion_hint(user, amount_text: str | None, month: datetime.date | None) -> dict:
    """What the form says about the proposer's discretion, from the one discretion function."""
    if month is None:
        return {"discretion": None, "verdict": ""}
    discretion = services.discretion_for(user, month)
    verdict = ""
    if amount_text:
        try:
            amount = AmountField().clean(amount_text)
        except ValidationError:
            amount = None  # the field itself says what is wrong
        if amount is not None:
            allowed, why = discretion.allows(amount)
            verdict = "Within your discretion: approved at once." if allowed else f"Needs a manager: {why}."
    return {"discretion": discretion, "verdict": verdict}


def _visible_gesture(request, pk: int) -> Gesture:
    return get_gesture_for_user(request.user, pk)


def _inspiration(user, gesture: Gesture) -> dict:
    """What inspired the gesture, as this user may read it: a sensitive note is "a private note"."""
    note = confidences.mask(user, [gesture.note], fields={"text": PRIVATE_NOTE}, source="")[0] if gesture.note else None
    follow_up = show_follow_ups(user, [gesture.follow_up])[0].shown_prompt if gesture.follow_up else ""
    return {"inspired_by_note": note.shown_text if note else "", "inspired_by_follow_up": follow_up}


@require_perm("microcx.view_budget")
def gesture_detail(request, pk: int):
    gesture = _visible_gesture(request, pk)
    balance = services.budget_balance(gesture.budget)
    can_approve, why_not = services.can_approve(request.user, gesture)
    return render(
        request,
        "microcx/gesture_detail.html",
        {
            "gesture": gesture,
            **_inspiration(request.user, gesture),
            "balance": balance,
            "entries": list(gesture.entries.select_related("created_by")),
            "can_approve": can_approve and gesture.status == Gesture.Status.PENDING,
            "why_not": why_not,
            "reject_form": RejectForm(),
            "deliver_form": DeliverForm(initial={"delivered_on": gesture.location.local_today()}),
            "can_cancel": gesture.status in (Gesture.Status.PENDING, Gesture.Status.APPROVED)
            and (gesture.proposed_by_id == request.user.pk or request.user.has_perm("microcx.approve_gesture")),
        },
    )


def _decide(request, gesture: Gesture, action):
    try:
        action()
    except (ValidationError, PermissionDenied) as error:
        text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        messages.error(request, text)
        if isinstance(error, PermissionDenied) and not request.user.has_perm("microcx.approve_gesture"):
            raise
    if request.POST.get("next") == "queue":
        return redirect("gesture-queue")
    return redirect("gesture-detail", pk=gesture.pk)


@require_perm("microcx.view_budget")
def gesture_receipt(request, pk: int):
    """Send the receipt as a download, never shown inline, to those who may see the gesture."""
    gesture = _visible_gesture(request, pk)
    if not gesture.receipt:
        raise Http404("This gesture has no receipt.")
    suffix = Path(gesture.receipt.name).suffix.lower()
    response = FileResponse(
        gesture.receipt.open("rb"),
        as_attachment=True,
        filename=f"receipt-gesture-{gesture.pk}{suffix}",
        content_type=uploads.receipt_content_type(gesture.receipt.name),
    )
    # Even opened directly, the file runs nothing: no scripts, no plugins, no same-origin access.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@require_perm("microcx.approve_gesture")
def gesture_approve(request, pk: int):
    gesture = _visible_gesture(request, pk)

    def approve():
        services.gesture_approve(gesture=gesture, by=request.user)
        messages.success(request, f"Approved {gesture.get_category_display().lower()} for {gesture.customer}.")

    return _decide(request, gesture, approve)


@require_POST
@require_perm("microcx.approve_gesture")
def gesture_reject(request, pk: int):
    gesture = _visible_gesture(request, pk)
    form = RejectForm(request.POST)

    def reject():
        if not form.is_valid():
            raise ValidationError("Give the reason, so the proposer understands.")
        services.gesture_reject(gesture=gesture, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, "Rejected; the proposer is told why.")

    return _decide(request, gesture, reject)


@require_POST
@require_perm("microcx.add_gesture")
def gesture_deliver(request, pk: int):
    gesture = _visible_gesture(request, pk)
    form = DeliverForm(request.POST, request.FILES)

    def deliver():
        if not form.is_valid():
            raise ValidationError([e for errors in form.errors.values() for e in errors])
        services.gesture_deliver(
            gesture=gesture,
            by=request.user,
            delivered_on=form.cleaned_data["delivered_on"],
            reaction=form.cleaned_data["reaction"],
            receipt=form.cleaned_data["receipt"],
        )
        messages.success(request, "Delivered. The money is spent from the budget.")

    return _decide(request, gesture, deliver)


@require_POST
@require_perm("microcx.add_gesture")
def gesture_cancel(request, pk: int):
    gesture = _visible_gesture(request, pk)

    def cancel():
        services.gesture_cancel(gesture=gesture, by=request.user)
        messages.success(request, "Cancelled; any money held for it is back in the budget.")

    return _decide(request, gesture, cancel)


@require_perm("microcx.approve_gesture")
def gesture_queue(request):
    """Pending gestures, oldest first, with the customer's recent notes and what looked mechanical."""
    page = Paginator(selectors.approval_queue(), PAGE_SIZE).get_page(request.GET.get("page"))
    gestures = list(page.object_list)
    customer_ids = {g.customer_id for g in gestures}
    notes: dict[int, list[Note]] = {}
    for note in Note.objects.filter(customer_id__in=customer_ids).visible_to(None).order_by("-created_at")[:200]:
        if len(notes.setdefault(note.customer_id, [])) < 3:
            notes[note.customer_id].append(note)
    balances = services.balances(list({g.budget_id for g in gestures}))
    odd = selectors.odd_amounts(gestures)
    rows = [
        {
            "gesture": g,
            "odd_amount": odd.get(g.pk, ""),
            "notes": notes.get(g.customer_id, []),
            "balance": balances[g.budget_id],
            "can_approve": services.can_approve(request.user, g),
        }
        for g in gestures
    ]
    return render(request, "microcx/queue.html", {"rows": rows, "page": page, "reject_form": RejectForm()})


@require_perm("microcx.view_budget")
def budget_list(request):
    can_set = request.user.has_perm("microcx.add_budget")
    today = _today(request.user)
    form = BudgetForm(request.POST or None, user=request.user, initial={"day": today, "period": "month"})
    if request.method == "POST":
        if not can_set:
            raise PermissionDenied("Only managers and owners set budgets.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                budget = services.budget_create(by=request.user, **data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Budget set for {budget}.")
                return redirect("budget-detail", pk=budget.pk)
    budgets = budgets_for(request.user).select_related("location")
    page = Paginator(budgets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "microcx/budget_list.html",
        {
            "page": page,
            "views": selectors.budget_views(list(page.object_list)),
            "form": form if can_set else None,
        },
    )


@require_perm("microcx.view_budget")
def budget_detail(request, pk: int):
    budget = get_budget_for_user(request.user, pk)
    form = AdjustForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("microcx.adjust_budget"):
            raise PermissionDenied("Only owners adjust budgets.")
        if form.is_valid():
            try:
                services.budget_adjust(budget=budget, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Adjusted.")
                return redirect("budget-detail", pk=budget.pk)
    entries = budget.entries.select_related("gesture__customer", "created_by").order_by("-created_at", "-pk")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "microcx/budget_detail.html",
        {
            "budget": budget,
            "balance": services.budget_balance(budget),
            "page": page,
            "form": form if request.user.has_perm("microcx.adjust_budget") else None,
        },
    )


def _report_filters(request):
    today = _today(request.user)
    try:
        start = datetime.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = today.replace(day=1) - datetime.timedelta(days=150)
        start = start.replace(day=1)
    try:
        end = datetime.date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end = today
    group = request.GET.get("group") if request.GET.get("group") in selectors.GROUPS else "location"
    return group, start, end


@require_perm("microcx.view_spend_report")
def spend_report(request):
    group, start, end = _report_filters(request)
    rows = selectors.spend_report(group, start, end, list(locations_for(request.user)))
    return render(
        request,
        "microcx/report.html",
        {
            "rows": rows,
            "group": group,
            "groups": selectors.GROUPS,
            "start": start,
            "end": end,
            "group_label": selectors.GROUPS[group][1],
        },
    )


@require_perm("microcx.view_spend_report")
def spend_report_csv(request):
    group, start, end = _report_filters(request)
    rows = selectors.spend_report(group, start, end, list(locations_for(request.user)))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="micro-cx-spend-by-{group}-{start}-{end}.csv"'
    # Group names (staff, categories, locations) are text someone typed: neutralised; amounts stay numbers.
    writer = SafeWriter(response)
    writer.writerow([selectors.GROUPS[group][1], "gestures", "delivered", "committed", "spent"])
    for row in rows:
        writer.writerow([row["group"], row["gestures"], row["delivered"], row["committed"], row["spent"]])
    return response


@require_perm("microcx.view_discretionrule")
def discretion_rules(request):
    """Owners set what each role may spend without asking; managers can read them."""
    rules = list(DiscretionRule.objects.all())
    can_change = request.user.has_perm("microcx.change_discretionrule")
    forms = [DiscretionRuleForm(request.POST or None, instance=rule, prefix=rule.role) for rule in rules]
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied("Only owners change discretion rules.")
        if all(form.is_valid() for form in forms):
            services.discretion_rules_save(rules=[form.save(commit=False) for form in forms])
            messages.success(request, "Discretion rules saved.")
            return redirect("discretion-rules")
    return render(request, "microcx/rules.html", {"forms": forms, "can_change": can_change})
