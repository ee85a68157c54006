"""What offers and tracking add to other apps' pages: the customer's offers, the email touchpoint's rates."""

from __future__ import annotations

from customers import extensions, signals
from customers.models import Customer
from outreach import offers, tracking
from outreach.forms_offers import OfferCodeForm


def _offers(customer, user) -> dict:
    if not user.has_perm("outreach.redeem_offer"):
        return {"offers": []}
    return {"offers": offers.customer_offers(customer), "offer_form": OfferCodeForm()}


def _export(customer) -> list[dict]:
    return [
        {
            "code": offer.code,
            "kind": offer.get_kind_display(),
            "description": offer.description,
            "valid_until": offer.expires_on.isoformat(),
            "redeemed_at": offer.redeemed_at.isoformat() if offer.redeemed_at else None,
        }
        for offer in offers.Offer.objects.filter(customer=customer).order_by("created_at", "pk")
    ]


def _exporting(sender, customer, **kwargs) -> dict:
    return {"offers": _export(customer)}


def _codes_imported(sender, *, codes, **kwargs) -> dict:
    return offers.offers_redeem_imported(codes=codes)


def register() -> None:
    extensions.slots.register(
        "actions",
        extensions.Section(
            name="offers", context=_offers, template="outreach/offers/_customer_offers.html", shows_notes=False
        ),
    )
    signals.customer_exporting.connect(_exporting, sender=Customer, dispatch_uid="outreach.offers.customer_exporting")
    signals.offer_codes_imported.connect(
        _codes_imported, sender=Customer, dispatch_uid="outreach.offers.offer_codes_imported"
    )
    extensions.slots.register(
        "touchpoint_figures", extensions.TouchpointFigures(name="outreach.email", figures=tracking.measured_metrics)
    )
