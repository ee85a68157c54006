from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from crm.kernel.access import require_perm
from customers.access import get_customer_for_user, show_suggestions
from journeys import services
from journeys.forms import ConversationLogForm
from journeys.services import conversation_log


@sensitive_post_parameters("note_text", "follow_up_prompt")  # never in an error report
@require_POST
@require_perm("journeys.add_interaction")
def interaction_log(request, pk: int):
    """Log a conversation or visit from the customer page, without leaving it (htmx)."""
    customer = get_customer_for_user(request.user, pk)
    form = ConversationLogForm(request.POST, user=request.user)
    if not form.is_valid():
        template = "journeys/_log_form.html" if request.htmx else "journeys/log_page.html"
        return render(request, template, {"customer": customer, "log_form": form}, status=200)
    _interaction, note, _follow_up = conversation_log(customer=customer, staff=request.user, **form.cleaned_data)
    messages.success(request, "Logged.")
    if request.htmx:
        response = render(
            request,
            "journeys/_logged.html",
            {
                "customer": customer,
                "note": note,
                "suggestions": show_suggestions(request.user, note.suggestions.all()) if note else [],
                "log_form": ConversationLogForm(user=request.user),
            },
        )
        response["HX-Trigger"] = "brief-changed"
        return response
    return redirect(reverse("customer-detail", args=[customer.pk]) + "#suggestions")


@require_POST
@require_perm("journeys.add_interaction")
def customer_check_in(request, pk: int):
    """One tap when the customer walks in: a visit in store at this member of staff's location."""
    customer = get_customer_for_user(request.user, pk)
    visit, new = services.customer_check_in(customer=customer, staff=request.user)
    at = timezone.localtime(visit.occurred_at, visit.location.tzinfo)
    if new:
        messages.success(request, f"{customer.greeting_name} checked in at {visit.location}.")
    else:
        messages.info(request, f"{customer.greeting_name} was already checked in at {visit.location} at {at:%H:%M}.")
    return redirect("customer-detail", pk=customer.pk)
