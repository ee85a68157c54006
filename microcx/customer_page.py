"""What microcx adds to the customer page: gestures received on the brief, and "propose a gesture"."""

from customers import page_cache, signals
from customers.extensions import Section, slots
from customers.models import Customer
from microcx.models import Gesture


def _gestures(customer, user) -> dict:
    received = (
        Gesture.objects.filter(customer=customer, status__in=[Gesture.Status.APPROVED, Gesture.Status.DELIVERED])
        .select_related("proposed_by")
        .order_by("-created_at")[:3]
    )
    return {"gestures_received": list(received), "can_propose": user.has_perm("microcx.add_gesture")}


def register() -> None:
    """Connect microcx to the customer page's slots and to the customers floor's events."""
    signals.customer_erasing.connect(_erase, sender=Customer, dispatch_uid="microcx.customer_erasing")
    signals.customer_exporting.connect(_export, sender=Customer, dispatch_uid="microcx.customer_exporting")
    page_cache.watch(Gesture)
    slots.register(
        "brief",
        Section(name="gestures", context=_gestures, template="microcx/_brief_gestures.html", shows_notes=False),
    )


def _erase(sender, customer, by, **kwargs) -> None:
    """Keep the erased customer's gestures as amounts (the ledger must balance); the words and receipts go.

    Gestures not yet given are cancelled, so no new words or receipts can be added, and money held
    for them goes back to the budget.
    """
    from microcx.services import gesture_cancel

    gestures = Gesture.objects.filter(customer=customer)
    for gesture in gestures.filter(status__in=[Gesture.Status.PENDING, Gesture.Status.APPROVED]).select_related(
        "budget"
    ):
        gesture_cancel(gesture=gesture, by=by)
    for gesture in gestures.exclude(receipt=""):
        gesture.receipt.delete(save=False)
    gestures.update(
        description="Erased",
        customer_reaction="",
        rejection_reason="",
        receipt="",
        flags=[],
        note=None,
        follow_up=None,
    )


def _export(sender, customer, **kwargs) -> dict:
    return {"gestures": _export_gestures(customer)}


def _export_gestures(customer) -> list[dict]:
    return [
        {
            "created_at": g.created_at.isoformat(),
            "category": g.get_category_display(),
            "description": g.description,
            "amount": str(g.amount),
            "status": g.get_status_display(),
            "location": g.location.name,
            "proposed_by": str(g.proposed_by),
            "delivered_on": g.delivered_on.isoformat() if g.delivered_on else None,
            "customer_reaction": g.customer_reaction,
        }
        for g in Gesture.objects.filter(customer=customer).select_related("location", "proposed_by").order_by("pk")
    ]
