"""No IDOR: a frontline member of staff at location A opens nothing of location B by changing an id.

Every named URL that takes an id is walked with the ids of location B's objects, as a frontline
user of A only, with GET and with a POST that would change B's data if the check were missing;
each answer must be 404 or 403, and no row of the database may change. A URL with an id that is
neither probed here (PROBES) nor listed as business-wide (BUSINESS_WIDE, with the reason) fails
test_every_url_with_an_id_is_probed, so a new page must say how it is scoped.

The second half posts forms of A's own customers with B's ids in their fields (a location, a
user, a person, a note, a follow-up, a gesture's key): each is refused and nothing of B changes.
"""

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.inbox.models import Notification
from crm.kernel.models import ImportJob, Location, User
from customers.models import Customer, FollowUp, ImportantDate, Note, Person, Suggestion
from customers.services import follow_up_create, note_create
from journeys.models import CustomerPersona, Interaction, JourneyStep, Persona, Touchpoint
from journeys.services import interaction_record
from microcx.models import Budget, Gesture, LedgerEntry
from microcx.services import budget_create, ensure_default_rules, gesture_propose
from outreach.models import ContactPreference, Message
from outreach.offers import Offer
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory, ImportantDateFactory, PersonFactory
from tests.outreach.offer_helpers import sent_offer

pytestmark = pytest.mark.postgres

REFUSED = (403, 404)
# A GET on a POST-only URL is refused before anything is loaded: it reveals nothing either.
REFUSED_GET = (*REFUSED, 405)

# Objects without a location: one business per deployment, so they are the same for every member
# of staff; permissions (crm/kernel/roles.py, tests/test_role_matrix.py) decide who edits them.
BUSINESS_WIDE = {
    "touchpoint-detail": "the touchpoint catalogue (in store, phone, email...) is the business's, read by all staff",
    "touchpoint-edit": "the touchpoint catalogue is the business's; managers edit it",
    "persona-map": "personas and their designed journeys are the business's; the observed map shows only counts",
    "persona-edit": "personas are the business's; managers edit them",
    "step-create": "journey steps belong to a business-wide persona; managers add them",
    "step-edit": "journey steps belong to a business-wide persona; managers edit them",
    # Not ids but signed tokens, opened by the customer's mail client without a login; a forged or altered
    # token is a 404 and a click goes only to a link the message had (tests/outreach/test_tracking.py).
    "email-open": "a signed token in an email's tracking image, public by design",
    "email-click": "a signed token in an email's tracked link, public by design",
}


@dataclass
class World:
    location_a: Location
    location_b: Location
    frontline_a: User
    staff_b: User
    customer_a: Customer
    customer_ab: Customer  # known at both locations
    customer_b: Customer
    person_b: Person
    date_b: ImportantDate
    note_b: Note
    sensitive_note_b: Note
    suggestion_b: Suggestion  # from a note B's staff wrote
    own_suggestion_on_b: Suggestion  # from a note A's frontline wrote when they could still see the customer
    follow_up_b: FollowUp
    gesture_b: Gesture
    budget_b: Budget
    notification_b: Notification
    persona: Persona
    touchpoint: Touchpoint
    step: JourneyStep
    lockout: AccessAttempt
    manager_b: User
    offer_b: Offer
    message_b: Message
    card_b: Message
    import_job_b: ImportJob


