"""A gesture idea: what the gesture form opens with when staff take up an idea.

The note reader proposes ideas from notes (a card after an illness, a gift card after a theft) and
the inbox carries ideas for dates (a handwritten birthday card). Taking one up opens the micro-CX
gesture form with these as GET parameters; the form reads them as initial values only, and caps
the amount at what the proposer may spend on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse


@dataclass(frozen=True)
class GestureIdea:
    text: str  # as staff see it: "A handwritten birthday card?"
    category: str  # a microcx Gesture.Category value
    amount: str  # suggested; the form caps it at the proposer's discretion
    description: str  # what the gesture form's description starts as

    def form_url(self, customer_id: int, *, note_id: int | None = None, follow_up_id: int | None = None) -> str:
        """Return the gesture form's address for this customer, prefilled with the idea."""
        return gesture_form_url(
            customer_id,
            category=self.category,
            amount=self.amount,
            description=self.description,
            note_id=note_id,
            follow_up_id=follow_up_id,
        )


def gesture_form_url(
    customer_id: int,
    *,
    category: str = "",
    amount: str = "",
    description: str = "",
    note_id: int | None = None,
    follow_up_id: int | None = None,
) -> str:
    params = {"category": category, "amount": amount, "description": description}
    if note_id:
        params["note"] = note_id
    elif follow_up_id:
        params["follow_up"] = follow_up_id
    query = urlencode({key: value for key, value in params.items() if value not in ("", None)})
    url = reverse("gesture-propose", args=[customer_id])
    return f"{url}?{query}" if query else url
