import datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from crm.kernel import business

register = template.Library()

SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


@register.filter
def thousands(number: int | None) -> str:
    """A count with thousands separators: 171,090."""
    return "" if number is None else f"{number:,}"


@register.filter
def money(amount: Decimal | str | None) -> str:
    """Show an amount in the business's currency: $20.00, €1,250.00, 300.00 CHF."""
    if amount is None or amount == "":
        return ""
    try:
        amount = Decimal(str(amount))  # snapshots keep amounts as strings
    except ArithmeticError:
        return str(amount)
    currency = business.current().currency
    symbol = SYMBOLS.get(currency)
    sign = "-" if amount < 0 else ""
    number = f"{abs(Decimal(amount)):,.2f}"
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


@register.filter
def ago(moment: datetime.datetime | None) -> str:
    """Say how long ago something happened: "just now", "3 days ago"."""
    if moment is None:
        return ""
    if timezone.now() - moment < datetime.timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, depth=1)} ago"


@register.filter
def notification_level(notification, today: datetime.date) -> str:
    return notification.level(today)


@register.filter
def count(number: int | None) -> str:
    """Write a count with thousands separators: 12500 -> "12,500"."""
    return f"{number or 0:,}"
