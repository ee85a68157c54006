"""Which customer a row of an import means: one matcher for every import.

A row names its customer by external id (the till's own), email or phone. They are compared normalised
(email in lower case, phone in international E.164 form, the id stripped), in that order of trust: an
external id beats an email, an email beats a phone. A batch of rows is matched in one query, each
condition served by its own index (external id, lower(email), phone); erased customers never match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from crm.kernel.bulk import fetch_later
from customers.models import Customer
from customers.services import normalise_phone


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


@dataclass(frozen=True, slots=True)
class CustomerKeys:
    """What a row says about its customer, normalised; phones in the order to try them."""

    external_id: str = ""
    email: str = ""
    phones: tuple[str, ...] = ()

    @classmethod
    def of(cls, *, external_id: str = "", email: str = "", phones: Iterable[str] = ()) -> CustomerKeys:
        """Normalise what a row says (raises ValidationError for a phone that is not one)."""
        return cls(
            external_id=(external_id or "").strip(),
            email=normalise_email(email),
            phones=tuple(dict.fromkeys(p for p in (normalise_phone(phone) for phone in phones) if p)),
        )

    def __bool__(self) -> bool:
        return bool(self.external_id or self.email or self.phones)

    @property
    def key(self) -> tuple[str, str]:
        """The one identity of a customer not met yet, so rows naming them the same way create them once."""
        if self.external_id:
            return ("external_id", self.external_id)
        if self.email:
            return ("email", self.email)
        return ("phone", self.phones[0] if self.phones else "")


def match_customers(keys: list[CustomerKeys]) -> list[int | None]:
    """Return, for each row's keys, the id of the customer they name (or None): one query for the batch."""
    return match_customers_later(keys)()


def match_customers_later(keys: list[CustomerKeys]) -> Callable[[], list[int | None]]:
    """match_customers in two steps: the query is sent now, and the function returned reads its answer.

    In psycopg's pipeline mode (crm.kernel.imports reads the next batch of a file meanwhile) PostgreSQL
    runs the query while this process goes on; otherwise the query runs here and now."""
    ids = {k.external_id for k in keys if k.external_id}
    emails = {k.email for k in keys if k.email}
    phones = {phone for k in keys for phone in k.phones}
    if not (ids or emails or phones):
        return lambda: [None] * len(keys)
    # Three arrays, not three lists of thousands of placeholders: PostgreSQL plans it once, fast,
    # as a BitmapOr of the three indexes.
    found_later = fetch_later(
        f"SELECT id, external_id, email, phone FROM {Customer._meta.db_table} "  # noqa: S608 - our table
        "WHERE erased_at IS NULL AND (external_id = ANY(%s) OR lower(email) = ANY(%s) OR phone = ANY(%s)) "
        "ORDER BY id",
        [sorted(ids), sorted(emails), sorted(phones)],
    )

    def answer() -> list[int | None]:
        found = found_later()
        by_id: dict[str, int] = {}
        by_email: dict[str, int] = {}
        by_phone: dict[str, int] = {}
        for pk, external_id, email, phone in found:
            # The oldest customer wins when two share an email or phone.
            if external_id:
                by_id.setdefault(external_id, pk)
            if email:
                by_email.setdefault(email.lower(), pk)
            if phone:
                by_phone.setdefault(phone, pk)
        return [
            by_id.get(k.external_id)
            or by_email.get(k.email)
            or next((by_phone[phone] for phone in k.phones if phone in by_phone), None)
            for k in keys
        ]

    return answer