@pytest.fixture
def world(location, other_location, frontline, settings, tmp_path):
    ensure_default_rules()
    settings.MEDIA_ROOT = tmp_path
    staff_b = UserFactory(role="frontline", username="bea", locations=[other_location])
    manager_b = UserFactory(role="manager", username="bruno", locations=[other_location])
    customer_a = CustomerFactory(first_name="Alma", home_location=location)
    customer_ab = CustomerFactory(first_name="Abe", home_location=location)
    customer_ab.locations.add(other_location)
    customer_b = CustomerFactory(
        first_name="Bella", last_name="Brun", home_location=other_location, consent_email_at=datetime.date(2026, 1, 1)
    )
    person_b = PersonFactory(customer=customer_b, name="Rex", relation="pet", species="dog")
    note_b = note_create(customer=customer_b, author=staff_b, text="Her dog Rex is sick")
    sensitive = note_create(customer=customer_b, author=staff_b, text="Her husband is in hospital", is_sensitive=True)
    own_note = note_create(customer=customer_b, author=frontline, text="His cat Tom is sick")
    touchpoint = Touchpoint.objects.get(slug="in-store")
    persona = Persona.objects.create(name="Busy parent")
    CustomerPersona.objects.create(customer=customer_b, persona=persona, assigned_by=staff_b)
    interaction_record(customer=customer_b, touchpoint=touchpoint, location=other_location, staff=staff_b)
    budget_b = budget_create(
        location=other_location, period="month", day=other_location.local_today(), amount=Decimal("200"), by=None
    )
    gesture_b, _ = gesture_propose(
        customer=customer_b,
        proposer=staff_b,
        location=other_location,
        category="flowers",
        description="Flowers while her husband is in hospital",
        amount=Decimal("60"),
        idempotency_key=uuid.uuid4(),
        confirmed_genuine=True,
    )
    (tmp_path / "receipts").mkdir()
    (tmp_path / "receipts" / "flowers.pdf").write_bytes(b"%PDF-1.4 flowers for Bella")
    Gesture.objects.filter(pk=gesture_b.pk).update(receipt="receipts/flowers.pdf")
    TOTPDevice.objects.create(user=manager_b, name="phone")
    return World(
        location_a=location,
        location_b=other_location,
        frontline_a=frontline,
        staff_b=staff_b,
        customer_a=customer_a,
        customer_ab=customer_ab,
        customer_b=customer_b,
        person_b=person_b,
        date_b=ImportantDateFactory(customer=customer_b, person=person_b),
        note_b=note_b,
        sensitive_note_b=sensitive,
        suggestion_b=note_b.suggestions.first(),
        own_suggestion_on_b=own_note.suggestions.first(),
        follow_up_b=follow_up_create(
            customer=customer_b,
            created_by=staff_b,
            prompt="Ask how Rex is feeling",
            due="on_date",
            due_date=other_location.local_today(),
            location=other_location,
            note=note_b,
        ),
        gesture_b=gesture_b,
        budget_b=budget_b,
        notification_b=Notification.objects.create(
            recipient=staff_b,
            kind="message",
            occurrence=other_location.local_today(),
            customer=customer_b,
            title="Ask Bella how Rex is",
        ),
        import_job_b=ImportJob.objects.create(
            token=uuid.uuid4(),
            created_by=manager_b,
            location=other_location,
            kind="customer_import",
            raw=b"first_name,email\nBella,bella@example.com\n",
            options={"location": other_location.pk, "locations": [other_location.pk]},
            state=ImportJob.State.CHECKED,
            rows_total=1,
        ),
        persona=persona,
        touchpoint=touchpoint,
        step=JourneyStep.objects.create(persona=persona, stage="during", touchpoint=touchpoint),
        lockout=AccessAttempt.objects.create(
            username="bea",
            ip_address="10.0.0.2",
            user_agent="test",
            http_accept="*/*",
            path_info="/accounts/login/",
            get_data="",
            post_data="",
            failures_since_start=9,
        ),
        manager_b=manager_b,
        offer_b=sent_offer(customer_b, location=other_location, sender=staff_b),
        message_b=_message(customer_b, staff_b, other_location, "email"),
        card_b=_message(customer_b, staff_b, other_location, "mail"),
    )


def _message(customer: Customer, sender: User, location: Location, channel: str) -> Message:
    return Message.objects.create(
        customer=customer,
        location=location,
        sender=sender,
        channel=channel,
        occasion="congratulations",
        subject="Congratulations",
        body="Dear Bella, congratulations!",
    )


def customer_form(w: World, customer: Customer, **changes) -> dict:
    data = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "home_location": customer.home_location_id,
        "tags_text": "",
        "referred_by_lookup": "",
        "consent_email": "on",
    }
    return {**data, **changes}


def gesture_form(w: World, **changes) -> dict:
    data = {
        "category": "card",
        "description": "A handwritten card for the new puppy",
        "amount": "0",
        "location": w.location_a.pk,
        "inspired_by": "",
        "genuine": "on",
        "idempotency_key": str(uuid.uuid4()),
    }
    return {**data, **changes}


def log_form(w: World, **changes) -> dict:
    data = {
        "kind": "visit",
        "touchpoint": w.touchpoint.pk,
        "location": w.location_a.pk,
        "summary": "Picked up new frames",
        "sentiment": "1",
        "note_text": "Planted note",
        "follow_up_prompt": "Planted follow-up",
        "follow_up_due": "next_visit",
    }
    return {**data, **changes}


