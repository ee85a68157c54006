"""Deployment safety: with DEBUG off the checks pass and a real server sends every security header."""

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management.utils import get_random_secret_key

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
# Inline script, style element or attribute, event handler, javascript: URL.
INLINE = (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"javascript:")


def production_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DEBUG="false",
        # Not starting with "$": django-environ reads "$NAME" as a reference to another variable.
        SECRET_KEY="k" + get_random_secret_key() + get_random_secret_key(),
        ALLOWED_HOSTS="127.0.0.1",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        CELERY_BROKER_URL="memory://",
    )
    return env


def test_check_deploy_reports_nothing_with_debug_off(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def access_log_path(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "gunicorn-access.log"


def migrated_database_url() -> str:
    """The URL of pytest-django's test database: migrated, as a production database is before gunicorn starts."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def production_server(tmp_path_factory, django_db_setup):
    """gunicorn serving the app as in production (DEBUG off, collected static files) behind a proxy header."""
    tmp_path = tmp_path_factory.mktemp("deploy")
    env = production_env(tmp_path)
    env["DATABASE_URL"] = migrated_database_url()  # pages read the business settings and whether an owner exists
    env["STATIC_ROOT"] = str(tmp_path / "static")
    env["TRUST_PROXY_HEADERS"] = "true"  # the tests send X-Forwarded-Proto as the proxy would
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "crm.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--access-logfile",
            str(access_log_path(tmp_path_factory)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("gunicorn did not start: " + server.stderr.read().decode()[-2000:])
    yield base
    server.terminate()
    server.wait(timeout=10)


def fetch(url: str, https: bool = True, headers: dict[str, str] | None = None):
    opener = urllib.request.build_opener(NoRedirect)
    headers = {**({"X-Forwarded-Proto": "https"} if https else {}), **(headers or {})}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        return opener.open(request, timeout=10)
    except urllib.error.HTTPError as response:
        return response


def test_plain_http_is_redirected_to_https(production_server):
    response = fetch(production_server + "/accounts/login/", https=False)
    assert response.status == 301
    assert response.headers["Location"] == production_server.replace("http://", "https://") + "/accounts/login/"


def test_every_security_header_is_on_a_real_page(production_server):
    response = fetch(production_server + "/accounts/login/")
    assert response.status == 200
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    directives = (part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    csp = {d[0]: d[1] if len(d) > 1 else "" for d in directives}
    assert csp["default-src"] == "'self'"
    assert csp["script-src"].startswith("'self'")
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("csrftoken=") and "Secure" in cookie and "SameSite=Lax" in cookie


def test_static_files_are_served_with_nosniff(production_server):
    page = fetch(production_server + "/accounts/login/").read().decode()
    script = re.search(r'src="(/static/js/app\.[0-9a-f]+\.js)"', page).group(1)
    response = fetch(production_server + script)
    assert response.status == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"].startswith("text/javascript")


def test_static_files_are_compressed_and_cached_for_a_decade(production_server):
    """WhiteNoise serves the collected, content-hashed files gzipped, with far-future immutable caching."""
    page = fetch(production_server + "/accounts/login/").read().decode()
    stylesheet = re.search(r'href="(/static/vendor/bootstrap/css/bootstrap\.min\.[0-9a-f]+\.css)"', page).group(1)
    response = fetch(production_server + stylesheet, headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "max-age=315360000, public, immutable"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.read()
    assert body[:2] == b"\x1f\x8b"  # a gzip stream, smaller than the file itself
    assert len(body) < len(fetch(production_server + stylesheet).read())


def test_gunicorn_conf_keeps_client_connections_alive(production_server):
    """The fixture starts gunicorn as Procfile.production does, so it reads gunicorn.conf.py (threaded workers)."""
    assert "web: gunicorn crm.wsgi\n" in (ROOT / "Procfile.production").read_text()
    host, port = production_server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for _ in range(2):  # the second request travels on the first one's connection
            connection.request("GET", "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert response.getheader("Connection") == "keep-alive"
    finally:
        connection.close()


def test_no_template_has_inline_script_style_or_event_handlers():
    """The CSP forbids them, so the pages would break: behaviour lives in static/js/app.js."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if "email" in path.parts:
            continue  # emails are not pages; mail clients need inline styles
        text = path.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\son[a-z]+\s*=",
            r"\sstyle\s*=",
            r"javascript:",
        ):
            if re.search(pattern, text, re.IGNORECASE):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert not offenders, offenders


def test_customer_search_terms_are_not_kept_in_gunicorn_access_log(production_server, tmp_path_factory):
    fetch(production_server + "/customers/?q=Philippa+Quartermaine&archived=1")
    log = access_log_path(tmp_path_factory)
    deadline = time.monotonic() + 10
    while "archived=1" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.1)  # gunicorn writes the line after the response; wait for it, not a fixed time
    text = log.read_text()
    assert "/customers/?q=[hidden]&archived=1" in text
    assert "Philippa" not in text and "Quartermaine" not in text


def test_x_forwarded_proto_is_trusted_only_with_trust_proxy_headers(tmp_path):
    def proxy_header(**extra):
        result = subprocess.run(
            [sys.executable, "manage.py", "diffsettings", "--all"],
            cwd=ROOT,
            env={**production_env(tmp_path), **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        # diffsettings writes "### NAME = value" for a default value, "NAME = value" otherwise.
        [value] = re.findall(r"^(?:### )?SECURE_PROXY_SSL_HEADER = (.*?)(?:\s+###)?$", result.stdout, re.MULTILINE)
        return value

    assert proxy_header() == "None"
    assert proxy_header(TRUST_PROXY_HEADERS="false") == "None"
    assert proxy_header(TRUST_PROXY_HEADERS="true") == "('HTTP_X_FORWARDED_PROTO', 'https')"
