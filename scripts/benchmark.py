#!/usr/bin/env python3
"""The tracker's read paths on a realistically shaped corpus, against their targets and the database floor.

One command (from the project root; PostgreSQL on 127.0.0.1:5432; `apt-get install -y wrk`):

    .venv/bin/python scripts/benchmark.py                 # builds a 300,000-item corpus in tracker_bench, then measures
    .venv/bin/python scripts/benchmark.py --reuse         # measures an existing tracker_bench again

It (1) builds the corpus in a throwaway database (`generate_corpus`: every item with 10
status changes and 3 evidence rows; about 5 minutes) and checks it with `verify_tracker`,
(2) starts gunicorn with 2 sync workers (DEBUG off, request limits lifted), and for each request below (3) measures one
request at a time (the 95th percentile of --repeat), (4) drives it under load from a
separate process, `wrk -t1 -c8 -d15s`, for requests/s and p50/p95/p99, and (5) measures
the database floor: the same SQL the request ran, captured from Django, run directly with
psycopg2 (no Django) plus JSON encoding of the rows, and its ratio to the request. It
prints the machine, the date, the corpus counts and every figure beside its target.
Loopback only; every run is bounded in time. Nothing is written to the database.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = Path(sys.executable)
GUNICORN_OPTIONS = ("--no-control-socket", "--timeout", "120", "--log-level", "warning")


@dataclass
class Case:
    label: str
    path: str
    target_p95_ms: float | None = None
    target_rps: float | None = None
    load: bool = True  # measured under wrk too


def cases(word: str, detail_code: str) -> list[Case]:
    theme_status = "theme=defence-exchanges&status=in_progress"
    return [
        Case("API list, theme + status, page 1", f"/api/recommendations/?{theme_status}", 30, 100),
        Case("same, page 200", f"/api/recommendations/?{theme_status}&page=200", 50),
        Case("API search, a common word", f"/api/recommendations/?search={word}", 100),
        Case("API detail", f"/api/recommendations/{detail_code}/", 8, 600),
        Case("page: list + five facets, theme + status", f"/?{theme_status}", 100),
        Case("API list with as_of", f"/api/recommendations/?{theme_status}&as_of=2023-06-30", 100),
        Case("change feed since a date", "/api/changes/?since=2023-01-01", 30),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310 - loopback only
            body, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return status, body, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def run(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=True)


WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def under_load(url: str, seconds: int, connections: int, script: str) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", script, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    requests, duration_us, errors, p50, p95, p99 = match.groups()
    return {
        "rps": int(requests) / (int(duration_us) / 1e6),
        "errors": int(errors),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
    }


def wait_for_quiet_database(dsn: str, database: str, limit: float = 120) -> None:
    """wrk leaves requests queued in gunicorn's backlog: wait until none of them runs a query."""
    import psycopg2

    deadline = time.monotonic() + limit
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()",
                [database],
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.2)


