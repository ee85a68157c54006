"""Exports of customer data. Marketing exports carry consented channels only, never sensitive notes."""

import io
from collections.abc import Iterator

from django.db.models import OuterRef, Q, Subquery

from crm.kernel.csvfiles import SafeWriter
from crm.kernel.models import User
from customers.access import customers_for
from customers.models import Note

MARKETING_COLUMNS = [
    "first_name",
    "last_name",
    "preferred_name",
    "email",
    "phone",
    "postal_consent",
    "home_location",
    "tags",
    "customer_since",
    "last_visit",
    "latest_note",
]


def marketing_export_lines(user: User, chunk_size: int = 2000) -> Iterator[str]:
    """Yield the CSV, a line at a time, for customers with at least one consented channel."""
    # The file leaves the CRM for whoever does the marketing: ordinary notes only, whoever downloads it.
    latest_note = Note.objects.filter(customer=OuterRef("pk")).visible_to(None).order_by("-created_at")
    customers = (
        customers_for(user)
        .filter(archived_at__isnull=True)
        .filter(
            Q(consent_email_at__isnull=False) | Q(consent_phone_at__isnull=False) | Q(consent_mail_at__isnull=False)
        )
        .select_related("home_location")
        .prefetch_related("tags")
        .annotate(latest_note=Subquery(latest_note.values("text")[:1]))
        .order_by("pk")
    )
    buffer = io.StringIO()
    # Every cell is neutralised: a name, a tag or a note may start like a formula (CSV injection).
    writer = SafeWriter(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(MARKETING_COLUMNS)
    yield flush()
    for customer in customers.iterator(chunk_size=chunk_size):
        writer.writerow(
            [
                customer.first_name,
                customer.last_name,
                customer.preferred_name,
                customer.email if customer.consent_email_at else "",
                customer.phone if customer.consent_phone_at else "",
                "yes" if customer.consent_mail_at else "no",
                customer.home_location.name,
                ", ".join(tag.name for tag in customer.tags.all()),
                customer.customer_since.isoformat() if customer.customer_since else "",
                customer.last_visit_at.date().isoformat() if customer.last_visit_at else "",
                customer.latest_note or "",
            ]
        )
        yield flush()