@dataclass
class Probe:
    """One id of location B for a URL: its kwargs, and a POST that would change B's data if allowed."""

    kwargs: Callable[[World], dict]
    post: Callable[[World], dict] = lambda w: {}
    label: str = ""


DATE_FORM = {"kind": "birthday", "month": "1", "day": "2", "lead_days": "3"}


def customer_b(w: World) -> dict:
    return {"pk": w.customer_b.pk}


PROBES: dict[str, list[Probe]] = {
    # crm
    "location-edit": [
        Probe(
            lambda w: {"pk": w.location_b.pk},
            lambda w: {"name": "Taken", "address": "", "timezone": "UTC", "digest_time": "08:00", "is_active": "on"},
        )
    ],
    "notification-mark": [Probe(lambda w: {"pk": w.notification_b.pk}, lambda w: {"action": "done"})],
    # An import job is its creator's, and its location's managers' and owners'.
    "import-job": [Probe(lambda w: {"pk": w.import_job_b.pk})],
    "import-job-progress": [Probe(lambda w: {"pk": w.import_job_b.pk})],
    "import-job-confirm": [Probe(lambda w: {"pk": w.import_job_b.pk})],
    "import-job-cancel": [Probe(lambda w: {"pk": w.import_job_b.pk})],
    # Owner-only security records (a login lockout, a member of staff's authenticator): business-wide,
    # refused to frontline staff by permission whatever the id.
    "lockout-unlock": [Probe(lambda w: {"pk": w.lockout.pk})],
    "staff-two-factor-reset": [Probe(lambda w: {"pk": w.manager_b.pk})],
    "staff-edit": [Probe(lambda w: {"pk": w.manager_b.pk}, lambda w: {"username": "taken", "role": "owner"})],
    # customers
    "customer-detail": [Probe(customer_b)],
    "customer-edit": [Probe(customer_b, lambda w: customer_form(w, w.customer_b, first_name="Hacked"))],
    "customer-brief": [Probe(customer_b)],
    "customer-timeline": [Probe(customer_b)],
    # Everything held about a customer (a data-subject request) is for owners; frontline staff are refused.
    "customer-privacy": [Probe(customer_b)],
    "customer-privacy-json": [Probe(customer_b)],
    "customer-archive": [Probe(customer_b)],
    "customer-erase": [Probe(customer_b, lambda w: {"confirm_name": w.customer_b.full_name})],
    "person-create": [Probe(customer_b, lambda w: {"name": "Mallory", "relation": "friend"})],
    "person-edit": [Probe(lambda w: {"person_pk": w.person_b.pk}, lambda w: {"name": "Mallory", "relation": "friend"})],
    "person-delete": [Probe(lambda w: {"person_pk": w.person_b.pk})],
    "date-create": [Probe(customer_b, lambda w: DATE_FORM)],
    "date-edit": [Probe(lambda w: {"date_pk": w.date_b.pk}, lambda w: DATE_FORM)],
    "date-delete": [Probe(lambda w: {"date_pk": w.date_b.pk})],
    "note-create": [Probe(customer_b, lambda w: {"text": "Planted note"})],
    "note-edit": [
        Probe(lambda w: {"note_pk": w.note_b.pk}, lambda w: {"text": "Changed"}, "note"),
        Probe(lambda w: {"note_pk": w.sensitive_note_b.pk}, lambda w: {"text": "Changed"}, "sensitive note"),
    ],
    "note-history": [
        Probe(lambda w: {"note_pk": w.note_b.pk}, label="note"),
        Probe(lambda w: {"note_pk": w.sensitive_note_b.pk}, label="sensitive note"),
    ],
    "suggestion-accept": [
        Probe(lambda w: {"suggestion_pk": w.suggestion_b.pk}, label="B staff's"),
        Probe(lambda w: {"suggestion_pk": w.own_suggestion_on_b.pk}, label="own note on a B customer"),
    ],
    "suggestion-ignore": [
        Probe(lambda w: {"suggestion_pk": w.suggestion_b.pk}, label="B staff's"),
        Probe(lambda w: {"suggestion_pk": w.own_suggestion_on_b.pk}, label="own note on a B customer"),
    ],
    "follow-up-create": [Probe(customer_b, lambda w: {"prompt": "Planted", "due": "next_visit"})],
    "follow-up-done": [Probe(lambda w: {"follow_up_pk": w.follow_up_b.pk}, lambda w: {"outcome": "Planted outcome"})],
    "follow-up-take": [Probe(lambda w: {"follow_up_pk": w.follow_up_b.pk})],
    "follow-up-dismiss": [Probe(lambda w: {"follow_up_pk": w.follow_up_b.pk})],
    # journeys
    "interaction-log": [Probe(customer_b, log_form)],
    "customer-check-in": [Probe(customer_b)],
    "persona-assign": [Probe(customer_b, lambda w: {"persona": ""})],
    # micro-CX
    "gesture-propose": [Probe(customer_b, gesture_form)],
    "gesture-detail": [Probe(lambda w: {"pk": w.gesture_b.pk})],
    "gesture-receipt": [Probe(lambda w: {"pk": w.gesture_b.pk})],
    "gesture-approve": [Probe(lambda w: {"pk": w.gesture_b.pk})],
    "gesture-reject": [Probe(lambda w: {"pk": w.gesture_b.pk}, lambda w: {"reason": "No"})],
    "gesture-deliver": [Probe(lambda w: {"pk": w.gesture_b.pk}, lambda w: {"delivered_on": "2026-01-02"})],
    "gesture-cancel": [Probe(lambda w: {"pk": w.gesture_b.pk})],
    "budget-detail": [Probe(lambda w: {"pk": w.budget_b.pk}, lambda w: {"amount": "-150", "reason": "Taken"})],
    # offers
    "offer-redeem": [Probe(lambda w: {"pk": w.offer_b.pk}, lambda w: {"via": "check_in", "back": "customer"})],
    "customer-offer-redeem": [Probe(customer_b, lambda w: {"code": w.offer_b.code, "via": "check_in"})],
    # outreach
    "outreach-compose": [Probe(customer_b, lambda w: outreach_form(w))],
    "outreach-contact-preferences": [
        Probe(customer_b, lambda w: {"postal_address": "Planted", "do_not_contact": "on"})
    ],
    "outreach-message": [Probe(lambda w: {"pk": w.message_b.pk})],
    "outreach-message-stop": [Probe(lambda w: {"pk": w.message_b.pk})],
    "outreach-card-print": [Probe(lambda w: {"pk": w.card_b.pk})],
    "outreach-card-posted": [Probe(lambda w: {"pk": w.card_b.pk})],
    # The customer's own links carry a signed token, not an id: one signed for another purpose is refused.
    "outreach-unsubscribe": [Probe(lambda w: {"token": forged_token(w)})],
    "outreach-preferences": [Probe(lambda w: {"token": forged_token(w)}, lambda w: {"nothing": "on"})],
}


