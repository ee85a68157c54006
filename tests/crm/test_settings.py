"""Start-up configuration: clear one-line errors, and a deployable production setup."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3y-" + "x7Qp9zR2vW8sT4yU6iO1aS5dF3gH0jK" * 2,
    "ALLOWED_HOSTS": "crm.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
    "DATABASE_URL": "postgres://crm:a-password@db.example.com:5432/crm",
    "FIELD_ENCRYPTION_KEYS": "Zm9yLXRlc3RzLW9ubHktbm90LWEtc2VjcmV0LWtleSE=",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    inherited = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "FIELD_ENCRYPTION_KEYS"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_passes_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "perhaps"}, "DEBUG"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///db.sqlite3"}, "DATABASE_URL must be a PostgreSQL URL"),
        ({"BUSINESS_TIMEZONE": "Mars/Olympus_Mons"}, "BUSINESS_TIMEZONE"),
        ({"CELERY_BROKER_URL": "carrier-pigeon://loft"}, "CELERY_BROKER_URL"),
        ({"EMAIL_URL": "fax://555"}, "EMAIL_URL"),
        ({"CSRF_TRUSTED_ORIGINS": "crm.example.com"}, "CSRF_TRUSTED_ORIGINS"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS"),
        ({"HOLD_OUT_PERCENT": "60"}, "HOLD_OUT_PERCENT"),
        ({k: v for k, v in PRODUCTION.items() if k != "FIELD_ENCRYPTION_KEYS"}, "FIELD_ENCRYPTION_KEYS is required"),
        ({**PRODUCTION, "FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS must"),
        ({"FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"}, "FIELD_ENCRYPTION_KEYS must"),
        ({"FIELD_ENCRYPTION_KEYS": PRODUCTION["FIELD_ENCRYPTION_KEYS"] + ",short"}, "FIELD_ENCRYPTION_KEYS must"),
    ],
)
def test_bad_variable_stops_startup_with_one_line_naming_it(env, names):
    result = manage("check", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {names} ")
    assert "Traceback" not in result.stderr


def test_without_database_url_the_app_uses_the_embedded_postgresql_of_make_run():
    result = manage("shell", "-c", "from django.db import connection; print(connection.get_connection_params())")
    assert result.returncode == 0, result.stderr
    params = result.stdout.strip().splitlines()[-1]
    assert f"'host': '{ROOT / 'var' / 'pgdata'}'" in params
    assert "'dbname': 'crm'" in params


def test_runserver_request_lines_hide_customer_search_terms():
    """django.server logs '"GET /customers/?q=... HTTP/1.1" 200 512' with the request line as its first argument."""
    import logging

    from django.core.servers.basehttp import WSGIRequestHandler  # noqa: F401 - the logger runserver uses

    logger = logging.getLogger("django.server")
    record = logger.makeRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /customers/?q=anna%40example.com HTTP/1.1", "200", "512"),
        None,
    )
    assert all(f.filter(record) for f in logger.filters)
    assert record.getMessage() == '"GET /customers/?q=[hidden] HTTP/1.1" 200 512'


def test_beat_starts_where_its_schedule_folder_does_not_exist_yet(tmp_path):
    schedule = tmp_path / "no" / "such" / "folder" / "beat-schedule"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env["CELERY_BROKER_URL"] = "memory://"
    beat = subprocess.Popen(  # noqa: S603 - our own celery with fixed arguments
        [str(Path(sys.executable).with_name("celery")), "-A", "crm", "beat", "-s", str(schedule), "--loglevel=INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(schedule.parent.glob("beat-schedule*")) and beat.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # wait for the file to appear (or beat to die), not a fixed time
        assert beat.poll() is None, beat.stderr.read().decode()[-2000:]
        assert list(schedule.parent.glob("beat-schedule*"))
    finally:
        beat.terminate()
        beat.wait(timeout=20)
