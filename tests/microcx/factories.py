import uuid
from decimal import Decimal

from microcx.services import gesture_propose


def propose_gesture(*, customer, proposer, location, amount="20", **fields):
    """Propose a gesture through the service, with test defaults; return the gesture."""
    fields.setdefault("category", "gift_card")
    fields.setdefault("description", f"Gift card {uuid.uuid4().hex[:6]}")
    fields.setdefault("confirmed_genuine", True)
    gesture, _ = gesture_propose(
        customer=customer,
        proposer=proposer,
        location=location,
        amount=Decimal(amount),
        idempotency_key=fields.pop("key", uuid.uuid4()),
        **fields,
    )
    return gesture
