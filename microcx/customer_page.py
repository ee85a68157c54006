"""What microcx adds to the customer page: gestures received on the brief, and "propose a gesture"."""

from customers import extensions
from microcx.models import Gesture


def _gestures(customer, user) -> dict:
    received = (
        Gesture.objects.filter(customer=customer, status__in=[Gesture.Status.APPROVED, Gesture.Status.DELIVERED])
        .select_related("proposed_by")
        .order_by("-created_at")[:3]
    )
    return {"gestures_received": list(received), "can_propose": user.has_perm("microcx.add_gesture")}


def register() -> None:
    extensions.register_brief_section(
        extensions.BriefSection(name="gestures", context=_gestures, template="microcx/_brief_gestures.html")
    )
