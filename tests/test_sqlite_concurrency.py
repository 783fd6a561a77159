"""Concurrent writers on the embedded SQLite database: analysts' scripts posting status changes at once
through the real API and a live server get 201 or 412, never a 500 "database is locked".

Only meaningful on a SQLite file (an in-memory database shares one connection between threads), so it
runs only when DATABASE_URL names a SQLite file, e.g.

    DATABASE_URL=sqlite:////tmp/tracker-concurrency.sqlite3 python3 dev.py test tests/test_sqlite_concurrency.py

(the tests then use test_tracker-concurrency.sqlite3 beside it).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from recommendations.models import StatusChange
from recommendations.vocabulary import Status

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20
POSTS_PER_THREAD = int(os.environ.get("CONCURRENCY_POSTS_PER_THREAD", "50"))  # 20 × 50 = 1,000 writes
STATUSES = [Status.NOT_STARTED, Status.IN_PROGRESS, Status.PARTIALLY_IMPLEMENTED]


@pytest.fixture
def sqlite_file(transactional_db):
    """The test database, when it is a SQLite file (decided once the test database exists)."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        pytest.skip("needs a SQLite file: run with DATABASE_URL=sqlite:////tmp/NAME.sqlite3")


def call(method: str, url: str, token: str, body: dict | None = None, if_match: str | None = None):
    """Return (status, headers, parsed JSON body) of one request, whatever the status."""
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if if_match:
        headers["If-Match"] = if_match
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - live server
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")[:300]
        return error.code, error.headers, parsed


def test_twenty_writers_at_once_get_201_or_412_and_every_201_is_in_the_log(
    sqlite_file, live_server, analyst, recommendation
):
    # The database really is a file in WAL mode, writers taking the lock up front.
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    token = Token.objects.create(user=analyst).key
    item = f"{live_server.url}/api/recommendations/{recommendation.code}/"

    answers: Counter[int] = Counter()
    created_ids: list[int] = []
    unexpected: list[tuple[int, object]] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(POSTS_PER_THREAD):
            status, headers, body = call("GET", item, token)
            if status != 200:
                with lock:
                    unexpected.append((status, body))
                continue
            new_status = next(s for s in STATUSES[(n + i) % 3 :] + STATUSES if s != body["status"])
            status, headers, body = call(
                "POST",
                item + "status-changes/",
                token,
                {"status": new_status, "note": f"Writer {n}, change {i}."},
                if_match=headers["ETag"],
            )
            with lock:
                answers[status] += 1
                if status == 201:
                    created_ids.append(body["id"])
                elif status != 412:
                    unexpected.append((status, body))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)

    assert not unexpected, f"answers other than 201/412: {Counter(s for s, _ in unexpected)}; first: {unexpected[0]}"
    assert set(answers) <= {201, 412}
    assert sum(answers.values()) == THREADS * POSTS_PER_THREAD
    assert answers[201] > 0
    # Every change the API confirmed is in the log, once; nothing else is.
    logged = list(StatusChange.objects.filter(recommendation=recommendation).values_list("id", flat=True))
    assert sorted(logged) == sorted(created_ids)
    recommendation.refresh_from_db()
    assert recommendation.version == 1 + answers[201]
    # And the API's own log says the same.
    status, _, log = call("GET", item + "status-changes/?page_size=500", token)
    assert status == 200
    assert log["count"] == answers[201]
