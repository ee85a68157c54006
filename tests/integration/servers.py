"""Helpers for tests that run the app's real processes: a private Redis, a private PostgreSQL,
Celery workers and beat, the web server.

Every server here is private to the test, on a spare port, so a test can stop
and restart it without touching the machine's shared PostgreSQL and Redis.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, what: str, timeout: float = 60, every: float = 0.1):
    """Return condition()'s first truthy value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def app_env(*, database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    """The environment of one of the app's processes, configured as in production (DEBUG off)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        DEBUG="false",
        SECRET_KEY="integration-test-key-" + "x" * 40,
        SECURE_SSL_REDIRECT="false",
    )
    if getattr(settings, "FIELD_ENCRYPTION_KEYS", None):
        # The same keys as this process, so each side reads what the other wrote.
        env["FIELD_ENCRYPTION_KEYS"] = ",".join(settings.FIELD_ENCRYPTION_KEYS)
    env.update(extra)
    return env


def current_database_url() -> str:
    """The URL of the database pytest-django set up, for processes that must read the same rows."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Redis:
    """A redis-server of our own on a spare port: start() and stop() at will."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir, self.process = port, workdir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - the machine's redis-server, fixed arguments
            [
                REDIS_SERVER,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, "redis to start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class Processes:
    """The app's processes started by one test (manage.py, celery, gunicorn); all killed at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs, self.running = logs, {}

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.running[name] = subprocess.Popen(  # noqa: S603 - our own app, fixed arguments
            [sys.executable, *args],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.running[name]

    def celery(self, name: str, *args: str, env: dict[str, str]) -> subprocess.Popen:
        return self.start(name, ["-m", "celery", "-A", "crm", *args], env)

    def manage(self, *args: str, env: dict[str, str], timeout: float = 60) -> str:
        """Run one manage.py command to the end; fail with its output if it fails."""
        done = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name: str) -> None:
        process = self.running[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def kill_all(self) -> None:
        for name in self.running:
            self.kill(name)


def postgres_bin() -> Path:
    """The newest PostgreSQL server binaries on the machine (PG_BIN to choose), or fail saying what is missing."""
    candidates = [os.environ["PG_BIN"]] if os.environ.get("PG_BIN") else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name), reverse=True
    )
    for candidate in candidates:
        if all((Path(candidate) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    pytest.fail(
        "This test runs a private PostgreSQL server and needs initdb and pg_ctl "
        "(apt-get install postgresql-15, or set PG_BIN to their directory); none found in /usr/lib/postgresql/*/bin"
    )


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own: trust authentication, a spare port, its socket in its directory.

    initdb and pg_ctl refuse to run as root, so as root they run as the postgres user.
    """

    def __init__(self, bin_dir: Path, workdir: Path, port: int) -> None:
        self.bin_dir, self.workdir, self.port = bin_dir, workdir, port
        self.data = workdir / "data"
        self.log = workdir / "server.log"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
        assert done.returncode == 0, (
            f"{tool} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n{self.server_log()}"
        )

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    @property
    def _options(self) -> str:
        return f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c max_connections=40"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres") as connection:
            connection.autocommit = True
            connection.execute(f'CREATE DATABASE "{name}"')

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", self._options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-m", mode, "-o", self._options, "restart")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()
