import datetime
import uuid

import pytest

from crm.kernel import business
from crm.kernel.models import BusinessSettings
from outreach import services
from outreach.models import ContactPreference, Message
from tests.customers.factories import CustomerFactory, PersonFactory

ADDRESS = "12 Harbour Street\nPortland, ME 04101"


@pytest.fixture
def shop(db):
    BusinessSettings.objects.filter(pk=1).update(postal_address="Rose & Co\n1 Market Square\nPortland, ME 04101")
    BusinessSettings.current()
    business.forget()


@pytest.fixture
def reachable(location, shop):
    """A customer who agreed to email and post, with a pet and a postal address."""
    customer = CustomerFactory(
        first_name="Anna",
        last_name="Kowalski",
        preferred_name="Annie",
        email="anna@example.com",
        home_location=location,
        consent_email_at=datetime.date(2026, 1, 5),
        consent_mail_at=datetime.date(2026, 1, 5),
    )
    PersonFactory(customer=customer, name="Rex", relation="pet", species="dog")
    ContactPreference.objects.create(customer=customer, postal_address=f"Anna Kowalski\n{ADDRESS}")
    return customer


def write(customer, sender, location, *, channel="email", body="Dear Annie, congratulations on the engagement!", **kw):
    """Compose through the service, as the form does."""
    draft = services.Draft(
        channel=channel,
        occasion=kw.pop("occasion", "congratulations"),
        subject=kw.pop("subject", "Congratulations, Annie!"),
        body=body,
        template_body=kw.pop("template_body", "Dear Annie,\n\nWe just heard your wonderful news."),
        idempotency_key=uuid.uuid4(),
        **kw,
    )
    return services.message_compose(customer=customer, sender=sender, location=location, draft=draft)


def compose_form(customer, **changes) -> dict:
    data = {
        "channel": "email",
        "occasion": "congratulations",
        "subject": "Congratulations, Annie!",
        "body": "Dear Annie,\n\nRex told us the news! Congratulations to you both.\n\nFran",
        "template_body": "Dear Annie,\n\nWe just heard your wonderful news.",
        "source": "brief",
        "source_id": "",
        "idempotency_key": str(uuid.uuid4()),
        "send": "1",
    }
    return {**data, **changes}


__all__ = ["ADDRESS", "Message", "compose_form", "write"]
