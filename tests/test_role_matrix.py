"""Who may open which page: one row per URL, one column per role.

"login" means an anonymous visitor is redirected to the login page; 403 means
the role is refused. Every named URL of the project must have a row here
(test_every_url_is_in_the_matrix fails otherwise), so each new page says who
may use it.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

LOGIN = "login"
ROLES = ("anonymous", "frontline", "manager", "owner")


@dataclass
class Row:
    name: str
    anonymous: int | str
    frontline: int | str
    manager: int | str
    owner: int | str
    kwargs: Callable[[dict], dict] | None = None  # world -> URL kwargs
    method: str = "get"
    data: dict | Callable[[dict], dict] | None = None

    def expected(self, role: str) -> int | str:
        return getattr(self, role)


MATRIX = [
    Row("home", LOGIN, 200, 200, 200),
    Row("location-list", LOGIN, 403, 200, 200),
    Row("staff-list", LOGIN, 403, 403, 200),
    Row("staff-create", LOGIN, 403, 403, 200),
    Row("staff-edit", LOGIN, 403, 403, 200, kwargs=lambda w: {"pk": w["frontline"].pk}),
    Row("location-create", LOGIN, 403, 403, 200),
    Row("location-edit", LOGIN, 403, 403, 200, kwargs=lambda w: {"pk": w["location"].pk}),
    Row("login", 200, 302, 302, 302),
    Row("logout", LOGIN, 302, 302, 302, method="post"),
    Row("password_change", LOGIN, 200, 200, 200),
    Row("password_change_done", LOGIN, 200, 200, 200),
    Row("healthz", 200, 200, 200, 200),
    Row("inbox", LOGIN, 200, 200, 200),
    Row("inbox-badge", LOGIN, 200, 200, 200),
    # A notification belongs to its recipient (here the frontline user); others get a 404.
    Row(
        "notification-mark",
        LOGIN,
        302,
        404,
        404,
        kwargs=lambda w: {"pk": w["notification"].pk},
        method="post",
        data={"action": "read"},
    ),
    # An import job (made by the manager here): its creator's, and its location's managers' and owners'.
    Row("import-job", LOGIN, 404, 200, 200, kwargs=lambda w: {"pk": w["import_job"].pk}),
    Row("import-job-progress", LOGIN, 404, 200, 200, kwargs=lambda w: {"pk": w["import_job"].pk}),
    Row("import-job-confirm", LOGIN, 404, 302, 302, kwargs=lambda w: {"pk": w["import_job"].pk}, method="post"),
    Row("import-job-cancel", LOGIN, 404, 302, 302, kwargs=lambda w: {"pk": w["import_job"].pk}, method="post"),
    Row("profile", LOGIN, 200, 200, 200),
    # Two-factor: without a device the code page sends you on; managers and owners may set one up.
    Row("two-factor-verify", LOGIN, 302, 302, 302),
    Row("two-factor-setup", LOGIN, 403, 200, 200),
    Row("two-factor-remove", LOGIN, 403, 302, 302, method="post"),
    # Security and privacy: owners only.
    Row("security", LOGIN, 403, 403, 200),
    Row("business-settings", LOGIN, 403, 403, 200),
    # The first-run page exists only until an owner does (the world has one).
    Row("first-run", 404, 404, 404, 404),
    Row("lockout-unlock", LOGIN, 403, 403, 302, kwargs=lambda w: {"pk": w["lockout"].pk}, method="post"),
    Row("staff-two-factor-reset", LOGIN, 403, 403, 302, kwargs=lambda w: {"pk": w["frontline"].pk}, method="post"),
    Row("audit-log", LOGIN, 403, 403, 200),
    Row("customer-privacy", LOGIN, 403, 403, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("customer-privacy-json", LOGIN, 403, 403, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("operations", LOGIN, 403, 200, 200),
    Row("loyalty-dashboard", LOGIN, 403, 200, 200),
    Row("loyalty-customers", LOGIN, 403, 200, 200, data={"figure": "active"}),
    Row("loyalty-rule", LOGIN, 403, 403, 200),
    # customers
    Row("customer-list", LOGIN, 200, 200, 200),
    Row("customer-create", LOGIN, 200, 200, 200),
    Row("customer-import", LOGIN, 403, 200, 200),
    Row("customer-export", LOGIN, 403, 200, 200),
    Row("tag-list", LOGIN, 403, 200, 200),
    Row("customer-detail", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("customer-edit", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("customer-brief", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("customer-timeline", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("customer-archive", LOGIN, 403, 302, 302, kwargs=lambda w: {"pk": w["customer"].pk}, method="post"),
    Row("customer-erase", LOGIN, 403, 403, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("person-create", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("person-edit", LOGIN, 200, 200, 200, kwargs=lambda w: {"person_pk": w["person"].pk}),
    Row("person-delete", LOGIN, 302, 302, 302, kwargs=lambda w: {"person_pk": w["person"].pk}, method="post"),
    Row("date-create", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("date-edit", LOGIN, 200, 200, 200, kwargs=lambda w: {"date_pk": w["date"].pk}),
    Row("date-delete", LOGIN, 302, 302, 302, kwargs=lambda w: {"date_pk": w["date"].pk}, method="post"),
    Row("note-create", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}, method="post"),
    Row("note-edit", LOGIN, 200, 200, 200, kwargs=lambda w: {"note_pk": w["note"].pk}),
    Row("note-history", LOGIN, 200, 200, 200, kwargs=lambda w: {"note_pk": w["note"].pk}),
    # Suggestions belong to the note's author (here the frontline user); others do not see them.
    Row(
        "suggestion-accept", LOGIN, 302, 404, 404, kwargs=lambda w: {"suggestion_pk": w["suggestion"].pk}, method="post"
    ),
    Row(
        "suggestion-ignore", LOGIN, 302, 404, 404, kwargs=lambda w: {"suggestion_pk": w["suggestion"].pk}, method="post"
    ),
    Row("follow-up-create", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("follow-up-done", LOGIN, 200, 200, 200, kwargs=lambda w: {"follow_up_pk": w["follow_up"].pk}),
    Row("follow-up-take", LOGIN, 302, 302, 302, kwargs=lambda w: {"follow_up_pk": w["follow_up"].pk}, method="post"),
    Row("follow-up-dismiss", LOGIN, 302, 302, 302, kwargs=lambda w: {"follow_up_pk": w["follow_up"].pk}, method="post"),
    # journeys
    Row("interaction-log", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}, method="post"),
    Row("customer-check-in", LOGIN, 302, 302, 302, kwargs=lambda w: {"pk": w["customer"].pk}, method="post"),
    # journeys: frontline logs interactions, reads maps, assigns personas; managers edit and import
    Row(
        "persona-assign",
        LOGIN,
        302,
        302,
        302,
        kwargs=lambda w: {"pk": w["customer"].pk},
        method="post",
        data=lambda w: {"persona": w["persona"].pk},
    ),
    Row("touchpoint-list", LOGIN, 200, 200, 200),
    Row("touchpoint-create", LOGIN, 403, 200, 200),
    Row("touchpoint-detail", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["touchpoint"].pk}),
    Row("touchpoint-edit", LOGIN, 403, 200, 200, kwargs=lambda w: {"pk": w["touchpoint"].pk}),
    Row("metric-import", LOGIN, 403, 200, 200),
    Row("persona-list", LOGIN, 200, 200, 200),
    Row("persona-create", LOGIN, 403, 200, 200),
    Row("persona-map", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["persona"].pk}),
    Row("persona-edit", LOGIN, 403, 200, 200, kwargs=lambda w: {"pk": w["persona"].pk}),
    Row("step-create", LOGIN, 403, 200, 200, kwargs=lambda w: {"pk": w["persona"].pk}),
    Row("step-edit", LOGIN, 403, 200, 200, kwargs=lambda w: {"step_pk": w["step"].pk}),
    Row("interaction-import", LOGIN, 403, 200, 200),
    Row("api-tokens", LOGIN, 403, 200, 200),
    # The API takes tokens, not sessions: everyone without a token gets 401.
    Row("api-interactions", 401, 401, 401, 401, method="post"),
    Row("api-openapi", 200, 200, 200, 200),
    # micro-CX: frontline proposes and delivers; managers approve, set budgets and review; owners adjust and set rules
    Row("microcx", LOGIN, 200, 200, 200),
    # Opening the gesture form redirects to its address with a new key (?form=...), which then shows the form.
    Row("gesture-propose", LOGIN, 302, 302, 302, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("gesture-detail", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["gesture"].pk}),
    # The world's gesture has no receipt (404); tests/microcx/test_receipts.py downloads one.
    Row("gesture-receipt", LOGIN, 404, 404, 404, kwargs=lambda w: {"pk": w["gesture"].pk}),
    Row("gesture-approve", LOGIN, 403, 302, 302, kwargs=lambda w: {"pk": w["gesture"].pk}, method="post"),
    Row(
        "gesture-reject",
        LOGIN,
        403,
        302,
        302,
        kwargs=lambda w: {"pk": w["gesture"].pk},
        method="post",
        data={"reason": "Not this time"},
    ),
    Row("gesture-deliver", LOGIN, 302, 302, 302, kwargs=lambda w: {"pk": w["gesture"].pk}, method="post"),
    Row("gesture-cancel", LOGIN, 302, 302, 302, kwargs=lambda w: {"pk": w["gesture"].pk}, method="post"),
    Row("gesture-queue", LOGIN, 403, 200, 200),
    Row("budget-list", LOGIN, 200, 200, 200),
    Row(
        "budget-list",
        LOGIN,
        403,
        302,
        302,
        method="post",
        data=lambda w: {"location": w["other_location"].pk, "period": "month", "day": "2026-11-22", "amount": "300"},
    ),
    Row("budget-detail", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["budget"].pk}),
    Row(
        "budget-detail",
        LOGIN,
        403,
        403,
        302,
        kwargs=lambda w: {"pk": w["budget"].pk},
        method="post",
        data={"amount": "50", "reason": "Busy month"},
    ),
    Row("spend-report", LOGIN, 403, 200, 200),
    Row("spend-report-csv", LOGIN, 403, 200, 200),
    Row("monthly-review", LOGIN, 403, 200, 200),
    Row("discretion-rules", LOGIN, 403, 200, 200),
    Row(
        "discretion-rules",
        LOGIN,
        403,
        403,
        302,
        method="post",
        data={
            "frontline-per_gesture_limit": "30",
            "frontline-monthly_cap": "120",
            "manager-per_gesture_limit": "75",
            "manager-monthly_cap": "300",
            "owner-per_gesture_limit": "500",
            "owner-monthly_cap": "2000",
        },
    ),
    # offers at the till: every member of staff redeems (the world's offer is at the frontline user's location)
    Row("offer-search", LOGIN, 200, 200, 200, data=lambda w: {"code": w["offer"].code}),
    Row(
        "offer-redeem",
        LOGIN,
        302,
        302,
        302,
        kwargs=lambda w: {"pk": w["offer"].pk},
        method="post",
        data={"via": "till", "back": "customer"},
    ),
    Row(
        "customer-offer-redeem",
        LOGIN,
        302,
        302,
        302,
        kwargs=lambda w: {"pk": w["customer"].pk},
        method="post",
        data=lambda w: {"code": w["offer"].code, "via": "till"},
    ),
    # An email's tracking image and tracked link: no login, for anyone holding the signed token.
    Row("email-open", 200, 200, 200, 200, kwargs=lambda w: {"token": w["open_token"]}),
    Row("email-click", 302, 302, 302, 302, kwargs=lambda w: {"token": w["click_token"]}),
    # outreach: staff write and post cards; owners set the contact limit; the customer's own links need no login
    Row("outreach-compose", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("outreach-contact-preferences", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["customer"].pk}),
    Row("outreach-message", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["message"].pk}),
    Row("outreach-message-stop", LOGIN, 302, 302, 302, kwargs=lambda w: {"pk": w["message"].pk}, method="post"),
    Row("outreach-card-print", LOGIN, 200, 200, 200, kwargs=lambda w: {"pk": w["card"].pk}),
    Row("outreach-card-posted", LOGIN, 302, 302, 302, kwargs=lambda w: {"pk": w["card"].pk}, method="post"),
    Row("outreach-cards", LOGIN, 200, 200, 200),
    Row("outreach-settings", LOGIN, 403, 403, 200),
    Row("outreach-unsubscribe", 200, 200, 200, 200, kwargs=lambda w: {"token": w["unsubscribe_token"]}),
    Row("outreach-unsubscribe", 200, 200, 200, 200, kwargs=lambda w: {"token": w["unsubscribe_token"]}, method="post"),
    Row("outreach-preferences", 200, 200, 200, 200, kwargs=lambda w: {"token": w["preferences_token"]}),
]

# URL names outside the matrix: the Django admin is for superusers and has its own checks.
NOT_IN_MATRIX_NAMESPACES = {"admin"}


def _named_urls(resolver=None, namespace=None):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in NOT_IN_MATRIX_NAMESPACES:
                continue
            yield from _named_urls(pattern, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def test_every_url_is_in_the_matrix():
    missing = set(_named_urls()) - {row.name for row in MATRIX}
    assert not missing, f"add these URLs to the role matrix: {sorted(missing)}"


@pytest.fixture
def world(location, other_location, users_by_role, customer):
    from customers.services import note_create
    from tests.customers.factories import FollowUpFactory, ImportantDateFactory, PersonFactory

    note = note_create(customer=customer, author=users_by_role["frontline"], text="Her dog Rex is sick")
    from crm.inbox.models import Notification

    notification = Notification.objects.create(
        recipient=users_by_role["frontline"], kind="message", occurrence="2026-01-01", title="Hi"
    )
    from microcx.services import budget_create, gesture_propose

    budget = budget_create(
        location=location, period="month", day=location.local_today(), amount=Decimal("200"), by=None
    )
    gesture, _ = gesture_propose(
        customer=customer,
        proposer=users_by_role["frontline"],
        location=location,
        category="flowers",
        description="Flowers for the engagement",
        amount=Decimal("60"),
        idempotency_key=uuid.uuid4(),
    )
    from journeys.models import JourneyStep, Persona, Touchpoint

    touchpoint = Touchpoint.objects.get(slug="in-store")
    persona = Persona.objects.create(name="Busy parent")
    step = JourneyStep.objects.create(persona=persona, stage="during", touchpoint=touchpoint)
    from axes.models import AccessAttempt

    lockout = AccessAttempt.objects.create(
        username="someone", ip_address="203.0.113.9", user_agent="test", failures_since_start=9
    )
    from outreach import tracking
    from tests.outreach.offer_helpers import sent_offer

    offer = sent_offer(customer, sender=users_by_role["frontline"])
    tracking.instrument(offer.message, '<p><a href="https://example.com/trips">Trips</a></p>')
    from outreach import emails
    from outreach.models import Message

    def message(channel):
        return Message.objects.create(
            customer=customer,
            location=location,
            sender=users_by_role["frontline"],
            channel=channel,
            occasion="congratulations",
            subject="Congratulations",
            body="Dear Anna, congratulations!",
        )

    email, card = message("email"), message("mail")

    from crm.kernel.models import ImportJob

    import_job = ImportJob.objects.create(
        token=uuid.uuid4(),
        created_by=users_by_role["manager"],
        location=location,
        kind="customer_import",
        raw=b"first_name,email\nZoe,zoe@example.com\n",
        options={"location": location.pk, "locations": [location.pk]},
        state=ImportJob.State.CHECKED,
        rows_total=1,
    )
    return {
        "import_job": import_job,
        "offer": offer,
        "open_token": tracking.open_token(offer.message_id),
        "click_token": tracking.click_token(offer.message_id, 0),
        "message": email,
        "card": card,
        "unsubscribe_token": emails.unsubscribe_token(email),
        "preferences_token": emails.preferences_token(customer.pk),
        "lockout": lockout,
        "touchpoint": touchpoint,
        "persona": persona,
        "step": step,
        "budget": budget,
        "gesture": gesture,
        "other_location": other_location,
        "notification": notification,
        "location": location,
        **users_by_role,
        "customer": customer,
        "person": PersonFactory(customer=customer),
        "date": ImportantDateFactory(customer=customer),
        "note": note,
        "suggestion": note.suggestions.first(),
        "follow_up": FollowUpFactory(customer=customer),
    }


@pytest.mark.postgres
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_role_matrix(client, world, row, role):
    kwargs = row.kwargs(world) if row.kwargs else {}
    url = reverse(row.name, kwargs=kwargs)
    user = world[role]
    if user is not None:
        client.force_login(user)
    data = row.data(world) if callable(row.data) else row.data
    response = getattr(client, row.method)(url, data or {})
    expected = row.expected(role)
    if expected == LOGIN:
        assert response.status_code == 302, f"{role} {row.method.upper()} {url}"
        assert response.url.startswith(reverse("login")), response.url
    else:
        assert response.status_code == expected, f"{role} {row.method.upper()} {url}"


def test_admin_is_for_superusers_only(client, owner, django_user_model):
    client.force_login(owner)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response.url
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "x-very-long-password")
    client.force_login(admin)
    assert client.get(reverse("admin:index")).status_code == 200