def capture_sql(path: str) -> list[str]:
    """Return the SQL statements that one request to `path` runs, as Django sends them."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return [q["sql"] for q in queries.captured_queries]


def floor_ms(dsn: str, statements: list[str], repeat: int) -> float:
    """Return the 95th percentile of running `statements` directly with psycopg2 and JSON-encoding their rows."""
    import psycopg2

    times = []
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        for _ in range(repeat + 2):
            started = time.perf_counter()
            for sql in statements:
                cursor.execute(sql)
                rows = cursor.fetchall() if cursor.description else []
                json.dumps(rows, default=str)
            times.append((time.perf_counter() - started) * 1000)
    return percentile(times[2:], 95)


def worker_peak_rss_mb(master_pid: int) -> float:
    """Return the largest peak resident memory (VmHWM) among gunicorn's workers, in MB."""
    peak = 0.0
    for child in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split():
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=300_000, help="Corpus size (default 300000).")
    parser.add_argument("--db", default="tracker_bench", help="The throwaway database (default tracker_bench).")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL.")
    parser.add_argument("--reuse", action="store_true", help="Measure the database as it is; do not rebuild it.")
    parser.add_argument("--repeat", type=int, default=40, help="One-at-a-time requests per case (default 40).")
    parser.add_argument("--seconds", type=int, default=15, help="Seconds of load per case (default 15).")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8).")
    parser.add_argument("--only", help="Measure only the cases whose label contains this text.")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="With --reuse, run verify_tracker before measuring (a new corpus is always verified).",
    )
    args = parser.parse_args()

    dsn = f"{args.pg}/{args.db}"
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "DEBUG": "0",
        "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL": "0",
        "LOG_LEVEL": "WARNING",
        # wrk is one fast client: lift the request limits, or it measures 429s.
        "API_THROTTLE_ANON": "100000000/minute",
        "API_THROTTLE_USER": "100000000/minute",
    }
    env.pop("REDIS_URL", None)
    if not args.reuse:
        print(f"Building the corpus in {args.db} ({args.items:,} items)…", flush=True)
        subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
        started = time.monotonic()
        run("migrate", "--no-input", "-v", "0", env=env)
        run("seed", "-v", "0", env=env)
        run("generate_corpus", str(args.items), env=env)
        print(f"Corpus built in {time.monotonic() - started:.0f} s.", flush=True)
    if not args.reuse or args.verify:
        # Every derived structure (status periods, facet entries and pairs, counters) against the record.
        started = time.monotonic()
        run("verify_tracker", env=env)
        print(f"verify_tracker took {time.monotonic() - started:.0f} s.", flush=True)
    run("collectstatic", "--no-input", "-v", "0", env=env)

    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()
    from django.db import connection

    from recommendations.management.commands.generate_corpus import search_word
    from recommendations.models import Evidence, Recommendation, StatusChange

    word = search_word()
    detail_code = (
        Recommendation.objects.filter(code__startswith="SA-")
        .order_by("position")
        .values_list("code", flat=True)[Recommendation.objects.filter(code__startswith="SA-").count() // 2]
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    print()
    print(f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Machine: {machine()}; PostgreSQL {pg_version}")
    print(
        f"Corpus: {Recommendation.objects.count():,} items, {StatusChange.objects.count():,} status changes, "
        f"{Evidence.objects.count():,} evidence rows, "
        f"{Recommendation.themes.through.objects.count():,} theme links; search word “{word}”"
    )
    print(f"Load: wrk -t1 -c{args.connections} -d{args.seconds}s; one at a time: {args.repeat} requests")
    print()

    port = free_port()
    server = subprocess.Popen(
        [str(PYTHON.with_name("gunicorn")), "tracker.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", *GUNICORN_OPTIONS],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    script.write(WRK_SCRIPT)
    script.close()
    header = (
        f"{'request':44} {'1-at-a-time p95':>15} {'target':>7} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'floor p95':>9} {'ratio':>6}"
    )
    results = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                fetch(base + "/healthz")
                break
            except OSError:
                time.sleep(0.3)
        print(header)
        print("-" * len(header))
        for case in cases(word, detail_code):
            if args.only and args.only not in case.label:
                continue
            url = base + case.path
            for _ in range(3):
                status, _, _ = fetch(url)
            one = [fetch(url)[2] * 1000 for _ in range(args.repeat)]
            load = under_load(url, args.seconds, args.connections, script.name)
            wait_for_quiet_database(args.pg + "/postgres", args.db)
            floor = floor_ms(dsn, capture_sql(case.path), args.repeat)
            p95 = percentile(one, 95)
            met = (case.target_p95_ms is None or p95 <= case.target_p95_ms) and (
                case.target_rps is None or load["rps"] >= case.target_rps
            )
            target = f"{case.target_p95_ms:.0f}" + (f"/{case.target_rps:.0f}" if case.target_rps else "")
            results.append((case, met))
            print(
                f"{case.label:44} {p95:>12.1f} ms {target:>7} {load['rps']:>7.1f} {load['p50']:>7.1f} "
                f"{load['p95']:>7.1f} {load['p99']:>7.1f} {floor:>6.1f} ms {p95 / max(floor, 0.01):>5.1f}x "
                f"{'met' if met else 'MISSED'}"
                + (f" ({load['errors']} errors)" if load["errors"] else "")
                + ("" if status == 200 else f" (status {status})"),
                flush=True,
            )
        if not args.only or "CSV" in args.only:
            started = time.perf_counter()
            status, body, _ = fetch(base + "/api/recommendations/?format=csv")
            seconds = time.perf_counter() - started
            rows = body.count(b"\n") - 1
            peak = worker_peak_rss_mb(server.pid)
            met = seconds <= 12 and peak <= 150
            results.append((Case("CSV", ""), met))
            print(
                f"{'CSV of all items':44} {seconds:>10.1f} s   12 s  ({rows:,} rows, {len(body) / 1e6:.0f} MB; "
                f"worker peak {peak:.0f} MB of 150) {'met' if met else 'MISSED'}"
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        os.unlink(script.name)
    print()
    print("Times in ms unless marked. ratio = one-at-a-time p95 / floor p95.")
    missed = [case.label for case, met in results if not met]
    print("Every target met." if not missed else f"Missed: {', '.join(missed)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
