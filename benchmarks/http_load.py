"""Staff pages over real HTTP: gunicorn in its production configuration, wrk as the load, beside a bare view.

    python benchmarks/http_load.py --database crm_bench --label after [--duration 10] [--connections 16 64]

It starts `gunicorn crm.wsgi -c gunicorn.conf.py` (DEBUG off, whitenoise's manifest storage, persistent
connections: what Procfile.production runs) on a free loopback port against the benchmark database, signs
one frontline member of staff in (a session row, as a login makes), and runs wrk (Debian's `wrk`) over each
page and the mixed staff load at each connection count, with the bare Django view (one primary-key query and
a small template, routed only under BENCHMARK_VIEWS) in the same run as the yardstick. Query counts come from
one request per page through Django's test client against the same database. Results go to
benchmarks/results/<label>.json and the "Over real HTTP" section of docs/benchmarks.md (before and after side
by side). Notes saved by the load stay in the benchmark database. Never run in CI: written down, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
REPORT = ROOT / "docs" / "benchmarks.md"
DEV_SECRET = "django-insecure-dev-only-key-for-local-runs-never-in-production-0123456789"  # noqa: S105
BEGIN, END = "<!-- http-load:begin -->", "<!-- http-load:end -->"
CPU_SAMPLES = 30
# What the note scenarios save, and how their notes are found again afterwards (forget_saved_notes).
NOTE_TEXT = "Asked about the new frames; back on Friday"

# (name, what wrk asks for). Mixed: 60 % brief, 20 % search, 10 % Today, 10 % saving a note.
SCENARIOS = ["floor", "brief", "today", "search", "inbox", "timeline", "note", "mixed"]
LABELS = {
    "floor": "bare Django view (one pk query, small template)",
    "brief": "customer page (the brief)",
    "today": "Today",
    "search": "customer search, misspelt name",
    "inbox": "inbox",
    "timeline": "timeline (page 2)",
    "note": "saving a note",
    "mixed": "mixed staff load (60/20/10/10)",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(database: str, static_root: str) -> dict[str, str]:
    """The production settings, pointed at the benchmark database; the dev key reads seeded notes."""
    sys.path.insert(0, str(ROOT))
    from crm.kernel.encryption import development_key

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="crm.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        DEBUG="false",
        SECRET_KEY=DEV_SECRET,
        FIELD_ENCRYPTION_KEYS=development_key(DEV_SECRET),
        BENCHMARK_VIEWS="true",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,testserver",
        STATIC_ROOT=static_root,
    )
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
    env.setdefault("CELERY_BROKER_URL", env["REDIS_URL"])
    return env


def prepare(args) -> dict:
    """Sign a frontline member of staff in; pick customers, misspelt names; count each page's queries."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import connection
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crm.kernel.models import Location, User
    from customers.models import Customer

    user = User.objects.filter(username="scale-staff-1").first()
    if user is None:
        raise SystemExit("no scale-staff-1: seed the database with `manage.py seed_scale` first")
    engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
    session = engine.SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["last_seen"] = int(time.time())
    session.create()
    csrf = _get_new_csrf_string()
    mine = Customer.objects.filter(home_location__in=user.locations.all(), visit_count__gt=0, archived_at=None)
    customers = list(mine.order_by("pk").values_list("pk", "first_name", "last_name")[:: max(1, mine.count() // 50)])
    typos = [f"{first[:-1]}x {last}" for _pk, first, last in customers[:20]]
    floor_pk = Location.objects.order_by("pk").values_list("pk", flat=True).first()
    pks = [pk for pk, _f, _l in customers]
    forget_saved_notes(user, pks)  # what an interrupted earlier run left behind
    requests = {
        "floor": [("GET", f"/bench/floor/{floor_pk}/", {}, "")],
        "brief": [("GET", f"/customers/{pk}/", {}, "") for pk in pks],
        "today": [("GET", "/", {}, "")],
        "search": [
            (
                "GET",
                "/customers/?" + urllib.parse.urlencode({"q": q}),
                {"HX-Request": "true", "HX-Target": "customer-results"},
                "",
            )
            for q in typos
        ],
        "inbox": [("GET", "/inbox/", {}, "")],
        "timeline": [("GET", f"/customers/{pk}/timeline/?page=2", {"HX-Request": "true"}, "") for pk in pks],
        "note": [
            (
                "POST",
                f"/customers/{pk}/notes/new/",
                {"HX-Request": "true", "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded"},
                urllib.parse.urlencode({"text": NOTE_TEXT}),
            )
            for pk in pks
        ],
    }
    requests["mixed"] = (
        [requests["brief"][i % len(pks)] for i in range(60)]
        + [requests["search"][i % len(typos)] for i in range(20)]
        + requests["today"] * 10
        + [requests["note"][i % len(pks)] for i in range(10)]
    )
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}; {settings.CSRF_COOKIE_NAME}={csrf}"
    client = Client(HTTP_COOKIE=cookie)
    client.cookies.load(cookie)
    queries, cpu_ms = {}, {}
    for name in SCENARIOS[:-1]:
        method, path, headers, body = requests[name][0]
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}

        def send(method=method, path=path, body=body, headers=headers, meta=meta):
            if method == "GET":
                return client.get(path, **meta)
            return client.post(path, body, content_type=headers["Content-Type"], **meta)

        send()  # warm: the first request of a process fills caches a busy server has full
        with CaptureQueriesContext(connection) as captured:
            response = send()
        if response.status_code >= 400:
            raise SystemExit(f"{name}: {path} answered {response.status_code}")
        queries[name] = len(captured)
        # The web process's own CPU per request (Python, templates, psycopg; not PostgreSQL's): unlike
        # requests/s it hardly moves when other work shares the machine.
        started = time.process_time()
        for _ in range(CPU_SAMPLES):
            send()
        cpu_ms[name] = (time.process_time() - started) * 1000 / CPU_SAMPLES
    connection.close()
    print("web-process CPU per request (ms):", {name: round(ms, 1) for name, ms in cpu_ms.items()}, flush=True)
    return {
        "requests": requests,
        "cookie": cookie,
        "queries": queries,
        "cpu_ms": cpu_ms,
        "customers": Customer.objects.count(),
        "forget": lambda: forget_saved_notes(user, pks),
    }


LUA = """
local reqs = {}
local list = %s
done_requests = 0
init = function(args)
  for i, r in ipairs(list) do
    local headers = r.headers
    headers["Cookie"] = %s
    reqs[i] = wrk.format(r.method, r.path, headers, r.body ~= "" and r.body or nil)
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
end
request = function()
  return reqs[math.random(#reqs)]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"errors": %%d, "status_errors": %%d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def forget_saved_notes(user, customer_pks: list[int]) -> int:
    """Delete the notes the note scenarios saved (with what they raised), so that every run measures the
    seeded data: each run adds about a thousand notes to the same fifty customers, and the next would read
    their longer histories. Told apart by author and text (the text is encrypted: compared here)."""
    from customers.models import Note

    mine = Note.objects.filter(author=user, customer_id__in=customer_pks).only("pk", "text")
    ours = [note.pk for note in mine.iterator(chunk_size=2000) if note.text == NOTE_TEXT]
    Note.objects.filter(pk__in=ours).delete()
    return len(ours)


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for what we send


def lua_script(requests: list, cookie: str) -> str:
    items = []
    for method, path, headers, body in requests:
        head = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        fields = f"method = {lua_string(method)}, path = {lua_string(path)}, body = {lua_string(body)}"
        items.append(f"{{{fields}, headers = {{{head}}}}}")
    return LUA % ("{" + ",\n".join(items) + "}", lua_string(cookie))


def wrk(url: str, script: Path, connections: int, duration: int) -> dict:
    out = subprocess.run(  # noqa: S603 - our own arguments
        [shutil.which("wrk"), "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    found = re.search(r"RESULT (\{.*\})", out)
    if not found:
        raise SystemExit(f"wrk said:\n{out}")
    result = json.loads(found.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def serve(env: dict, port: int) -> subprocess.Popen:
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    log = open(RESULTS / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(  # noqa: S603 - our own arguments
        [str(gunicorn), "crm.wsgi", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit("gunicorn did not answer within 60 s: see benchmarks/results/gunicorn.log")


def gunicorn_graceful_timeout() -> int:
    """How long gunicorn.conf.py lets requests in progress finish after a TERM."""
    found = re.search(r"^graceful_timeout\s*=\s*(\d+)", (ROOT / "gunicorn.conf.py").read_text(), re.MULTILINE)
    return int(found.group(1)) if found else 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="crm_bench")
    parser.add_argument("--label", default="now")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per measurement")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--only", nargs="*", default=SCENARIOS, choices=SCENARIOS)
    parser.add_argument(
        "--cpu-only",
        action="store_true",
        help="print the queries and web CPU per request as JSON, no server and no load (to alternate checkouts)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    RESULTS.mkdir(exist_ok=True)
    static_root = tempfile.mkdtemp(prefix="bench-static-")
    env = environment(args.database, static_root)
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    prepared = prepare(args)
    if args.cpu_only:
        print("CPU " + json.dumps({"queries": prepared["queries"], "cpu_ms": prepared["cpu_ms"]}))
        prepared["forget"]()
        return
    port = free_port()
    process = serve(env, port)
    runs = []
    try:
        with tempfile.TemporaryDirectory() as scripts:
            # Warm every worker (imports, templates, connections) on every page before measuring.
            warm = Path(scripts) / "warm.lua"
            warm.write_text(
                lua_script([r for name in args.only for r in prepared["requests"][name]], prepared["cookie"])
            )
            wrk(f"http://127.0.0.1:{port}", warm, 16, 5)
            for connections in args.connections:
                for name in args.only:
                    script = Path(scripts) / f"{name}.lua"
                    script.write_text(lua_script(prepared["requests"][name], prepared["cookie"]))
                    result = wrk(f"http://127.0.0.1:{port}", script, connections, args.duration)
                    result.update(
                        scenario=name,
                        connections=connections,
                        queries=prepared["queries"].get(name),
                        cpu_ms=prepared["cpu_ms"].get(name),
                    )
                    runs.append(result)
                    print(
                        f"{connections:3d} conn  {LABELS[name]:<50} {result['rps']:8.1f} req/s  "
                        f"p99 {result['p99_us'] / 1000:7.1f} ms  errors {result['errors'] + result['status_errors']}",
                        flush=True,
                    )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=gunicorn_graceful_timeout() + 10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # requests still queued from an overloaded run
            process.wait(timeout=30)
        shutil.rmtree(static_root, ignore_errors=True)
        print(f"deleted the {prepared['forget']():,} notes the runs saved", flush=True)
    load = os.getloadavg()
    (RESULTS / f"{args.label}.json").write_text(
        json.dumps(
            {
                "label": args.label,
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "customers": prepared["customers"],
                "duration": args.duration,
                "loadavg": load,
                "runs": runs,
            },
            indent=1,
        )
    )
    write_report()


def write_report() -> None:
    """Render every benchmarks/results/*.json side by side into docs/benchmarks.md."""
    results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    order = {"before": 0, "after": 2}
    results.sort(key=lambda r: order.get(r["label"], 1))
    lines = [BEGIN, "## Over real HTTP (`benchmarks/http_load.py`, `make benchmark-http`)", ""]
    lines.append(
        "gunicorn with `gunicorn.conf.py` (5 gthread workers x 2 threads on 2 cores), DEBUG off, wrk on the same "
        "machine (it takes CPU from the server too), one frontline member of staff signed in. *ratio* is the "
        "bare view's requests/s over the page's in the same run and at the same connections, *CPU ratio* the page's "
        "web-process CPU per request over the bare view's (30 requests each through Django's test client, same "
        "settings and database): 1.0 would be the floor. Budget: 300 requests/s each; the mixed load also a p99 "
        "of at most 200 ms at 16 connections and no errors at 64. The machine is shared (load average noted): "
        "requests/s and p99 follow the other work on it; CPU per request and queries much less. A 0 means no "
        "request finished within the measurement (an overloaded queue), not an error."
    )
    for result in results:
        lines += [
            "",
            f"### {result['label']}: {result['date']}, {result['customers']:,} customers, "
            f"{result['duration']} s a measurement, load average {result['loadavg'][0]:.1f}",
            "",
            "| page | connections | requests/s | p99 ms | errors | queries | web CPU ms/request | CPU ratio | ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        floors = {r["connections"]: r["rps"] for r in result["runs"] if r["scenario"] == "floor"}
        floor_cpu = next((r.get("cpu_ms") for r in result["runs"] if r["scenario"] == "floor"), None)
        for run in result["runs"]:
            floor = floors.get(run["connections"])
            ratio = f"{floor / run['rps']:.1f}" if floor and run["rps"] else ""
            queries = run["queries"] if run["queries"] is not None else ""
            cpu = f"{run['cpu_ms']:.1f}" if run.get("cpu_ms") is not None else ""
            cpu_ratio = f"{run['cpu_ms'] / floor_cpu:.1f}" if run.get("cpu_ms") and floor_cpu else ""
            lines.append(
                f"| {LABELS[run['scenario']]} | {run['connections']} | {run['rps']:.0f} | {run['p99_us'] / 1000:.0f} | "
                f"{run['errors'] + run['status_errors']} | {queries} | {cpu} | {cpu_ratio} | {ratio} |"
            )
    lines.append(END)
    section = "\n".join(lines)
    text = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    REPORT.write_text(text)
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
