"""Thirty-two members of staff on real HTTP at once: discretion, budgets and forms hold under load.

gunicorn (three workers of four threads, DEBUG off) serves the test database; the staff are signed in
with sessions made here, as the login form would, and each runs a fixed list of operations (no time-based
loop): frontline staff propose (four of them from four devices at once, to race their own monthly cap),
double-click Propose, go Back and Propose again, resend a request and cancel; managers approve (sometimes
with a double click), reject and propose their own; owners and managers set month and quarter budgets for
the same periods at the same moment. Afterwards the database is read with SQL: no self-approved gesture took
anyone past their per-gesture limit or monthly cap, no budget went below zero at any point of the ledger,
no two budgets overlap, no form made two gestures, and no request answered 5xx.
"""

import collections
import random
import re
import threading
import time
from decimal import Decimal
from importlib import import_module

import pytest
import requests
from django.conf import settings
from django.contrib.auth import login
from django.db import connection
from django.http import HttpRequest

from crm.kernel import roles
from microcx import services
from microcx.models import DiscretionRule
from tests.crm.factories import LocationFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.integration.servers import app_env, current_database_url, free_port, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

GESTURE_URL = re.compile(r"/microcx/gestures/(\d+)/$")
APPROVE_ACTION = re.compile(r'action="/microcx/gestures/(\d+)/approve/"')
FORM_KEY = re.compile(r'name="idempotency_key" value="([0-9a-f-]{36})"')
FUTURE_PERIODS = ["2027-04-15", "2027-05-15", "2027-07-20"]  # a quarter (Apr-Jun) overlaps the first two months


def signed_in(user) -> str:
    """A session signed in as `user`, as the login form makes (the server shares this SECRET_KEY)."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    login(request, user, "crm.kernel.permissions.StaffModelBackend")
    request.session.save()
    return request.session.session_key


class Staff:
    """One signed-in browser. Cookies go by hand: with DEBUG off the app marks them Secure, and this is plain HTTP."""

    CSRF = "load0test0csrf0secret00000000000"  # 32 letters and digits: the cookie and the header match

    def __init__(self, base: str, user, log: list) -> None:
        self.base, self.user, self.log = base, user, log
        self.cookies = {"sessionid": signed_in(user), "csrftoken": self.CSRF}
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "X-CSRFToken": self.CSRF}
        response = self.http.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=60, **kwargs
        )
        self.http.cookies.clear()
        self.cookies.update({c.name: c.value for c in response.cookies if c.name != "csrftoken"})
        self.log.append((self.user.username, method, path, response.status_code))
        return response

    def get(self, path: str) -> requests.Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict) -> requests.Response:
        return self.request("POST", path, data=data)

    def follow(self, response: requests.Response) -> str:
        """The page a redirect leads to (where the messages are shown)."""
        assert response.status_code == 302, (response.status_code, response.text[-500:])
        return self.get(response.headers["Location"]).text


def at_once(*calls):
    """Run the calls in threads released together (a double click); return their results in order."""
    start = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        start.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


class Forms:
    """Every gesture form the clients opened: its key, its unique description, and where each submission went."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[str, list] = collections.defaultdict(list)  # description -> gesture ids answered
        self.errors: list[str] = []

    def answered(self, description: str, response: requests.Response) -> int | None:
        match = GESTURE_URL.search(response.headers.get("Location", "")) if response.status_code == 302 else None
        shown = 'data-testid="form-error"' in response.text or "invalid-feedback" in response.text
        if response.status_code == 200 and not shown:
            with self.lock:
                self.errors.append(f"{description}: the form came back with no message")
        with self.lock:
            self.sent[description].append(int(match.group(1)) if match else None)
        return int(match.group(1)) if match else None


def open_form(staff: Staff, customer_id: int) -> tuple[str, str]:
    opened = staff.get(f"/customers/{customer_id}/gestures/new/")
    assert opened.status_code == 302, opened.status_code
    url = opened.headers["Location"]
    page = staff.get(url)
    assert page.status_code == 200, page.status_code
    return url, FORM_KEY.search(page.text).group(1)


