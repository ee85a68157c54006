"""Pages for reaching out: compose, preview, a card to print, today's cards, the customer's own links,
contact preferences and the contact limit. Views load, validate, call a service and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.kernel.access import require_perm
from crm.kernel.models import Location
from customers.access import get_customer_for_user
from customers.models import Customer
from outreach import emails, policy, selectors, services, texts
from outreach.access import get_message_for_user
from outreach.forms import ComposeForm, ContactPreferenceForm, OutreachSettingsForm, PreferencesForm
from outreach.forms_offers import OfferForm
from outreach.models import Message, Occasion, OutreachSettings


def _preview(customer: Customer, location: Location, user, data: dict) -> dict:
    """The message as the customer will see it (an unsaved message rendered with the real footer)."""
    message = Message(
        pk=0,
        customer=customer,
        location=location,
        sender=user,
        channel=data.get("channel") or Message.Channel.EMAIL,
        occasion=data.get("occasion") or Occasion.CONGRATULATIONS,
        subject=data.get("subject", ""),
        body=data.get("body", ""),
    )
    footer = emails.footer_context(message)
    return {"message": message, "business_name": footer["business_name"], "postal_address": footer["postal_address"]}


@require_perm("outreach.add_message")
def compose(request, pk: int):
    """Write to one customer from a template for the occasion; the sender edits it, previews it, sends it."""
    customer = get_customer_for_user(request.user, pk, for_page=True)
    start = selectors.compose_start(request.user, customer, request.GET, request.POST)
    posted = request.method == "POST"
    form = (
        ComposeForm(request.POST, previewing="preview" in request.POST)
        if posted
        else ComposeForm(initial=ComposeForm.initial_from(start))
    )
    offer_form = OfferForm(request.POST if posted else None, prefix="offer")
    preview = None
    if posted and form.is_valid() and offer_form.is_valid():
        if "preview" in request.POST:
            preview = _preview(customer, start.location, request.user, form.cleaned_data)
        elif message := form.send(
            customer=customer, sender=request.user, location=start.location, offer_form=offer_form
        ):
            messages.success(request, _sent_text(message, customer))
            return redirect("customer-detail", pk=customer.pk)
    context = {
        "customer": customer,
        "location": start.location,
        "form": form,
        "offer_form": offer_form,
        "channels": start.channels,
        "occasions": Occasion.choices,
        "occasion": start.occasion,
        "about": start.about,
        "merge_fields": texts.MERGE_FIELDS,
        "flags": form.flags,
        "preview": preview,
        "nothing_open": start.nothing_open,
        "unchanged": posted and form.unchanged,
    }
    return render(request, "outreach/compose.html", context)


def _sent_text(message: Message, customer: Customer) -> str:
    if message.channel == Message.Channel.EMAIL:
        return f"Your email to {customer.greeting_name} is on its way."
    return "The card is ready to print on today's cards."


@require_perm("outreach.add_message")
def message_detail(request, pk: int):
    """One message: what was sent, to whom, and where it is now."""
    message = get_message_for_user(request.user, pk)
    footer = emails.footer_context(message)
    preview = {"message": message, "business_name": footer["business_name"], "postal_address": footer["postal_address"]}
    return render(
        request, "outreach/message_detail.html", {"message": message, "customer": message.customer, "preview": preview}
    )


@require_perm("outreach.add_message")
@require_POST
def message_stop(request, pk: int):
    message = get_message_for_user(request.user, pk)
    if services.message_stop(message=message, by=request.user):
        messages.success(request, "Stopped: it will not be sent.")
    else:
        messages.error(request, "It already went (or was stopped before).")
    return redirect("outreach-message", pk=message.pk)


@require_perm("outreach.print_cards")
def card_print(request, pk: int):
    """One card, laid out for the printer."""
    message = get_message_for_user(request.user, pk)
    if message.channel != Message.Channel.MAIL:
        raise Http404("Not a card")
    message.address = policy.preference_of(message.customer).postal_address
    return render(request, "outreach/cards_print.html", {"cards": [message]})


@require_perm("outreach.print_cards")
def cards_today(request):
    """Today's cards: print them in one go, then mark each one posted."""
    cards = list(selectors.cards_to_print(request.user)[:200])
    for card in cards:
        card.address = policy.preference_of(card.customer).postal_address
    template = "outreach/cards_print.html" if request.GET.get("print") else "outreach/cards_today.html"
    return render(request, template, {"cards": cards})