def outreach_form(w: World, **changes) -> dict:
    data = {
        "channel": "email",
        "occasion": "congratulations",
        "subject": "Hello",
        "body": "Planted message",
        "template_body": "",
        "idempotency_key": str(uuid.uuid4()),
        "send": "1",
    }
    return {**data, **changes}


def forged_token(w: World) -> str:
    from django.core import signing

    return signing.dumps({"c": w.customer_b.pk, "m": w.message_b.pk}, salt="outreach.other", compress=True)


# URL names outside this matrix: the Django admin is for superusers and has its own checks.
SKIPPED_NAMESPACES = {"admin"}


def urls_with_ids(resolver=None, namespace=None):
    """Yield the name of every URL whose path takes an id (any converter)."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace not in SKIPPED_NAMESPACES:
                yield from urls_with_ids(pattern, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name and pattern.pattern.converters:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def test_every_url_with_an_id_is_probed():
    with_ids = set(urls_with_ids())
    missing = with_ids - set(PROBES) - set(BUSINESS_WIDE)
    assert not missing, f"say how these URLs are scoped: add them to PROBES or BUSINESS_WIDE: {sorted(missing)}"
    assert not set(PROBES) & set(BUSINESS_WIDE)
    assert not (set(PROBES) | set(BUSINESS_WIDE)) - with_ids, "a probed URL no longer exists"


def database_state() -> dict:
    """Every row a request could change (last_login aside, which logging in sets)."""
    models = [
        Location,
        Customer,
        Customer.locations.through,
        Customer.tags.through,
        Person,
        ImportantDate,
        Note,
        Suggestion,
        FollowUp,
        Notification,
        Interaction,
        CustomerPersona,
        Gesture,
        Budget,
        LedgerEntry,
        AccessAttempt,
        TOTPDevice,
        Offer,
        Message,
        ContactPreference,
    ]
    state = {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}
    state["users"] = list(User.objects.order_by("pk").values("pk", "username", "is_active", "first_name"))
    return state


CASES = [
    pytest.param(name, index, method, id=f"{name}{'-' + probe.label if probe.label else ''}-{method}")
    for name, probes in PROBES.items()
    for index, probe in enumerate(probes)
    for method in ("get", "post")
]


@pytest.mark.parametrize(("name", "index", "method"), CASES)
def test_frontline_of_a_cannot_reach_location_b_by_id(client, world, name, index, method):
    probe = PROBES[name][index]
    url = reverse(name, kwargs=probe.kwargs(world))
    client.force_login(world.frontline_a)
    before = database_state()
    data = probe.post(world) if method == "post" else {}
    response = getattr(client, method)(url, data)
    refused = REFUSED_GET if method == "get" else REFUSED
    assert response.status_code in refused, f"{method.upper()} {url} answered {response.status_code}"
    assert database_state() == before, f"{method.upper()} {url} changed data"


# --- B's ids inside the forms of A's own customers ----------------------------------------------


@pytest.fixture
def fran(client, world):
    client.force_login(world.frontline_a)
    return client


def test_a_follow_up_cannot_be_raised_at_another_location(fran, world):
    url = reverse("follow-up-create", args=[world.customer_ab.pk])
    before = database_state()
    response = fran.post(url, {"prompt": "Ask about it", "due": "next_visit", "location": world.location_b.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert database_state() == before
    # the form only offers the user's own location, though the customer is known at both
    form = response.context["form"]
    assert list(form.fields["location"].queryset) == [world.location_a]
    assert world.staff_b not in form.fields["assignee"].queryset


def test_a_follow_up_cannot_be_assigned_to_staff_of_another_location(fran, world):
    url = reverse("follow-up-create", args=[world.customer_ab.pk])
    before = database_state()
    response = fran.post(
        url,
        {"prompt": "Ask about it", "due": "next_visit", "location": world.location_a.pk, "assignee": world.staff_b.pk},
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert database_state() == before


def test_a_gesture_cannot_spend_from_another_locations_budget(fran, world):
    url = reverse("gesture-propose", args=[world.customer_ab.pk])
    before = database_state()
    response = fran.post(url, gesture_form(world, location=world.location_b.pk))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert database_state() == before
    assert list(response.context["form"].fields["location"].queryset) == [world.location_a]


@pytest.mark.parametrize("inspired_by", ["note", "sensitive_note", "follow_up"])
def test_a_gesture_cannot_be_inspired_by_another_customers_note_or_follow_up(fran, world, inspired_by):
    value = {
        "note": f"note:{world.note_b.pk}",
        "sensitive_note": f"note:{world.sensitive_note_b.pk}",
        "follow_up": f"follow_up:{world.follow_up_b.pk}",
    }[inspired_by]
    before = database_state()
    response = fran.post(reverse("gesture-propose", args=[world.customer_a.pk]), gesture_form(world, inspired_by=value))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert database_state() == before


def test_a_gesture_form_resent_with_another_gestures_key_does_not_open_that_gesture(fran, world):
    before = database_state()
    response = fran.post(
        reverse("gesture-propose", args=[world.customer_a.pk]),
        gesture_form(world, idempotency_key=str(world.gesture_b.idempotency_key)),
    )
    assert response.status_code == 200
    assert "already used for another gesture" in response.content.decode()
    assert "Flowers while her husband" not in response.content.decode()
    assert database_state() == before


def test_a_date_cannot_name_another_customers_person(fran, world):
    before = database_state()
    response = fran.post(
        reverse("date-create", args=[world.customer_a.pk]),
        {"kind": "birthday", "month": "3", "day": "4", "lead_days": "3", "person": world.person_b.pk},
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert database_state() == before


def test_a_customer_cannot_be_homed_at_another_location(fran, world):
    before = database_state()
    response = fran.post(
        reverse("customer-create"),
        {"first_name": "Newt", "email": "newt@example.com", "home_location": world.location_b.pk},
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = fran.post(
        reverse("customer-edit", args=[world.customer_a.pk]),
        customer_form(world, world.customer_a, home_location=world.location_b.pk),
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert database_state() == before


def test_a_referrer_lookup_does_not_find_customers_of_another_location(fran, world):
    before = database_state()
    response = fran.post(
        reverse("customer-edit", args=[world.customer_a.pk]),
        customer_form(world, world.customer_a, referred_by_lookup=world.customer_b.email),
    )
    assert response.status_code == 200 and "No customer has that email or phone" in response.content.decode()
    assert database_state() == before


def test_a_referrer_at_another_location_is_kept_but_not_shown(fran, world):
    Customer.objects.filter(pk=world.customer_a.pk).update(referred_by=world.customer_b)
    page = fran.get(reverse("customer-edit", args=[world.customer_a.pk])).content.decode()
    assert world.customer_b.email not in page and world.customer_b.phone not in page
    assert "Referred by a customer of another location" in page
    response = fran.post(
        reverse("customer-edit", args=[world.customer_a.pk]), customer_form(world, world.customer_a, first_name="Alma")
    )
    assert response.status_code == 302
    world.customer_a.refresh_from_db()
    assert world.customer_a.referred_by_id == world.customer_b.pk


def test_a_conversation_cannot_be_logged_at_another_location(fran, world):
    before = database_state()
    response = fran.post(
        reverse("interaction-log", args=[world.customer_ab.pk]), log_form(world, location=world.location_b.pk)
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert database_state() == before


def test_a_frontline_user_cannot_set_or_see_another_locations_budget(fran, world):
    before = database_state()
    response = fran.post(
        reverse("budget-list"),
        {"location": world.location_b.pk, "period": "month", "day": "2026-11-22", "amount": "300"},
    )
    assert response.status_code == 403
    assert database_state() == before
    page = fran.get(reverse("budget-list")).content.decode()
    assert world.location_b.name not in page


def test_garbage_ids_in_forms_are_refused_without_an_error(client, world, owner):
    """Ids that are not numbers are a 404 or a form error, never a 500."""
    client.force_login(world.frontline_a)
    response = client.post(reverse("gesture-propose", args=[world.customer_a.pk]), gesture_form(world, location="x"))
    assert response.status_code == 200
    response = client.post(
        reverse("gesture-propose", args=[world.customer_a.pk]), gesture_form(world, inspired_by="note:abc")
    )
    assert response.status_code == 200
    client.force_login(owner)
    assert client.post(reverse("api-tokens"), {"revoke": "abc"}).status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "customer-detail",
        "customer-edit",
        "customer-brief",
        "customer-timeline",
        "person-edit",
        "date-edit",
        "note-edit",
        "note-history",
        "follow-up-done",
        "gesture-propose",
        "gesture-detail",
        "gesture-receipt",
        "budget-detail",
    ],
)
def test_the_probed_ids_are_real_pages_for_location_bs_own_staff(client, world, name):
    """The same ids open for B's frontline: the refusals above are access control, not missing objects."""
    client.force_login(world.staff_b)
    for probe in PROBES[name]:
        url = reverse(name, kwargs=probe.kwargs(world))
        # follow: the gesture form first redirects to its own address with its key (?form=...)
        assert client.get(url, follow=True).status_code == 200, url