def gesture_data(location_id: int, key: str, amount: str, description: str) -> dict:
    return {
        "category": "gift_card",
        "description": description,
        "amount": amount,
        "location": location_id,
        "genuine": "on",
        "idempotency_key": key,
    }


def frontline_burst(staff: Staff, forms: Forms, customers: list[int], location_id: int, together: threading.Barrier):
    """One of four devices of the same person: the four press Propose at the same moment, twice.

    4 x $20, then 4 x $20 again, against a $100 cap: the second time only one of the four fits.
    """
    n = together.wait()  # a different number on each device
    for i in range(2):
        url, key = open_form(staff, customers[(n + i) % len(customers)])
        description = f"burst {staff.user.username} device {n} #{i}"
        data = gesture_data(location_id, key, "20", description)
        together.wait()
        forms.answered(description, staff.post(url, data))


def frontline_mixed(staff: Staff, forms: Forms, customers: list[int], location_id: int, rng: random.Random) -> None:
    mine: list[int] = []
    for i, action in enumerate(["double-click", "back", "resend", "cancel", "double-click"]):
        customer = customers[rng.randrange(len(customers))]
        if action == "cancel":
            if mine:
                gesture = rng.choice(mine)
                staff.post(f"/microcx/gestures/{gesture}/cancel/", {})
            continue
        url, key = open_form(staff, customer)
        description = f"{action} {staff.user.username} #{i}"
        data = gesture_data(location_id, key, rng.choice(["0", "10", "20", "25", "30", "60"]), description)
        if action == "double-click":
            first, second = at_once(lambda u=url, d=data: staff.post(u, d), lambda u=url, d=data: staff.post(u, d))
            made = [forms.answered(description, first), forms.answered(description, second)]
        else:
            made = [forms.answered(description, staff.post(url, data))]
            if action == "back" and made[0]:
                back = staff.get(url)  # Back: the same address, the same key
                assert 'data-testid="already-proposed"' in back.text
                made.append(forms.answered(description, staff.post(url, data)))
            elif action == "resend":
                made.append(forms.answered(description, staff.post(url, data)))
        mine += [m for m in made if m]


def manager_round(staff: Staff, forms: Forms, customers: list[int], location_id: int, rng: random.Random) -> None:
    for i in range(2):
        url, key = open_form(staff, customers[rng.randrange(len(customers))])
        description = f"own {staff.user.username} #{i}"
        amount = rng.choice(["50", "60", "75", "90"])
        forms.answered(description, staff.post(url, gesture_data(location_id, key, amount, description)))
    for _ in range(3):
        queue = staff.get("/microcx/queue/")
        assert queue.status_code == 200
        pending = APPROVE_ACTION.findall(queue.text)
        if not pending:
            time.sleep(0.05)  # the frontline have not sent anything yet; the round count bounds this
            continue
        gesture = rng.choice(pending)
        choice = rng.random()
        if choice < 0.25:
            path = f"/microcx/gestures/{gesture}/approve/"
            at_once(lambda p=path: staff.post(p, {"next": "queue"}), lambda p=path: staff.post(p, {"next": "queue"}))
        elif choice < 0.7:
            staff.post(f"/microcx/gestures/{gesture}/approve/", {"next": "queue"})
        elif choice < 0.9:
            staff.post(f"/microcx/gestures/{gesture}/reject/", {"reason": "Not this month", "next": "queue"})
        else:
            staff.post(f"/microcx/gestures/{gesture}/cancel/", {})


def set_budgets(staff: Staff, location_ids: list[int], rng: random.Random, refusals: list) -> None:
    for day in FUTURE_PERIODS:
        location = rng.choice(location_ids)
        period = rng.choice(["month", "quarter"])
        data = {"location": location, "period": period, "day": day, "amount": "150"}
        twice = at_once(*[lambda d=data: staff.post("/microcx/budgets/", d)] * 2)  # a double click
        for response in twice:
            if response.status_code == 200:
                refusals.append("already has a budget" in response.text)


