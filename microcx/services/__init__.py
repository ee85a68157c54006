"""Writes for the micro-CX budget, split by sub-domain:

- amounts: the currency's decimal places and which amounts are refused;
- budgets: budgets and their append-only ledger, and the balances read from it;
- discretion: what each role may spend without asking, and the lock on one person's spending;
- gestures: a gesture proposed, approved, rejected, delivered or cancelled.

The names are re-exported here so `from microcx import services` and `services.gesture_approve`
keep working for the views, tasks and the many tests that use them.
"""

from microcx.services.amounts import CURRENCY_PLACES, ZERO, clean_amount, currency_places
from microcx.services.budgets import (
    Balance,
    balances,
    budget_adjust,
    budget_balance,
    budget_create,
    budget_for,
    budget_renew,
    budgets_to_renew,
)
from microcx.services.discretion import (
    DEFAULT_RULES,
    Discretion,
    discretion_for,
    discretion_rules_save,
    ensure_default_rules,
    month_spend,
    rule_for,
    spending_month,
    within_discretion,
)
from microcx.services.gestures import (
    NeedsConfirmation,
    can_approve,
    gesture_approve,
    gesture_cancel,
    gesture_deliver,
    gesture_for_form,
    gesture_propose,
    gesture_reject,
)

__all__ = [
    "CURRENCY_PLACES",
    "DEFAULT_RULES",
    "ZERO",
    "Balance",
    "Discretion",
    "NeedsConfirmation",
    "balances",
    "budget_adjust",
    "budget_balance",
    "budget_create",
    "budget_for",
    "budget_renew",
    "budgets_to_renew",
    "can_approve",
    "clean_amount",
    "currency_places",
    "discretion_for",
    "discretion_rules_save",
    "ensure_default_rules",
    "gesture_approve",
    "gesture_cancel",
    "gesture_deliver",
    "gesture_for_form",
    "gesture_propose",
    "gesture_reject",
    "month_spend",
    "rule_for",
    "spending_month",
    "within_discretion",
]
