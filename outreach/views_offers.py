"""Offers at the till: find one by its code, redeem it (at the till or with a check-in) from the customer page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm.kernel.access import require_perm
from customers.access import get_customer_for_user
from customers.selectors import check_in_location
from outreach import offers
from outreach.forms_offers import OfferCodeForm

VIA_CHOICES = {offers.Offer.Via.TILL, offers.Offer.Via.CHECK_IN}


@require_perm("outreach.redeem_offer")
def offer_search(request):
    """Type the code the customer shows; see whose offer it is, what it gives and whether it can be used."""
    form = OfferCodeForm(request.GET or None)
    offer = None
    if form.is_bound and form.is_valid():
        offer = offers.find_by_code(form.cleaned_data["code"], offers.offers_for(request.user))
        if offer is None:
            form.add_error("code", f"No offer has the code {form.cleaned_data['code']}. Check it letter by letter.")
    return _search_page(request, form, offer)


def _search_page(request, form, offer, status: int = 200):
    return render(
        request,
        "outreach/offers/search.html",
        {"form": form, "offer": offer, "refusal": offers.refusal(offer, timezone.now()) if offer else None},
        status=status,
    )


def _redeem(request, offer) -> str | None:
    """Redeem at the till, or check in and redeem; return why it was refused, or None."""
    via = request.POST.get("via", offers.Offer.Via.TILL)
    if via not in VIA_CHOICES:
        via = offers.Offer.Via.TILL
    try:
        if via == offers.Offer.Via.CHECK_IN:
            offer, visit = offers.offer_redeem_at_check_in(offer=offer, staff=request.user)
            messages.success(
                request,
                f"{offer.customer.greeting_name} checked in at {visit.location}; code {offer.code} redeemed: "
                f"{offer.description}",
            )
        else:
            location = check_in_location(request.user, offer.customer)
            offer = offers.offer_redeem(offer=offer, via=via, by=request.user, location=location)
            messages.success(request, f"Code {offer.code} redeemed: {offer.description}")
    except ValidationError as error:
        return error.message_dict.get("code", error.messages)[0]
    return None


@require_POST
@require_perm("outreach.redeem_offer")
def offer_redeem(request, pk: int):
    """Redeem an offer found by its code (the search page) or listed on the customer page."""
    offer = offers.get_offer_for_user(request.user, pk)
    refused = _redeem(request, offer)
    if request.POST.get("back") == "customer":
        if refused:
            messages.error(request, refused)
        return redirect(reverse("customer-detail", args=[offer.customer_id]) + "#offers")
    if refused:
        form = OfferCodeForm({"code": offer.code})
        form.is_valid()
        form.add_error("code", refused)
        return _search_page(request, form, offers.get_offer_for_user(request.user, pk))
    return redirect(reverse("offer-search") + f"?code={offer.code}")


@require_POST
@require_perm("outreach.redeem_offer")
def customer_offer_redeem(request, pk: int):
    """The small form on the customer page: type the code they show, redeem it (or check in and redeem)."""
    customer = get_customer_for_user(request.user, pk)
    form = OfferCodeForm(request.POST)
    if form.is_valid():
        offer = offers.find_by_code(form.cleaned_data["code"], offers.Offer.objects.filter(customer=customer))
        if offer is None:
            form.add_error("code", f"No offer of {customer.greeting_name}'s has the code {form.cleaned_data['code']}.")
        elif refused := _redeem(request, offer):
            form.add_error("code", refused)
        else:
            return redirect(reverse("customer-detail", args=[customer.pk]) + "#offers")
    return render(request, "outreach/offers/redeem_page.html", {"customer": customer, "form": form})
