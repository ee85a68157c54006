"""Scale out: two web processes (gunicorn, each in a working directory and scratch folder of its own, as on
two machines) serve one member of staff in turn, and a real Celery worker runs a big import to the end.

An import previewed on one web process is confirmed on the other: the file waits in PostgreSQL, the
session is in PostgreSQL, the cache is shared. A file over IMPORT_BACKGROUND_ROWS is checked and
imported by the worker while either web process shows its progress; the result lands in the inbox.
"""

import re
from importlib import import_module

import pytest
import requests
from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.urls import reverse

from crm.inbox.models import Notification
from crm.kernel.models import ImportJob
from customers.models import Customer
from tests.integration.servers import ROOT, app_env, current_database_url, free_port, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BACKGROUND_ROWS = 50


def customers_csv(count: int, start: int = 0) -> bytes:
    lines = ["first name,last name,email,location"]
    lines += [f"Ann{n},Lee,ann{n}@example.com,Downtown" for n in range(start, start + count)]
    return ("\n".join(lines) + "\n").encode()


def signed_in_session(user) -> str:
    """A signed-in session in the database, as after the login form (sessions are shared by every web process)."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    login(request, user, "crm.kernel.permissions.StaffModelBackend")
    request.session.save()
    return request.session.session_key


class Browser:
    """One member of staff's browser, sending its cookies by hand (DEBUG off marks them Secure; this is plain HTTP)."""

    CSRF = "scaleout0test0csrf0secret0000000"  # any 32 letters and digits: the cookie and header must match

    def __init__(self, session: str) -> None:
        self.cookies = {"sessionid": session, "csrftoken": self.CSRF}

    def request(self, base: str, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "X-CSRFToken": self.CSRF}
        headers.update(kwargs.pop("headers", {}))
        response = requests.request(method, base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs)
        self.cookies.update({c.name: c.value for c in response.cookies if c.name != "csrftoken"})
        return response


@pytest.fixture
def web(tmp_path, processes, private_redis):
    """Start gunicorn processes, each in its own working directory with its own VAR_DIR; return their base URLs."""
    private_redis.start()

    def start(name: str, **extra: str) -> str:
        workdir = tmp_path / name
        (workdir / "var").mkdir(parents=True)
        port = free_port()
        env = app_env(
            database_url=current_database_url(),
            broker_url=private_redis.url,
            DJANGO_SETTINGS_MODULE="tests.integration.plain_static_settings",  # no collectstatic needed
            PYTHONPATH=str(ROOT),
            VAR_DIR=str(workdir / "var"),
            IMPORT_BACKGROUND_ROWS=str(BACKGROUND_ROWS),
            # This process's key: the sessions it signs in are checked against it (and every machine shares one).
            SECRET_KEY=settings.SECRET_KEY,
            **extra,
        )
        args = ["-m", "gunicorn", "crm.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}", "--timeout", "60"]
        processes.start(name, args, env, cwd=workdir)
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return requests.get(base + reverse("healthz"), timeout=5).status_code in (200, 503)
            except requests.RequestException:
                return False

        wait_for(answers, f"{name} to serve", timeout=60)
        return base

    def worker(name: str = "worker", **extra: str) -> None:
        workdir = tmp_path / name
        (workdir / "var").mkdir(parents=True)
        env = app_env(
            database_url=current_database_url(),
            broker_url=private_redis.url,
            PYTHONPATH=str(ROOT),
            VAR_DIR=str(workdir / "var"),
            **extra,
        )
        args = ["-m", "celery", "-A", "crm", "worker", "--concurrency=1", "--loglevel=INFO"]
        processes.start(name, [*args, "--without-mingle", "--without-gossip", "-n", f"{name}@%h"], env, cwd=workdir)

    return {"start": start, "worker": worker, "processes": processes}


def token_in(html: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def test_a_preview_on_one_web_process_is_confirmed_on_another(web, manager, owner, location, tmp_path):
    a, b = web["start"]("web-a"), web["start"]("web-b")
    staff = Browser(signed_in_session(manager))

    preview = staff.request(
        a, "POST", reverse("customer-import"), files={"file": ("customers.csv", customers_csv(3), "text/csv")}
    )
    assert preview.status_code == 200, (preview.headers.get("Location"), preview.text[-2000:])
    token = token_in(preview.text)

    confirmed = staff.request(b, "POST", reverse("customer-import"), data={"confirm": "1", "token": token})
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == reverse("customer-list")
    assert Customer.objects.count() == 3
    job = ImportJob.objects.get(token=token)
    assert not job.is_open and bytes(job.raw) == b""
    # Neither machine kept the file on its disk.
    for name in ("web-a", "web-b"):
        assert not any(p.is_file() and b"ann0@example.com" in p.read_bytes() for p in (tmp_path / name).rglob("*"))

    # A big file uploaded on A is a job whose page B shows (checking: no worker runs in this test).
    upload = staff.request(
        a,
        "POST",
        reverse("customer-import"),
        files={"file": ("big.csv", customers_csv(BACKGROUND_ROWS + 10, 10), "text/csv")},
    )
    assert upload.status_code == 302 and upload.headers["Location"].startswith("/imports/")
    page = staff.request(b, "GET", upload.headers["Location"])
    assert page.status_code == 200 and 'data-testid="import-progress"' in page.text and "<progress" in page.text


def test_a_real_worker_checks_and_imports_a_big_file_while_both_web_processes_show_it(web, manager, owner, location):
    a, b = web["start"]("web-a"), web["start"]("web-b")
    rows = BACKGROUND_ROWS * 18  # under a thousand: the summary reads the same with or without separators
    web["worker"](IMPORT_TIDY_AFTER_ROWS=str(rows))  # so this import is a big one, tidied after it
    staff = Browser(signed_in_session(manager))
    analyzed = _times_analyzed("customers_customer")

    upload = staff.request(
        a, "POST", reverse("customer-import"), files={"file": ("big.csv", customers_csv(rows), "text/csv")}
    )
    assert upload.status_code == 302, upload.text[-2000:]
    job_url = upload.headers["Location"]
    job = ImportJob.objects.get(pk=int(job_url.strip("/").split("/")[-1]))
    assert job.background

    def state() -> str:
        job.refresh_from_db()
        return job.state

    wait_for(lambda: state() == "checked", "the worker to check the file", timeout=120)
    assert job.rows_checked == rows and job.bad_rows == []
    page = staff.request(b, "GET", job_url)
    assert f"Import {rows:,} rows" in page.text
    assert Notification.objects.filter(recipient=manager, import_job=job, kind="import_checked").exists()

    confirmed = staff.request(b, "POST", reverse("import-job-confirm", args=[job.pk]))
    assert confirmed.status_code == 302
    wait_for(lambda: state() == "done", "the worker to import the file", timeout=180)
    assert Customer.objects.count() == rows and job.rows_imported == rows and bytes(job.raw) == b""
    summary = staff.request(a, "GET", job_url)
    assert f"Imported: {rows} new customers, 0 updated." in summary.text
    inbox = staff.request(a, "GET", reverse("inbox"))
    assert f"big.csv: Imported: {rows} new customers" in inbox.text and job_url in inbox.text
    # Then the worker tidies the customers' table (statistics, search index), as autovacuum would later.
    wait_for(lambda: _times_analyzed("customers_customer") > analyzed, "the worker to tidy the table", timeout=60)


def _times_analyzed(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]
