"""Touchpoints, personas and journey maps, metrics, interaction import and API tokens."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm.kernel import imports
from crm.kernel.access import require_perm
from customers.access import get_customer_for_user
from journeys import importer, metrics_import, selectors, services_manage
from journeys.access import get_api_token, get_persona, get_step, get_touchpoint
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
from journeys.models import ApiToken, JourneyStep, Persona, Touchpoint

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
    """Import monthly figures (open rate, bounce rate, waiting time...) from CSV: preview, then all or nothing."""
    return imports.preview_and_confirm(
        request,
        kind=metrics_import,
        name="metric_import",
        form=MetricImportForm(request.POST or None, request.FILES or None),
        options=lambda cleaned: {},
        template="journeys/metric_import.html",
        done=metrics_import.done_message,
        back="touchpoint-list",
    )


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
    return imports.preview_and_confirm(
        request,
        kind=importer,
        name="interaction_import",
        form=InteractionImportForm(request.POST or None, request.FILES or None, user=request.user),
        options=lambda cleaned: {
            "location": cleaned["default_location"].pk if cleaned["default_location"] else None,
            "touchpoint": cleaned["default_touchpoint"].pk if cleaned["default_touchpoint"] else None,
            "create": cleaned["create_customers"],
        },
        template="journeys/import.html",
        done=importer.done_message,
        back="interaction-import",
    )


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
