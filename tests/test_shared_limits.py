"""Request limits shared by every web process: two gunicorn servers with REDIS_URL count one client
against one limit, so the 429 arrives at the documented count, not at twice it.

Runs against a real Redis, only when REDIS_URL is set, e.g.

    REDIS_URL=redis://127.0.0.1:6379/0 python3 dev.py test tests/test_shared_limits.py

The servers keep their counts under a key prefix of their own (CACHE_KEY_PREFIX) and the test deletes
those keys afterwards; nothing else in that Redis is touched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

REDIS_URL = os.environ.get("REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[1]
RATE = 10  # requests a minute for one anonymous client, the documented API_THROTTLE_ANON of these servers
URL = "/api/statuses/"

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a real Redis, e.g. redis://127.0.0.1:6379/0)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own server on 127.0.0.1
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    """A migrated SQLite file of its own for the servers (the test database may be in memory)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('shared-limits') / 'tracker.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    return url


@pytest.fixture
def start_servers(database, tmp_path):
    """start_servers(redis_url) -> the base URLs of two separate gunicorn servers sharing that setting."""
    processes: list[subprocess.Popen] = []

    def start(redis_url: str, prefix: str) -> list[str]:
        env = {
            **os.environ,
            "DATABASE_URL": database,
            "SECRET_KEY": "shared-limits-test-only",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL": "0",
            "DEBUG": "0",
            "API_THROTTLE_ANON": f"{RATE}/minute",
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": prefix,
            "LOG_LEVEL": "WARNING",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        urls = []
        for _ in range(2):
            port = _free_port()
            log = (tmp_path / f"gunicorn-{port}.log").open("w")
            command = [sys.executable, "-m", "gunicorn", "tracker.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"]
            processes.append(
                subprocess.Popen([*command, "--no-control-socket"], cwd=ROOT, env=env, stdout=log, stderr=log)
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            deadline = time.monotonic() + 30
            while _probe(url) != 200:
                assert time.monotonic() < deadline, f"gunicorn at {url} did not answer /healthz in 30 s"
                time.sleep(0.2)
        return urls

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


def _probe(url: str) -> int | None:
    try:
        return _get(url + "/healthz")
    except OSError:
        return None


def alternate(urls: list[str], count: int) -> list[int]:
    """GET the same endpoint `count` times as one client, alternating between the servers."""
    return [_get(urls[n % len(urls)] + URL) for n in range(count)]


@pytest.fixture
def prefix():
    """A key prefix of this test's own, whose keys are deleted afterwards."""
    import redis

    name = f"tracker-test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    assert client.ping(), f"Redis at {REDIS_URL} does not answer"
    yield name
    for key in client.scan_iter(match=f"{name}:*"):
        client.delete(key)


def test_two_servers_with_redis_count_one_client_against_one_limit(start_servers, prefix):
    import redis

    urls = start_servers(REDIS_URL, prefix)
    codes = alternate(urls, 2 * RATE + 4)

    assert codes[:RATE] == [200] * RATE, codes
    assert codes[RATE:] == [429] * (RATE + 4), codes
    # Both servers answered, and both refused: one count between them, kept in Redis.
    assert set(codes[0:RATE:2]) == set(codes[1:RATE:2]) == {200}
    assert set(codes[RATE::2]) == set(codes[RATE + 1 :: 2]) == {429}
    client = redis.Redis.from_url(REDIS_URL)
    assert [key.decode() for key in client.scan_iter(match=f"{prefix}:*throttle*")], "no throttle count in Redis"


def test_without_redis_each_server_counts_alone_and_the_limit_doubles(start_servers):
    # What REDIS_URL is for: two processes with their own memory let one client make twice the rate.
    urls = start_servers("", "unused")
    codes = alternate(urls, 2 * RATE + 2)

    assert codes[: 2 * RATE] == [200] * (2 * RATE), codes
    assert codes[2 * RATE :] == [429, 429], codes
