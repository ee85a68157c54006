"""What journeys adds to the customer page: interactions on the timeline, the conversation log form."""

from django import forms
from django.db.models import Q

from customers import page_cache, signals
from customers.extensions import FormPart, Section, TimelineSource, slots
from customers.models import Customer
from journeys import selectors, services
from journeys.forms import ConversationLogForm
from journeys.forms_manage import PersonaAssignForm
from journeys.models import CustomerOrigin, CustomerPersona, Interaction, Persona, Touchpoint


def _journey(customer, user) -> dict:
    context = selectors.customer_journey(customer)
    context["persona_form"] = PersonaAssignForm(initial={"persona": context["persona"]})
    return context


def _heard_via_fields(form) -> dict:
    """The customer form's "first heard of us via": active touchpoints, and the one already recorded."""
    current = selectors.heard_via(form.instance) if form.instance.pk else None
    touchpoints = Touchpoint.objects.filter(Q(is_active=True) | Q(pk=current.pk if current else None))
    return {
        "heard_via": forms.ModelChoiceField(
            queryset=touchpoints, required=False, label="First heard of us via", initial=current
        )
    }


def _heard_via_save(*, customer, cleaned_data: dict, by=None) -> None:
    if "heard_via" in cleaned_data:
        services.customer_origin_set(customer=customer, touchpoint=cleaned_data["heard_via"])


def _heard_via_detail(customer, user) -> dict:
    # A referral says more than a touchpoint: the customers card shows it instead.
    return {"heard_via": None if customer.referred_by_id else selectors.heard_via(customer)}


def _record_contact(
    *, customer, touchpoint_slug: str, location, staff, occurred_at, summary: str, external_ref: str, **kwargs
) -> int | None:
    """A contact another app made (outreach's email or card) as an interaction at its touchpoint; once per ref."""
    touchpoint = Touchpoint.objects.filter(slug=touchpoint_slug).first()
    if touchpoint is None:
        return None
    already = Interaction.objects.filter(external_ref=external_ref).values_list("pk", flat=True).first()
    if already is not None:
        return already
    return services.interaction_record(
        customer=customer,
        touchpoint=touchpoint,
        location=location,
        staff=staff,
        occurred_at=occurred_at,
        summary=summary,
        external_ref=external_ref,
    ).pk


def _check_in(sender, *, customer, staff, **kwargs):
    """The one-tap visit, for a sibling app (outreach redeems an offer on it)."""
    return services.customer_check_in(customer=customer, staff=staff)[0]


def register() -> None:
    """Connect journeys to the customer page's slots and to the customers floor's events."""
    signals.customer_erasing.connect(_erase, sender=Customer, dispatch_uid="journeys.customer_erasing")
    signals.contact_made.connect(_record_contact, sender=Customer, dispatch_uid="journeys.contact_made")
    signals.customer_exporting.connect(_export, sender=Customer, dispatch_uid="journeys.customer_exporting")
    signals.check_in_asked.connect(_check_in, sender=Customer, dispatch_uid="journeys.check_in_asked")
    for model in (Interaction, CustomerOrigin, CustomerPersona):
        page_cache.watch(model, across=False)  # on no page that shows many customers (a visit moves the Customer)
    for model in (Touchpoint, Persona):
        page_cache.watch_shared(model)
    slots.register(
        "timeline",
        TimelineSource(
            kind="interaction",
            rows=lambda customer, user: Interaction.objects.filter(customer=customer).values_list("pk", "occurred_at"),
            load=lambda pks, user: Interaction.objects.select_related("touchpoint", "location", "staff").in_bulk(pks),
            template="journeys/timeline_interaction.html",
            kept=True,  # every save of an interaction renews its kept entry (watch above)
        ),
    )
    slots.register(
        "brief",
        # Stages and personas are the managers' words; at the counter they are noise.
        Section(
            name="journey",
            context=_journey,
            template="journeys/_brief_journey.html",
            permission="journeys.change_persona",
            shows_notes=False,
        ),
    )
    slots.register(
        "form", FormPart(name="heard_via", fields=_heard_via_fields, save=_heard_via_save, layout=("heard_via",))
    )
    slots.register(
        "details",
        Section(
            name="heard_via", context=_heard_via_detail, template="journeys/_details_heard_via.html", shows_notes=False
        ),
    )
    slots.register(
        "actions",
        Section(
            name="conversation_log",
            context=lambda customer, user: {"log_form": ConversationLogForm(user=user)},
            template="journeys/_log_form.html",
            shows_notes=False,
        ),
    )


def _erase(sender, customer, by=None, **kwargs) -> None:
    """Keep the erased customer's interactions as anonymous counts: what was said goes, and so do the
    references (till receipts, booking ids; made-up ones hash their email) that would lead back to them."""
    Interaction.objects.filter(customer=customer).update(summary="", external_ref=None)


def _export(sender, customer, **kwargs) -> dict:
    touchpoint = selectors.heard_via(customer)
    return {
        "profile": {"heard_via": touchpoint.name if touchpoint else None},
        "interactions": _export_interactions(customer),
        "personas": _export_personas(customer),
    }


def _export_interactions(customer) -> list[dict]:
    return [
        {
            "occurred_at": i.occurred_at.isoformat(),
            "kind": i.get_kind_display(),
            "touchpoint": i.touchpoint.name,
            "stage": i.get_stage_display(),
            "location": i.location.name,
            "staff": str(i.staff) if i.staff else "",
            "summary": i.summary,
            "sentiment": i.get_sentiment_display(),
            "amount": str(i.amount) if i.amount is not None else None,
        }
        for i in Interaction.objects.filter(customer=customer)
        .select_related("touchpoint", "location", "staff")
        .order_by("occurred_at", "pk")
    ]


def _export_personas(customer) -> list[dict]:
    return [
        {"persona": assigned.persona.name, "since": assigned.assigned_at.isoformat() if assigned.assigned_at else None}
        for assigned in CustomerPersona.objects.filter(customer=customer).select_related("persona")
    ]
