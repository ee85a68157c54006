"""The dependency audit in `make test` fails on a known vulnerability and says loudly when it could not run.

pip-audit runs for real against a small OSV API served from a thread (the answers have OSV's shapes:
POST /v1/query and /v1/querybatch), so the wrapper is proved on what pip-audit really prints.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WRAPPER = ROOT / ".ci" / "audit_dependencies.py"
PINS = "django==5.2.19\nsqlparse==0.5.3\n"
ADVISORY = {
    "schema_version": "1.6.0",
    "id": "GHSA-test-0000-0000",
    "aliases": ["CVE-2099-0001"],
    "summary": "SQL injection in a made-up function",
    "modified": "2026-01-01T00:00:00Z",
    "published": "2026-01-01T00:00:00Z",
    "affected": [
        {
            "package": {"name": "django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.2.20"}]}],
        }
    ],
}


def fake_osv(vulnerable: dict[str, str], status: int = 200):
    """Serve OSV's query API: the named package at that version has ADVISORY, everything else nothing."""
    asked: list[dict] = []

    def answer(query: dict) -> dict:
        asked.append(query)
        package = query.get("package", {})
        if vulnerable.get(package.get("name")) == query.get("version") and package.get("ecosystem") == "PyPI":
            return {"vulns": [ADVISORY]}
        return {}

    class OSV(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/v1/query":
                reply = answer(body)
            elif self.path == "/v1/querybatch":
                reply = {"results": [answer(query) for query in body["queries"]]}
            else:
                self.send_error(404)
                return
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), OSV)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, asked


@pytest.fixture
def osv():
    servers = []

    def start(vulnerable: dict[str, str], status: int = 200):
        server, asked = fake_osv(vulnerable, status)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1/query", asked

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pins(tmp_path):
    path = tmp_path / "requirements.lock"
    path.write_text(PINS)
    return path


def run_audit(requirements: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in ("REQUIRE_DEPENDENCY_AUDIT",)}
    environment.update(env, XDG_CACHE_HOME=str(tmp_path / "cache"))
    return subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, str(WRAPPER), str(requirements)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_known_vulnerability_fails_the_audit_and_is_named(osv, pins, tmp_path):
    url, asked = osv({"django": "5.2.19"})
    result = run_audit(pins, tmp_path, PIP_AUDIT_OSV_URL=url)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if "django 5.2.19:" in line]
    assert "GHSA-test-0000-0000" in line and "CVE-2099-0001" in line and "(fixed in 5.2.20)" in line
    assert "NOT AUDITED" not in result.stdout + result.stderr
    assert {query["package"]["name"] for query in asked} == {"django", "sqlparse"}


def test_no_known_vulnerability_passes(osv, pins, tmp_path):
    url, asked = osv({"django": "4.0.0"})
    result = run_audit(pins, tmp_path, PIP_AUDIT_OSV_URL=url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 pinned packages, none vulnerable" in result.stdout
    assert len(asked) == 2


def test_an_unreachable_service_is_announced_and_passes_unless_the_audit_is_required(pins, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/v1/query"
    result = run_audit(pins, tmp_path, PIP_AUDIT_OSV_URL=url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DEPENDENCIES NOT AUDITED: no vulnerability service reachable (" in result.stdout
    required = run_audit(pins, tmp_path, PIP_AUDIT_OSV_URL=url, REQUIRE_DEPENDENCY_AUDIT="true")
    assert required.returncode == 1
    assert "DEPENDENCIES NOT AUDITED" in required.stderr


def test_a_failing_service_fails_the_audit(osv, pins, tmp_path):
    url, _ = osv({}, status=500)
    result = run_audit(pins, tmp_path, PIP_AUDIT_OSV_URL=url)
    assert result.returncode == 1
    assert "pip-audit failed" in result.stderr and "NOT AUDITED" not in result.stderr


def load_wrapper():
    import importlib.util

    spec = importlib.util.spec_from_file_location("audit_dependencies", WRAPPER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def report(*dependencies) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def test_every_dependency_not_found_means_the_service_was_not_there():
    """What a PyPI mirror without per-version JSON pages makes pip-audit print."""
    judge = load_wrapper().judge
    skipped = [
        {"name": name, "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)"}
        for name in ("django", "celery")
    ]
    verdict = judge(0, report(*skipped), "", service="PyPI", required=False)
    assert verdict.exit_code == 0 and verdict.lines[0].startswith("DEPENDENCIES NOT AUDITED")
    assert judge(0, report(*skipped), "", service="PyPI", required=True).exit_code == 1


def test_some_dependencies_not_audited_fails():
    judge = load_wrapper().judge
    verdict = judge(
        0,
        report(
            {"name": "django", "version": "5.2.19", "vulns": []},
            {"name": "private-thing", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        ),
        "",
        service="PyPI",
        required=False,
    )
    assert verdict.exit_code == 1 and "private-thing" in verdict.lines[0]


def test_a_pip_audit_crash_that_is_not_about_the_network_fails():
    judge = load_wrapper().judge
    verdict = judge(1, "", "Traceback...\nValueError: bad requirement", service="PyPI", required=False)
    assert verdict.exit_code == 1 and "pip-audit failed" in verdict.lines[0]
