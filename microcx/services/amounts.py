"""Amounts in the business's currency: how many decimal places, and which amounts are refused."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from crm.kernel import business
from microcx.models import MAX_AMOUNT

CURRENCY_PLACES = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3}
ZERO = Decimal("0")


def currency_places() -> int:
    return CURRENCY_PLACES.get(business.current().currency, 2)


def clean_amount(amount: Decimal, *, allow_negative: bool = False) -> Decimal:
    """Refuse negative, absurd or over-precise amounts with a clear message."""
    if amount is None:
        raise ValidationError("Give an amount.")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValidationError("Give an amount such as 20 or 19.50.")
    if amount < 0 and not allow_negative:
        raise ValidationError("The amount cannot be negative.")
    if abs(amount) > MAX_AMOUNT:
        raise ValidationError(f"That is more than a micro-CX budget is for (at most {MAX_AMOUNT:,}).")
    places = currency_places()
    if -amount.as_tuple().exponent > places and amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(f"{business.current().currency} amounts have at most {places} decimal places.")
    return amount.quantize(Decimal(1).scaleb(-places)) if places else amount.quantize(Decimal(1))
