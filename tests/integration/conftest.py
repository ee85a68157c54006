"""Fixtures for tests that run the app's real processes against servers of their own (tests/integration/servers.py)."""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.integration.servers import REDIS_SERVER, PrivatePostgres, Processes, Redis, free_port, postgres_bin


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of the test's own, not yet started; stopped at the end."""
    if not os.path.exists(REDIS_SERVER):
        pytest.fail(f"redis-server is needed for this test and is not at {REDIS_SERVER} (apt-get install redis-server)")
    redis = Redis(free_port(), tmp_path)
    yield redis
    redis.stop()


@pytest.fixture
def processes(tmp_path):
    running = Processes(tmp_path)
    yield running
    running.kill_all()


@pytest.fixture
def private_postgres():
    """A fresh PostgreSQL cluster, started; stopped and deleted at the end. It never touches the shared server."""
    bin_dir = postgres_bin()
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.fail("As root this test runs initdb and pg_ctl with runuser, which is missing (util-linux)")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("As root this test runs initdb and pg_ctl as the postgres user, which does not exist")
    # Under /tmp, not pytest's tmp_path: the postgres user must be able to reach the directory.
    workdir = Path(tempfile.mkdtemp(prefix="crm-private-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
    server = PrivatePostgres(bin_dir, workdir, free_port())
    try:
        server.init()
        yield server
    finally:
        if server.running():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                server.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)
