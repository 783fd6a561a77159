#!/usr/bin/env python3
"""Latency of the tracker's read paths on a large corpus, under gunicorn (2 workers).

Usage (a throwaway PostgreSQL database; generating 300,000 items takes a few minutes):

    createdb -h 127.0.0.1 -U postgres tracker_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench DEBUG=1
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed
    .venv/bin/python manage.py generate_corpus 300000
    .venv/bin/python scripts/benchmark.py            # prints a table: median and 95th percentile per URL

Each URL is requested once to warm up, then --repeat times in sequence; CSV
exports are timed to the last byte. Nothing is written to the database.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

URLS = [
    ("API list, first page", "/api/recommendations/"),
    ("API list, theme + status", "/api/recommendations/?theme=defence-exchanges&status=in_progress"),
    (
        "API list, two themes (OR), newest first",
        "/api/recommendations/?theme=un-reform&theme=arms-control&ordering=-updated_at",
    ),
    ("API search", "/api/recommendations/?search=maritime%20cooperation"),
    ("API search + theme", "/api/recommendations/?search=peacekeeping&theme=peacekeeping"),
    ("API updated_since", "/api/recommendations/?updated_since=2026-01-01"),
    ("API detail", "/api/recommendations/SYN0-150000/"),
    ("API detail (seeded, with history)", "/api/recommendations/BM18-1/"),
    ("API change feed", "/api/changes/?since=2020-01-01"),
    ("API page 100 of a theme", "/api/recommendations/?theme=regional-security&page=100"),
    ("Page: list", "/"),
    ("Page: list, theme + status", "/?theme=defence-exchanges&status=in_progress"),
    ("Page: search", "/?search=maritime"),
    ("Page: item", "/recommendations/SYN0-150000/"),
    ("CSV export of one theme (all rows)", "/api/recommendations/?theme=capacity&format=csv"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 - loopback only
            size = len(response.read())
            status = response.status
    except urllib.error.HTTPError as exc:
        size, status = len(exc.read()), exc.code
    return status, size, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        print("Set DATABASE_URL to the benchmark database (see --help).", file=sys.stderr)
        return 2

    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL": "0",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "tracker.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "--no-control-socket",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                fetch(base + "/healthz")
                break
            except OSError:
                time.sleep(0.3)
        print(f"{'what':45} {'status':>6} {'bytes':>10} {'median ms':>10} {'p95 ms':>8}")
        for label, path in URLS:
            status, size, _ = fetch(base + path)  # warm-up
            repeat = 3 if "format=csv" in path else args.repeat
            times = [fetch(base + path)[2] * 1000 for _ in range(repeat)]
            p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
            print(f"{label:45} {status:>6} {size:>10} {statistics.median(times):>10.1f} {p95:>8.1f}", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
