"""What outreach adds to the customer page: "write to them" on the brief, with what to write about.

Follow-ups and suggestions whose words point to an occasion (an engagement, an illness) get their
own "write" link, so the message starts from what staff heard.
"""

from __future__ import annotations

from customers import page_cache, signals
from customers.extensions import Section, slots
from customers.models import Customer, Suggestion
from customers.selectors import open_follow_ups_shown, open_suggestions_shown
from outreach import policy, selectors, services, texts
from outreach.models import Message, Occasion
from outreach.offers import Offer


def _write(customer, user) -> dict:
    can_write = user.has_perm("outreach.add_message")
    about = []
    if can_write:
        for follow_up in open_follow_ups_shown(customer, user)[:5]:
            if follow_up.shown_prompt == follow_up.prompt and texts.guess_occasion(follow_up.prompt):
                about.append(
                    {
                        "text": follow_up.prompt,
                        "source": Message.Source.FOLLOW_UP,
                        "id": follow_up.pk,
                        "occasion": texts.guess_occasion(follow_up.prompt),
                    }
                )
        # The newest five, from the list the page under the note form shows (one query for both).
        suggestions = open_suggestions_shown(customer, user)[::-1][:5]
        for suggestion in suggestions:
            if (
                suggestion.shown_summary == suggestion.summary
                and suggestion.kind in (Suggestion.Kind.FOLLOW_UP, Suggestion.Kind.GESTURE)
                and texts.guess_occasion(suggestion.summary)
            ):
                about.append(
                    {
                        "text": suggestion.summary,
                        "source": Message.Source.SUGGESTION,
                        "id": suggestion.pk,
                        "occasion": texts.guess_occasion(suggestion.summary),
                    }
                )
    return {
        "can_write": can_write,
        "occasions": Occasion.choices,
        "write_about": about[:3],
        "messages": selectors.recent_messages(customer),
    }


def register() -> None:
    """Connect outreach to the customer page's slots and to the customers floor's events."""
    signals.customer_erasing.connect(_erase, sender=Customer, dispatch_uid="outreach.customer_erasing")
    signals.customer_exporting.connect(_export, sender=Customer, dispatch_uid="outreach.customer_exporting")
    signals.address_suppression_asked.connect(
        _suppressed, sender=Customer, dispatch_uid="outreach.address_suppression_asked"
    )
    page_cache.watch(Message, across=False)  # on no page that shows many customers
    page_cache.watch(Offer, across=False)
    slots.register("brief", Section(name="outreach", context=_write, template="outreach/_brief_write.html"))


def _erase(sender, customer, by, **kwargs) -> None:
    services.customer_erased(customer, by)


def _suppressed(sender, addresses: list[str], **kwargs) -> set[str]:
    return policy.suppressed_among(addresses)


def _export(sender, customer, **kwargs) -> dict:
    return {"messages": _messages_export(customer)}


def _messages_export(customer) -> list[dict]:
    preference = policy.preference_of(customer)
    rows = [
        {
            "created_at": m.created_at.isoformat(),
            "channel": m.get_channel_display(),
            "subject": m.subject,
            "body": m.body,
            "state": m.get_state_display(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        }
        for m in customer.messages.order_by("pk")
    ]
    if preference.pk and (preference.postal_address or preference.marketing_consent_at or preference.do_not_contact_at):
        rows.append(
            {
                "postal_address": preference.postal_address,
                "marketing_consent_at": preference.marketing_consent_at.isoformat()
                if preference.marketing_consent_at
                else None,
                "do_not_contact_at": preference.do_not_contact_at.isoformat() if preference.do_not_contact_at else None,
            }
        )
    return rows
