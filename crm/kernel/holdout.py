"""The hold-out: a small, random and stable share of customers that a rule-driven prompt leaves out.

Whether a customer is held out from a rule is decided by a hash of the rule and their id, so it is
the same every day, on every worker, and needs no stored draw; HOLD_OUT_PERCENT sets the share.
Held-out customers get nothing from that rule (no birthday prompt, not on the win-back list) and the
loyalty dashboard compares who came back on each side.
"""

from __future__ import annotations

import hashlib

from django.conf import settings


def percent() -> int:
    """The share of customers held out of each rule, in percent."""
    return settings.HOLD_OUT_PERCENT


def bucket(rule: str, customer_id: int) -> int:
    """A number from 0 to 99, the same for this rule and customer forever."""
    digest = hashlib.sha256(f"{rule}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def held_out(rule: str, customer_id: int) -> bool:
    """Whether this rule leaves this customer out."""
    return bucket(rule, customer_id) < percent()
