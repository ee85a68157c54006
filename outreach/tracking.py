"""Open and click tracking of sent emails (the offers branch fills this in).

`instrument` is the one hook the email renderer calls on the HTML body.
"""

from __future__ import annotations


def instrument(message, html: str) -> str:
    """Return the HTML body of `message` ready to send (unchanged until tracking is added)."""
    return html
