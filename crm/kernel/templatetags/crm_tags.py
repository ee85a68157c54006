import datetime
from decimal import Decimal

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.timesince import timesince

from crm.kernel import business

register = template.Library()

# A number no page links to, reversed once per URL name to learn what goes either side of a pk.
_PK_SENTINEL = 987654321987654321
_pk_url_parts: dict[tuple, tuple[str, str]] = {}


@register.filter
def pk_url(pk: int, name: str) -> str:
    """The address of the URL `name` taking one integer (a pk): `{% url name pk %}` without resolving the
    URL patterns for every row of a long list. Each name is reversed once (per URL conf and script prefix)."""
    key = (name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    parts = _pk_url_parts.get(key)
    if parts is None:
        before, _, after = reverse(name, args=[_PK_SENTINEL]).partition(str(_PK_SENTINEL))
        parts = _pk_url_parts[key] = (before, after)
    return f"{parts[0]}{int(pk)}{parts[1]}"


SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


@register.filter
def thousands(number: int | None) -> str:
    """A count with thousands separators: 171,090."""
    return "" if number is None else f"{number:,}"


@register.filter
def percent_of(part: int | None, whole: int | None) -> str:
    """A whole percentage of the counts themselves, half up: 10 of 22 is 45 (not 46, as rounding an
    already rounded 45.5 again would say)."""
    if part is None or not whole:
        return ""
    return str((200 * part + whole) // (2 * whole))


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
