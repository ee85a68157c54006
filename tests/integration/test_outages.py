"""Outages: the web keeps serving and saving while Redis is down, and loses no acknowledged write
while PostgreSQL restarts under load.

Work a request asks for is never sent to the broker by the request: it is a due
row committed with the request (a follow-up's next_reminder_on, a date's
next_prompt_on), and beat's sweep turns due rows into tasks. That is the
outbox; the first test proves it with a stopped Redis, a real worker and beat.
The second runs the app under gunicorn against a PostgreSQL cluster of its own
and restarts that cluster while threads keep saving notes.
"""

import collections
import json
import threading
import time

import pytest
import requests
from django.urls import reverse

from crm.inbox.models import Notification, SweepRun
from customers.models import FollowUp, Note
from tests.crm.factories import TEST_PASSWORD
from tests.integration.servers import app_env, current_database_url, free_port, wait_for

WORKER = (
    "worker",
    "--concurrency=1",
    "--prefetch-multiplier=1",
    "--loglevel=INFO",
    "--without-mingle",
    "--without-gossip",
    "-n",
    "outage@%h",
)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_staff_save_notes_and_follow_ups_while_redis_is_down_and_the_reminder_arrives_once_it_returns(
    client, frontline, customer, location, private_redis, processes, monkeypatch, tmp_path
):
    # This process's web requests would use the private Redis, which is not running.
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)
    assert not private_redis.answers()
    today = location.local_today()

    response = client.post(reverse("login"), {"username": frontline.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, "the login failed"
    assert client.get(reverse("home")).status_code == 200
    response = client.post(reverse("note-create", args=[customer.pk]), {"text": "Her dog Rex is sick"})
    assert response.status_code == 302
    response = client.post(
        reverse("follow-up-create", args=[customer.pk]),
        {"prompt": "Ask how Rex is", "due": "on_date", "due_date": today.isoformat(), "location": location.pk},
    )
    assert response.status_code == 302
    assert Note.objects.filter(customer=customer).count() == 1
    follow_up = FollowUp.objects.get(customer=customer)
    assert follow_up.next_reminder_on == today  # the outbox row: due, waiting for a sweep

    health = client.get(reverse("healthz"))
    assert health.status_code == 200
    assert (health.json()["status"], health.json()["database"], health.json()["broker"]) == ("degraded", "ok", "down")

    # Redis returns; a real worker and beat deliver the reminder, once.
    private_redis.start()
    env = app_env(
        database_url=current_database_url(),
        broker_url=private_redis.url,
        REMINDER_SWEEP_SECONDS="1",
        CELERY_VISIBILITY_TIMEOUT="5",
    )
    processes.celery("worker", *WORKER, env=env)
    processes.celery("beat", "beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule"), env=env)
    try:
        wait_for(
            lambda: Notification.objects.filter(follow_up=follow_up).exists(), "the follow-up's reminder", timeout=40
        )
        # Two more whole sweeps after it: a repeat would show now.
        after = SweepRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first().started_at
        wait_for(
            lambda: SweepRun.objects.filter(started_at__gt=after, finished_at__isnull=False).count() >= 2,
            "two more sweeps",
            timeout=15,
        )
    except AssertionError:
        print(processes.log("worker")[-3000:], processes.log("beat")[-3000:])
        raise
    reminder = Notification.objects.get(follow_up=follow_up)
    assert (reminder.recipient, reminder.kind) == (frontline, Notification.Kind.FOLLOW_UP_DUE)
    follow_up.refresh_from_db()
    assert follow_up.reminders_sent == 1 and follow_up.next_reminder_on > today

    health = client.get(reverse("healthz")).json()
    assert (health["status"], health["broker"]) == ("ok", "ok")
    assert health["last_sweep"]["late"] is False


# --- PostgreSQL restarting under load -------------------------------------------------------

SEED = """
import json
from importlib import import_module
from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from tests.crm.factories import LocationFactory, UserFactory
from tests.customers.factories import CustomerFactory
location = LocationFactory(name="Downtown")
user = UserFactory(role="frontline", username="fran", locations=[location])
sessions = []
for _ in range({sessions}):
    # As the test client's force_login does: a signed-in session, as after the login form.
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    login(request, user, "crm.kernel.permissions.StaffModelBackend")
    request.session.save()
    sessions.append(request.session.session_key)
print(json.dumps({{"customer": CustomerFactory(home_location=location).pk, "sessions": sessions}}))
"""
NOTES = """
import json
from customers.models import Note
print(json.dumps(list(Note.objects.filter(customer_id={customer}).values_list("text", flat=True))))
"""


def shell_json(processes, script: str, env: dict[str, str]):
    """Run `script` in manage.py shell and read the JSON it prints last (the shell says other things first)."""
    return json.loads(processes.manage("shell", "-c", script, env=env).strip().splitlines()[-1])


class Browser:
    """One member of staff's signed-in browser. The cookies go by hand: with DEBUG off the app marks
    them Secure, and this test speaks plain HTTP to it. (Pages that render static files need
    collectstatic's manifest with DEBUG off, so the sessions are made in the shell, not by the login page.)"""

    CSRF = "resilience0test0csrf0secret00000"  # any 32 letters and digits: the cookie and header must match

    def __init__(self, base: str, session: str) -> None:
        self.base = base
        self.cookies = {"sessionid": session, "csrftoken": self.CSRF}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "X-CSRFToken": self.CSRF}
        response = requests.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=20, **kwargs
        )
        self.cookies.update({cookie.name: cookie.value for cookie in response.cookies if cookie.name != "csrftoken"})
        return response