def test_thirty_two_staff_at_once_never_pass_a_cap_a_budget_or_a_period(processes):
    started = time.monotonic()
    env = app_env(
        database_url=current_database_url(),
        broker_url="memory://",
        SECRET_KEY=settings.SECRET_KEY,  # the sessions made here are signed with it
        DJANGO_SETTINGS_MODULE="tests.integration.plain_static_settings",  # no collectstatic needed
    )
    services.ensure_default_rules()
    auckland = LocationFactory(name="Ponsonby", timezone="Pacific/Auckland")
    los_angeles = LocationFactory(name="Silver Lake", timezone="America/Los_Angeles")
    # Where the four racing their own cap work: a budget they cannot use up, so it is their cap that stops them.
    queenstown = LocationFactory(name="Queenstown", timezone="Pacific/Auckland")
    shops = [auckland, los_angeles]
    for shop in shops:
        # Less than everyone together would spend: the budgets run out too.
        services.budget_create(location=shop, period="month", day=shop.local_today(), amount=Decimal("350"), by=None)
    services.budget_create(
        location=queenstown, period="month", day=queenstown.local_today(), amount=Decimal("1000"), by=None
    )
    customers = {shop.pk: [CustomerFactory(home_location=shop).pk for _ in range(8)] for shop in [*shops, queenstown]}
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    log: list = []
    forms = Forms()
    refusals: list[bool] = []
    jobs = []
    for _person in range(4):  # four people with four devices each: their own proposals race their cap
        user = UserFactory(role="frontline", locations=[queenstown])
        together = threading.Barrier(4, timeout=120)
        for _device in range(4):
            staff = Staff(base, user, log)
            jobs.append(
                lambda s=staff, c=customers[queenstown.pk], b=together: frontline_burst(s, forms, c, queenstown.pk, b)
            )
    for n, shop in enumerate(shops):
        for person in range(3):
            staff = Staff(base, UserFactory(role="frontline", locations=[shop]), log)
            rng = random.Random(f"frontline-{n}-{person}")
            jobs.append(lambda s=staff, c=customers[shop.pk], loc=shop.pk, r=rng: frontline_mixed(s, forms, c, loc, r))
        for person in range(3):
            staff = Staff(base, UserFactory(role="manager", locations=[shop]), log)
            rng = random.Random(f"manager-{n}-{person}")
            jobs.append(lambda s=staff, c=customers[shop.pk], loc=shop.pk, r=rng: manager_round(s, forms, c, loc, r))
    for person in range(4):
        staff = Staff(base, UserFactory(role="owner", locations=shops), log)
        rng = random.Random(f"owner-{person}")
        jobs.append(lambda s=staff, r=rng: set_budgets(s, [shop.pk for shop in shops], r, refusals))
    assert len(jobs) >= 30

    gunicorn = ["-m", "gunicorn", "crm.wsgi", "-w", "3", "--threads", "4", "-b", f"127.0.0.1:{port}", "--timeout", "90"]
    processes.start("web", gunicorn, env)

    def web_answers() -> bool:
        try:
            return requests.get(base + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    wait_for(web_answers, "gunicorn to serve", timeout=60)
    ready = time.monotonic()
    failures: list[str] = []

    def run(job):
        try:
            job()
        except Exception as error:  # noqa: BLE001 - reported below with the others
            failures.append(repr(error))

    at_once(*[lambda j=job: run(j) for job in jobs])
    load = time.monotonic() - ready
    statuses = collections.Counter(status for *_, status in log)
    print(f"{len(log)} requests in {load:.1f} s ({dict(statuses)}); server ready after {ready - started:.1f} s")

    assert not failures, failures
    server_errors = [entry for entry in log if entry[3] >= 500]
    assert not server_errors, f"{server_errors[:10]}\n{processes.log('web')[-3000:]}"
    assert not forms.errors, forms.errors

    # A form, however often it was sent, made at most one gesture, and every answer pointed to it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT description, count(*) FROM microcx_gesture GROUP BY description HAVING count(*) > 1")
        assert cursor.fetchall() == []
    for description, answers in forms.sent.items():
        assert len({a for a in answers if a is not None}) <= 1, (description, answers)

    # No budget was ever below zero, at any point of the ledger's order.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT budget_id, min(running) FROM (
                SELECT budget_id, sum(CASE kind WHEN 'hold' THEN -amount WHEN 'spend' THEN 0 ELSE amount END)
                    OVER (PARTITION BY budget_id ORDER BY id) AS running
                FROM microcx_ledgerentry
            ) replay GROUP BY budget_id HAVING min(running) < 0
            """
        )
        assert cursor.fetchall() == []

    # No two budgets of a location share a day.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, b.id FROM microcx_budget a JOIN microcx_budget b
              ON a.location_id = b.location_id AND a.id < b.id
             AND daterange(a.starts_on, a.ends_on, '[]') && daterange(b.starts_on, b.ends_on, '[]')
            """
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM microcx_budget")
        budgets = cursor.fetchone()[0]

    # Replay each person's month in ledger order: every gesture they approved themselves was within their
    # per-gesture limit, and within their monthly cap counting all their approved gestures before it.
    rules = {rule.role: rule for rule in DiscretionRule.objects.all()}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.kind, e.amount, g.proposed_by_id, g.month, g.decided_by_id
              FROM microcx_ledgerentry e JOIN microcx_gesture g ON g.id = e.gesture_id
             WHERE e.kind IN ('hold', 'release') ORDER BY e.id
            """
        )
        entries = cursor.fetchall()
    from crm.kernel.models import User

    role = {user.pk: roles.role_of(user) for user in User.objects.all()}
    running: dict = collections.defaultdict(Decimal)
    self_approved = 0
    capped_people = set()
    for kind, amount, proposer, month, decided_by in entries:
        running[proposer, month] += amount if kind == "hold" else -amount
        if kind == "hold" and decided_by == proposer and role[proposer] != roles.OWNER:
            rule = rules[role[proposer]]
            self_approved += 1
            assert amount <= rule.per_gesture_limit, (proposer, month, amount)
            assert running[proposer, month] <= rule.monthly_cap, (proposer, month, running[proposer, month])
            if running[proposer, month] == rule.monthly_cap:
                capped_people.add(proposer)

    # The run proved something: caps were reached, budgets contended, managers decided, forms were resent.
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, count(*) FROM microcx_gesture GROUP BY status")
        by_status = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM microcx_gesture WHERE approval_reason LIKE '%% of their %% this month%%'")
        over_cap = cursor.fetchone()[0]
    print(f"gestures by status {by_status}; {self_approved} self-approved; {budgets} budgets; {over_cap} over a cap")
    # Every budget the gestures went into (which of a month and a quarter budget set at once won is the race's).
    from microcx.models import Budget

    spent_into = Budget.objects.filter(location__in=shops, gestures__isnull=False).distinct()
    left = [services.budget_balance(budget).available for budget in spent_into]
    print(f"left in the budgets spent from: {left}")
    # Each of the four racing their cap: 4 x $20 at once, then 4 x $20 at once again, of which one fits.
    assert len(capped_people) >= 4 and over_cap >= 12, "the racing proposals never met a cap: it proved little"
    assert min(left) < 75, "no budget came near zero: the never-below-zero check proved little"
    assert by_status.get("approved", 0) > 10 and by_status.get("pending", 0) > 0
    assert by_status.get("rejected", 0) + by_status.get("cancelled", 0) > 0
    assert refusals and all(refusals), "a budget set twice came back without its message"
    assert budgets > len(shops)
    assert any(len(answers) > 1 for answers in forms.sent.values())
