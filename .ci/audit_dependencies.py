"""Audit the pinned dependencies for known vulnerabilities with pip-audit; part of `make test`.

    .venv/bin/python .ci/audit_dependencies.py [requirements.lock]

Exit 1 on any known vulnerability and on any pip-audit failure. When no vulnerability service can be
reached at all (every dependency skipped as not found, or no connection), print a loud
"DEPENDENCIES NOT AUDITED" line and exit 0, so a machine without that route can still run the tests;
REQUIRE_DEPENDENCY_AUDIT=true turns that case into a failure too (set it wherever the service is
reachable). PIP_AUDIT_OSV_URL=https://host/v1/query audits against that OSV API instead of PyPI's.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - runs pip-audit, a fixed command line
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The messages pip-audit (and requests under it) gives when a service cannot be reached at all.
UNREACHABLE_SKIPS = ("not found on PyPI", "could not connect", "connection error")
UNREACHABLE_ERRORS = (
    "requests.exceptions.ConnectionError",
    "requests.exceptions.ConnectTimeout",
    "requests.exceptions.ReadTimeout",
    "Tip: your network may be blocking this service",
)


@dataclass
class Verdict:
    exit_code: int
    lines: list[str]


def audit_command(requirements: Path, osv_url: str | None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(requirements),
        # The lock pins the whole tree: audit exactly those pins, without installing anything.
        "--no-deps",
        "--disable-pip",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "20",
    ]
    if osv_url:
        command += ["--vulnerability-service", "osv", "--osv-url", osv_url]
    return command


def judge(returncode: int, stdout: str, stderr: str, *, service: str, required: bool) -> Verdict:
    """Turn one pip-audit run into an exit code and the lines to print."""
    try:
        report = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        report = None
    if isinstance(report, dict) and isinstance(report.get("dependencies"), list):
        dependencies = report["dependencies"]
        vulnerable = [dep for dep in dependencies if dep.get("vulns")]
        if vulnerable:
            lines = [f"VULNERABLE DEPENDENCIES: {len(vulnerable)} of {len(dependencies)} pinned packages"]
            for dep in vulnerable:
                for vuln in dep["vulns"]:
                    fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
                    names = " / ".join(dict.fromkeys([vuln["id"], *(vuln.get("aliases") or [])]))
                    lines.append(f"  {dep['name']} {dep.get('version', '?')}: {names} (fixed in {fixed})")
            return Verdict(1, lines)
        skipped = [dep for dep in dependencies if dep.get("skip_reason")]
        if returncode != 0:
            return Verdict(1, [f"pip-audit failed (exit {returncode}) without naming a vulnerability:", stderr.strip()])
        if not skipped:
            return Verdict(
                0, [f"Dependencies audited ({service}): {len(dependencies)} pinned packages, none vulnerable."]
            )
        unreachable = all(
            any(reason in dep["skip_reason"].lower() for reason in map(str.lower, UNREACHABLE_SKIPS)) for dep in skipped
        )
        if unreachable and len(skipped) == len(dependencies):
            why = f"{service}: all {len(dependencies)} pinned packages skipped, e.g. {skipped[0]['skip_reason']!r}"
            return not_audited(why, required=required)
        names = ", ".join(f"{dep['name']} ({dep['skip_reason']})" for dep in skipped)
        return Verdict(1, [f"Some dependencies could not be audited ({service}): {names}"])
    if returncode != 0 and any(marker in stderr for marker in UNREACHABLE_ERRORS):
        last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "")
        return not_audited(f"{service}: {last.strip()[:300]}", required=required)
    return Verdict(1, [f"pip-audit failed (exit {returncode}):", stderr.strip()[-3000:], stdout.strip()[-1000:]])


def not_audited(why: str, *, required: bool) -> Verdict:
    line = f"DEPENDENCIES NOT AUDITED: no vulnerability service reachable ({why})"
    if required:
        return Verdict(1, [line, "REQUIRE_DEPENDENCY_AUDIT=true: failing."])
    return Verdict(0, [line, "Set REQUIRE_DEPENDENCY_AUDIT=true where the service is reachable to make this fail."])


def main(argv: list[str]) -> int:
    requirements = Path(argv[1]) if len(argv) > 1 else ROOT / "requirements.lock"
    osv_url = os.environ.get("PIP_AUDIT_OSV_URL") or None
    required = os.environ.get("REQUIRE_DEPENDENCY_AUDIT", "").strip().lower() in ("1", "true", "yes", "on")
    service = f"OSV at {osv_url}" if osv_url else "PyPI"
    run = subprocess.run(  # noqa: S603  # nosec B603 - our own interpreter and fixed arguments, no shell
        audit_command(requirements, osv_url), capture_output=True, text=True, check=False, cwd=ROOT
    )
    verdict = judge(run.returncode, run.stdout, run.stderr, service=service, required=required)
    stream = sys.stdout if verdict.exit_code == 0 else sys.stderr
    for line in verdict.lines:
        print(line, file=stream)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