@pytest.mark.postgres
def test_no_acknowledged_write_is_lost_while_postgresql_restarts_under_load(private_postgres, processes):
    started = time.monotonic()
    private_postgres.create_database("crm")
    env = app_env(database_url=private_postgres.url("crm"), broker_url="memory://")
    processes.manage("migrate", "--noinput", env=env)
    seeded = shell_json(processes, SEED.format(sessions=5), env)
    customer, sessions = seeded["customer"], seeded["sessions"]
    port = free_port()
    processes.start("web", ["-m", "gunicorn", "crm.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "30"], env)
    base = f"http://127.0.0.1:{port}"

    def web_answers() -> bool:
        try:
            return requests.get(base + reverse("healthz"), timeout=5).status_code == 200
        except requests.RequestException:
            return False

    wait_for(web_answers, "gunicorn to serve", timeout=30)
    ready = time.monotonic()
    note_url = reverse("note-create", args=[customer])
    acknowledged_to = reverse("customer-detail", args=[customer])

    # The database down: the health check says so, and pages are a friendly 503, not a 500.
    staff = Browser(base, sessions[4])
    private_postgres.stop("fast")
    health = requests.get(base + reverse("healthz"), timeout=5)
    assert health.status_code == 503 and health.json()["database"] == "down"
    page = staff.request("POST", note_url, data={"text": "written while the database was down"})
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "cannot reach its database" in page.text
    assert staff.request("GET", acknowledged_to).status_code == 503
    private_postgres.start()
    wait_for(web_answers, "the app to reconnect", timeout=15)

    # Four members of staff save notes while the database restarts, fast then immediate (a crash).
    outcomes: dict[str, str] = {}  # note text -> "ack", "503" or what else happened
    done_at: dict[str, float] = {}
    stop = threading.Event()

    def save_notes(n: int) -> None:
        browser = Browser(base, sessions[n])
        i = 0
        while not stop.is_set():
            text = f"load-{n}-{i}"
            i += 1
            try:
                response = browser.request("POST", note_url, data={"text": text})
            except requests.RequestException as error:
                outcomes[text] = f"no answer: {error!r}"
                continue
            done_at[text] = time.monotonic()
            if response.status_code == 302 and response.headers["Location"].startswith(acknowledged_to):
                outcomes[text] = "ack"
            elif response.status_code == 503:
                outcomes[text] = "503"
                time.sleep(0.05)
            else:
                outcomes[text] = f"{response.status_code} {response.headers.get('Location', '')}"

    threads = [threading.Thread(target=save_notes, args=(n,)) for n in range(4)]
    load_started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        private_postgres.restart("fast")
        time.sleep(2.5)
        private_postgres.restart("immediate")
        time.sleep(2.5)
        private_postgres.restart("fast")
        last_restart = time.monotonic()
        time.sleep(2.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    load = time.monotonic() - load_started

    tally = collections.Counter(outcome if outcome in ("ack", "503") else "other" for outcome in outcomes.values())
    print(f"outcomes under restarts: {dict(tally)}; app ready after {ready - started:.1f} s, load ran {load:.1f} s")
    others = {text: outcome for text, outcome in outcomes.items() if outcome not in ("ack", "503")}
    assert not others, f"every failed save must be a 503: {others}\n{processes.log('web')[-3000:]}"
    assert tally["503"] >= 1, "no request met a restart: the test proved nothing"
    assert tally["ack"] >= 20
    assert any(done_at[t] > last_restart for t, outcome in outcomes.items() if outcome == "ack"), (
        "no save succeeded after the last restart"
    )

    saved = collections.Counter(shell_json(processes, NOTES.format(customer=customer), env))
    lost = [text for text, outcome in outcomes.items() if outcome == "ack" and saved[text] != 1]
    assert not lost, f"acknowledged notes missing or doubled: {lost}"
    assert all(count == 1 for count in saved.values()), "a note was saved twice"
    assert set(saved) <= set(outcomes), "a note nobody sent, or the one sent while the database was down"
