"""Touchpoints, personas and journey maps, metrics, interaction import and API tokens."""

import csv
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from crm.kernel import uploads
from crm.kernel.access import require_perm
from crm.kernel.csvfiles import NOT_CSV, CsvError, malformed, open_csv
from customers.access import get_customer_for_user
from journeys import importer, selectors, services_manage
from journeys.access import get_api_token, get_persona, get_step, get_touchpoint, import_locations_for
from journeys.forms_manage import (
    ApiTokenForm,
    InteractionImportForm,
    JourneyStepForm,
    MetricForm,
    MetricImportForm,
    PersonaAssignForm,
    PersonaForm,
    TouchpointForm,
)
from journeys.models import ApiToken, JourneyStep, Persona, Touchpoint, TouchpointMetric

# --- touchpoints ---------------------------------------------------------------------


@require_perm("journeys.view_touchpoint")
def touchpoint_list(request):
    return render(request, "journeys/touchpoint_list.html", {"touchpoints": Touchpoint.objects.all()})


@require_perm("journeys.add_touchpoint")
def touchpoint_create(request):
    return _touchpoint_form(request, Touchpoint())


@require_perm("journeys.change_touchpoint")
def touchpoint_edit(request, pk: int):
    return _touchpoint_form(request, get_touchpoint(request.user, pk))


def _touchpoint_form(request, touchpoint):
    form = TouchpointForm(request.POST or None, instance=touchpoint)
    if request.method == "POST" and form.is_valid():
        touchpoint = services_manage.touchpoint_save(touchpoint=form.save(commit=False))
        messages.success(request, f"Saved {touchpoint}.")
        return redirect("touchpoint-list")
    return render(request, "journeys/form.html", {"form": form, "title": "Touchpoint", "back": "touchpoint-list"})


@require_perm("journeys.view_touchpoint")
def touchpoint_detail(request, pk: int):
    """A touchpoint's interactions per month beside the figures the business keeps for it."""
    touchpoint = get_touchpoint(request.user, pk)
    form = MetricForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("journeys.add_touchpointmetric"):
            return render(request, "403.html", status=403)
        if form.is_valid():
            services_manage.metric_set(
                touchpoint=touchpoint,
                month=form.cleaned_data["month"],
                name=form.cleaned_data["name"],
                value=form.cleaned_data["value"],
            )
            messages.success(request, "Saved the figure.")
            return redirect("touchpoint-detail", pk=touchpoint.pk)
    trend = selectors.touchpoint_trend(touchpoint)
    return render(
        request,
        "journeys/touchpoint_detail.html",
        {
            "touchpoint": touchpoint,
            "trend": trend,
            "form": form,
            "metrics": touchpoint.metrics.order_by("-month", "name")[:24],
        },
    )


@require_perm("journeys.add_touchpointmetric")
def metric_import(request):
    """Import monthly figures (open rate, bounce rate, waiting time...) from CSV, all or nothing."""
    form = MetricImportForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        rows, errors = _read_metrics(form.cleaned_data["file"].read())
        if not errors:
            imported = services_manage.metrics_import(rows=rows)
            messages.success(request, f"Imported {imported} figures.")
            return redirect("touchpoint-list")
    return render(request, "journeys/metric_import.html", {"form": form, "errors": errors})


def _read_metrics(raw: bytes):
    import datetime

    names = {value: value for value in TouchpointMetric.Name.values}
    names.update({label.lower(): value for value, label in TouchpointMetric.Name.choices})
    touchpoints = {t.slug: t for t in Touchpoint.objects.all()} | {t.name.lower(): t for t in Touchpoint.objects.all()}
    try:
        reader = open_csv(raw)
    except CsvError as error:
        return [], [str(error)]
    if reader is None:
        return [], [NOT_CSV]
    rows, errors = [], []
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as error:
        return [], [malformed(error, reader.line_num)]
    for line, record in records:
        get = lambda key, record=record: (record.get(key) or "").strip()  # noqa: E731
        touchpoint = touchpoints.get(get("touchpoint").lower())
        name = names.get(get("metric").lower())
        try:
            month = datetime.date.fromisoformat(get("month")[:7] + "-01")
        except ValueError:
            month = None
        try:
            value = Decimal(get("value"))
            if not value.is_finite() or abs(value) >= 10**10:
                raise InvalidOperation
        except InvalidOperation:
            value = None
        problems = [
            message
            for ok, message in (
                (touchpoint, f"unknown touchpoint {get('touchpoint')!r}"),
                (name, f"unknown metric {get('metric')!r}"),
                (month, f"month {get('month')!r} is not like 2026-10"),
                (value is not None, f"value {get('value')!r} is not a number"),
            )
            if not ok
        ]
        if problems:
            errors.append(f"Line {line}: {'; '.join(problems)}.")
        else:
            rows.append((touchpoint, month, name, value))
    if not rows and not errors:
        errors.append("The file has no rows (columns: touchpoint, month, metric, value).")
    return rows, errors


# --- personas and journey maps ----------------------------------------------------------


