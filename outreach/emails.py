"""The email a customer receives: both parts, the footer, the unsubscribe headers and signed links."""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from crm.kernel import business
from outreach import tracking
from outreach.models import Message

UNSUBSCRIBE_SALT = "outreach.unsubscribe"
PREFERENCES_SALT = "outreach.preferences"


def unsubscribe_token(message: Message) -> str:
    return signing.dumps({"c": message.customer_id, "m": message.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def preferences_token(customer_id: int) -> str:
    return signing.dumps({"c": customer_id}, salt=PREFERENCES_SALT, compress=True)


def read_token(token: str, *, salt: str) -> dict | None:
    """The signed value, or None when the link was altered (these links never expire)."""
    try:
        value = signing.loads(token, salt=salt)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("c"), int) else None


def unsubscribe_url(message: Message) -> str:
    return settings.SITE_URL + reverse("outreach-unsubscribe", args=[unsubscribe_token(message)])


def preferences_url(customer_id: int) -> str:
    return settings.SITE_URL + reverse("outreach-preferences", args=[preferences_token(customer_id)])


def message_id_for(message: Message) -> str:
    """The Message-ID, derived from the message's idempotency key: a resend would carry the same one."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{message.idempotency_key}@{domain}>"


def footer_context(message: Message) -> dict:
    found = business.current()
    return {
        "business_name": found.name,
        "postal_address": found.postal_address or message.location.address,
        "location": message.location,
        "unsubscribe_url": unsubscribe_url(message),
        "preferences_url": preferences_url(message.customer_id),
    }


def render_parts(message: Message, footer: dict | None = None) -> tuple[str, str]:
    """The plain text and the HTML of the message, as the customer will see them (footer: footer_context's)."""
    context = {"message": message, **(footer or footer_context(message))}
    text = render_to_string("outreach/email/message.txt", context)
    html = render_to_string("outreach/email/message.html", context)
    return text, tracking.instrument(message, html)


def build(message: Message) -> EmailMultiAlternatives:
    """The email for a message, ready for the backend (SMTP, anymail or the console)."""
    # One unsubscribe link in the body and the header: each signing carries the second it was made.
    footer = footer_context(message)
    text, html = render_parts(message, footer)
    unsubscribe = footer["unsubscribe_url"]
    from_name = business.current().name
    from_address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "crm@localhost"
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=text,
        from_email=f"{from_name} <{from_address}>",
        to=[message.customer.email],
        headers={
            "Message-ID": message_id_for(message),
            # RFC 8058: an HTTPS link the provider may POST "List-Unsubscribe=One-Click" to.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Entity-Ref-ID": str(message.idempotency_key),
        },
    )
    email.attach_alternative(html, "text/html")
    return email