@require_perm("outreach.print_cards")
@require_POST
def card_posted(request, pk: int):
    message = get_message_for_user(request.user, pk)
    verdict = services.card_mark_posted(message=message, by=request.user)
    if verdict:
        messages.success(request, f"Posted: the card to {message.customer.greeting_name} is on their timeline.")
    else:
        messages.error(request, f"Not posted: {verdict.reason}")
    return redirect("outreach-cards")


@require_perm("outreach.change_contactpreference")
def contact_preferences(request, pk: int):
    """Staff record the customer's postal address, marketing consent and "do not contact"."""
    customer = get_customer_for_user(request.user, pk)
    preference = policy.preference_of(customer)
    initial = {
        "postal_address": preference.postal_address,
        "marketing_consent": preference.marketing_consent_at is not None,
        "do_not_contact": preference.do_not_contact_at is not None,
        "do_not_contact_reason": preference.do_not_contact_reason,
    }
    form = ContactPreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_preference_save(customer=customer, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, "Contact preferences saved.")
            return redirect("customer-detail", pk=customer.pk)
    return render(request, "outreach/contact_preferences.html", {"customer": customer, "form": form})


@require_perm("outreach.change_outreachsettings")
def outreach_settings(request):
    """Owners set how many messages one customer may get in a period, across all staff."""
    form = OutreachSettingsForm(request.POST or None, instance=OutreachSettings.current())
    if request.method == "POST" and form.is_valid():
        services.outreach_settings_save(by=request.user, **form.cleaned_data)
        messages.success(request, "Contact limit saved.")
        return redirect("outreach-settings")
    return render(request, "outreach/settings.html", {"form": form})


def _customer_from(token: str, salt: str) -> tuple[dict, Customer]:
    value = emails.read_token(token, salt=salt)
    if value is None:
        raise Http404("This link is not valid")
    customer = Customer.objects.filter(pk=value["c"], erased_at__isnull=True).select_related("home_location").first()
    if customer is None:
        raise Http404("This link is not valid")
    return value, customer


@login_not_required
@csrf_exempt  # RFC 8058: mail providers POST "List-Unsubscribe=One-Click" without a form; the link is signed
@never_cache
def unsubscribe(request, token: str):
    """GET: ask to confirm. POST (the page's button or a provider's one-click): unsubscribe from email."""
    value, customer = _customer_from(token, emails.UNSUBSCRIBE_SALT)
    if request.method == "POST":
        services.customer_unsubscribe(customer_id=customer.pk, message_id=value.get("m"))
        return render(
            request, "outreach/public/unsubscribed.html", {"customer": customer, "preferences_token": _pref(customer)}
        )
    return render(request, "outreach/public/unsubscribe.html", {"customer": customer, "token": token})


def _pref(customer: Customer) -> str:
    return emails.preferences_token(customer.pk)


@login_not_required
@never_cache
def preferences(request, token: str):
    """The customer's own page (a signed link from any email): consent per channel, or nothing at all."""
    _value, customer = _customer_from(token, emails.PREFERENCES_SALT)
    preference = policy.preference_of(customer)
    initial = {
        "email": customer.consent_email_at is not None,
        "mail": customer.consent_mail_at is not None,
        "marketing": preference.marketing_consent_at is not None,
        "nothing": preference.do_not_contact_at is not None,
    }
    form = PreferencesForm(request.POST or None, initial=initial)
    saved = False
    if request.method == "POST" and form.is_valid():
        services.preferences_save(customer_id=customer.pk, **form.cleaned_data)
        saved = True
    return render(request, "outreach/public/preferences.html", {"customer": customer, "form": form, "saved": saved})