def test_a_code_of_another_locations_offer_is_neither_found_nor_redeemed_from_an_own_customer(fran, world):
    before = database_state()
    code = world.offer_b.code
    found = fran.get(reverse("offer-search"), {"code": code})
    assert "No offer has the code" in found.content.decode() and world.offer_b.description not in found.content.decode()
    response = fran.post(reverse("customer-offer-redeem", args=[world.customer_a.pk]), {"code": code, "via": "till"})
    assert response.status_code == 200 and "No offer of Alma&#x27;s has the code" in response.content.decode()
    assert database_state() == before


def test_a_message_cannot_start_from_another_locations_follow_up_or_suggestion(fran, world):
    url = reverse("outreach-compose", args=[world.customer_a.pk])
    before = database_state()
    assert fran.get(url, {"source": "follow_up", "source_id": world.follow_up_b.pk}).status_code == 404
    assert fran.get(url, {"source": "suggestion", "source_id": world.suggestion_b.pk}).status_code == 404
    data = outreach_form(world, source="follow_up", source_id=world.follow_up_b.pk)
    assert fran.post(url, data).status_code == 404
    assert database_state() == before


def test_a_message_form_resent_with_another_messages_key_does_not_touch_that_message(fran, world):
    Customer.objects.filter(pk=world.customer_a.pk).update(consent_email_at=datetime.date(2026, 1, 1))
    before = database_state()
    response = fran.post(
        reverse("outreach-compose", args=[world.customer_a.pk]),
        outreach_form(world, idempotency_key=str(world.message_b.idempotency_key)),
    )
    assert response.status_code == 200
    assert "Dear Bella" not in response.content.decode()
    assert database_state() == before