@require_perm("journeys.view_persona")
def persona_list(request):
    personas = Persona.objects.all().prefetch_related("preferred_touchpoints")
    return render(request, "journeys/persona_list.html", {"personas": personas})


@require_perm("journeys.add_persona")
def persona_create(request):
    return _persona_form(request, Persona())


@require_perm("journeys.change_persona")
def persona_edit(request, pk: int):
    return _persona_form(request, get_persona(request.user, pk))


def _persona_form(request, persona):
    form = PersonaForm(request.POST or None, instance=persona)
    if request.method == "POST" and form.is_valid():
        persona = services_manage.persona_save(
            persona=form.save(commit=False), preferred_touchpoints=form.cleaned_data["preferred_touchpoints"]
        )
        messages.success(request, f"Saved {persona}.")
        return redirect("persona-map", pk=persona.pk)
    return render(request, "journeys/form.html", {"form": form, "title": "Persona", "back": "persona-list"})


@require_perm("journeys.view_persona")
def persona_map(request, pk: int):
    """The designed journey beside the observed one: stages as columns, touchpoints as rows. Printable."""
    persona = get_persona(request.user, pk)
    return render(request, "journeys/persona_map.html", {"persona": persona, **selectors.journey_map(persona)})


@require_perm("journeys.add_journeystep")
def step_create(request, pk: int):
    persona = get_persona(request.user, pk)
    return _step_form(request, persona, JourneyStep(persona=persona))


@require_perm("journeys.change_journeystep")
def step_edit(request, step_pk: int):
    step = get_step(request.user, step_pk)
    if request.method == "POST" and request.POST.get("delete"):
        services_manage.step_delete(step=step)
        messages.success(request, "Step removed.")
        return redirect("persona-map", pk=step.persona_id)
    return _step_form(request, step.persona, step)


def _step_form(request, persona, step):
    form = JourneyStepForm(request.POST or None, instance=step)
    if request.method == "POST" and form.is_valid():
        services_manage.step_save(step=form.save(commit=False))
        messages.success(request, "Saved the step.")
        return redirect("persona-map", pk=persona.pk)
    return render(
        request,
        "journeys/form.html",
        {
            "form": form,
            "title": f"Journey step for {persona}",
            "back": "persona-list",
            "step": step,
        },
    )


@require_POST
@require_perm("journeys.add_customerpersona")
def persona_assign(request, pk: int):
    customer = get_customer_for_user(request.user, pk)
    form = PersonaAssignForm(request.POST)
    if form.is_valid():
        persona = form.cleaned_data["persona"]
        services_manage.persona_assign(customer=customer, persona=persona, by=request.user)
        messages.success(request, f"{customer.greeting_name} is now {persona or 'without a persona'}.")
    return redirect("customer-detail", pk=customer.pk)


# --- import and API tokens -----------------------------------------------------------------


@require_perm("journeys.import_interactions")
def interaction_import(request):
    """Upload a CSV of visits or purchases, see every bad row by line, then import it all at once."""
    form = InteractionImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and "confirm" in request.POST:
        kept = uploads.take(request, "interaction_import", request.POST.get("token"))
        if kept is None:
            messages.error(request, "That preview has expired. Upload the file again.")
            return redirect("interaction-import")
        raw, options = kept
        plan = importer.plan_file(
            raw,
            default_location=import_locations_for(request.user).filter(pk=options.get("location")).first(),
            create_customers=options.get("create", False),
        )
        if not plan.is_valid:
            return render(request, "journeys/import.html", {"form": form, "plan": plan})
        result = importer.run(plan)
        uploads.discard(request, "interaction_import")
        messages.success(
            request,
            f"Imported {result['imported']} interaction{pluralize(result['imported'])}; "
            f"{result['already_imported']} {'was' if result['already_imported'] == 1 else 'were'} already there; "
            f"{result['customers_created']} new customer{pluralize(result['customers_created'])}.",
        )
        return redirect("interaction-import")
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["file"].read()
        location = form.cleaned_data["default_location"]
        create = form.cleaned_data["create_customers"]
        plan = importer.plan_file(raw, default_location=location, create_customers=create)
        context["plan"] = plan
        if plan.is_valid:
            options = {"location": location.pk if location else None, "create": create}
            context["token"] = uploads.stash(request, "interaction_import", raw, options)
    return render(request, "journeys/import.html", context)


@require_perm("journeys.add_apitoken")
def api_tokens(request):
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST":
        if revoke := request.POST.get("revoke"):
            token = get_api_token(request.user, revoke)
            services_manage.api_token_revoke(token=token)
            messages.success(request, "Token revoked.")
            return redirect("api-tokens")
        if form.is_valid():
            _token, new_key = services_manage.api_token_create(name=form.cleaned_data["name"], by=request.user)
    return render(
        request,
        "journeys/api_tokens.html",
        {
            "form": ApiTokenForm() if new_key else form,
            "tokens": ApiToken.objects.all(),
            "new_key": new_key,
        },
    )
