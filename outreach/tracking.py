"""Open and click tracking of sent emails, which owners can switch off (Business settings).

`instrument` is the one hook the email renderer calls on the HTML body: it adds a 1x1 tracking image and
points each web link at a signed redirect. A click token names the message and the link's place in the
list of links the message had (kept in MessageTracking.links), never a URL, so the redirect can only go
where the message pointed: there is no open redirect, even for someone who could sign tokens.

Opens and clicks are counted once per message (a conditional UPDATE of `opened_at IS NULL`), and only for
a sent message (a preview never counts). The email touchpoint's monthly open and click rates are rolled
up from these rows by the month the emails were sent, and shown on the touchpoint's page beside the
figures typed in by hand.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from django.conf import settings
from django.core import signing
from django.db import models, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from crm.kernel import business
from outreach.models import Message

OPEN_SALT = "outreach.tracking.open"
CLICK_SALT = "outreach.tracking.click"
# The smallest transparent GIF there is (43 bytes).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
MAX_LINKS = 50
EMAIL_TOUCHPOINT = "email"
OPEN_RATE = "Email open rate (%), measured"
CLICK_RATE = "Email click rate (%), measured"


class MessageTracking(models.Model):
    """What was tracked of one email: the links it had, and when it was first opened and first clicked."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="tracking")
    links = models.JSONField(default=list, blank=True, help_text="The web links of the HTML part, in order.")
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Tracking of message {self.message_id}"


# --- tokens -----------------------------------------------------------------------------------------


def open_token(message_id: int) -> str:
    return signing.Signer(salt=OPEN_SALT).sign(str(message_id))


def click_token(message_id: int, index: int) -> str:
    return signing.Signer(salt=CLICK_SALT).sign(f"{message_id}.{index}")


def read_open_token(token: str) -> int | None:
    """The message id a tracking image names, or None for a token we did not sign."""
    try:
        value = signing.Signer(salt=OPEN_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def read_click_token(token: str) -> tuple[int, int] | None:
    """(message id, link number) of a tracked link, or None for a token we did not sign."""
    try:
        value = signing.Signer(salt=CLICK_SALT).unsign(token)
    except signing.BadSignature:
        return None
    message_id, _, index = value.partition(".")
    if not (message_id.isdigit() and index.isdigit()):
        return None
    return int(message_id), int(index)


def _is_web_link(url: str) -> bool:
    """An absolute http(s) link to somewhere else: our own pages (unsubscribe, preferences) stay as they are."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return parts.netloc.lower() != urlsplit(settings.SITE_URL).netloc.lower()


# --- the hook -----------------------------------------------------------------------------------------


def instrument(message: Message, html: str) -> str:
    """Return the HTML body of `message` ready to send: with tracked links and a tracking image.

    Unchanged when the owners switched tracking off, or for a message not saved yet (a preview).
    Calling it again for the same message (a retried send) gives the same tokens.
    """
    if not message.pk or not business.current().track_email:  # pk 0: the compose page's preview
        return html
    soup = BeautifulSoup(html, "html.parser")
    links: list[str] = []
    for anchor in soup.find_all("a", href=True):
        url = anchor["href"].strip()
        if not _is_web_link(url):
            continue
        if url not in links:
            if len(links) >= MAX_LINKS:
                continue
            links.append(url)
        anchor["href"] = settings.SITE_URL + reverse("email-click", args=[click_token(message.pk, links.index(url))])
    pixel = soup.new_tag(
        "img",
        src=settings.SITE_URL + reverse("email-open", args=[open_token(message.pk)]),
        width="1",
        height="1",
        alt="",
        border="0",
    )
    (soup.body or soup).append(pixel)
    MessageTracking.objects.update_or_create(message=message, defaults={"links": links})
    return str(soup)


# --- writes -------------------------------------------------------------------------------------------


def _counted(message_id: int) -> models.QuerySet[MessageTracking]:
    """The tracking row of a sent email, while the business counts opens and clicks."""
    if not business.current().track_email:
        return MessageTracking.objects.none()
    return MessageTracking.objects.filter(message_id=message_id, message__state=Message.State.SENT)


@transaction.atomic
def open_record(*, message_id: int) -> bool:
    """Count the first open of a sent email; True if this was it (later opens change nothing)."""
    now = timezone.now()
    return bool(_counted(message_id).filter(opened_at__isnull=True).update(opened_at=now))


@transaction.atomic
def click_record(*, message_id: int, index: int) -> str | None:
    """Count the first click of a sent email (a click is an open too); return the link's URL, or None for
    a link the message did not have."""
    tracking = MessageTracking.objects.filter(message_id=message_id).only("links").first()
    if tracking is None or not 0 <= index < len(tracking.links) or not _is_web_link(tracking.links[index]):
        return None
    now = timezone.now()
    counted = _counted(message_id)
    counted.filter(clicked_at__isnull=True).update(clicked_at=now)
    counted.filter(opened_at__isnull=True).update(opened_at=now)
    return tracking.links[index]


# --- the rollup ----------------------------------------------------------------------------------------


def monthly(start: datetime.date) -> dict[datetime.date, dict[str, int]]:
    """Per month (the business's time zone) from `start`: tracked emails sent, opened and clicked (one query)."""
    tz = timezone.get_current_timezone()
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    rows = (
        MessageTracking.objects.filter(
            message__state=Message.State.SENT, message__channel=Message.Channel.EMAIL, message__sent_at__gte=since
        )
        .annotate(month=TruncMonth("message__sent_at", tzinfo=tz))
        .values("month")
        .annotate(
            sent=Count("pk"),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
        .order_by("month")
    )
    return {
        _as_date(row["month"]): {"sent": row["sent"], "opened": row["opened"], "clicked": row["clicked"]}
        for row in rows
    }


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def measured_metrics(touchpoint, start: datetime.date) -> dict[str, dict[datetime.date, float | None]]:
    """The email touchpoint's measured open and click rates by month (the touchpoint page asks, through
    customers.extensions.slots.touchpoint_figures)."""
    if touchpoint.slug != EMAIL_TOUCHPOINT:
        return {}
    months = monthly(start)
    return {
        OPEN_RATE: {month: _rate(row["opened"], row["sent"]) for month, row in months.items()},
        CLICK_RATE: {month: _rate(row["clicked"], row["sent"]) for month, row in months.items()},
    }
