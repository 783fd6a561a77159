#!/usr/bin/env python3
"""Load and faults: clients read and write while a worker dies and the database restarts; then the record is checked.

    .venv/bin/python scripts/load_faults.py            (from the project root; about two minutes)

What it does, all on 127.0.0.1 and bounded in time and requests:

1. creates a PostgreSQL 15 cluster of its own (Debian's initdb and pg_ctl, in a
   temporary directory, on a free port, as the `postgres` OS user when run as
   root), so that restarting it never touches the machine's main cluster;
   migrates, seeds, collects static files, creates an analyst with a token, and
   starts gunicorn with 2 sync workers (DEBUG off, request limits lifted);
2. runs 50 client threads for 60 s that read (list, filtered list, detail, change
   feed) and record status changes with `If-Match` (a 412 is a normal answer: the
   client reads the item again and goes on); every write carries a unique note
   and its outcome is kept: acknowledged (201 with the change's id), refused
   (412, 400, ...) or unknown (no answer, a timeout or a 5xx);
3. at 20 s kills one gunicorn worker with SIGKILL (the master replaces it); at
   40 s restarts the PostgreSQL cluster (`pg_ctl restart -m fast`);
4. then reads the database directly and checks that every acknowledged write is
   in the status log as sent, nothing refused is, every unknown write is either
   wholly there or wholly absent, each item's status, status date and version
   agree with its log, no client ever saw an item's version go down, and every
   error answer was JSON (connection resets, which have no body, are counted
   apart); runs `manage.py verify_tracker` when the tracker has it;
5. prints a summary (requests by kind and outcome, requests/s, latencies, writes,
   each check PASS or FAIL) and exits 1 if any check failed, 2 if the run itself
   could not be set up.

Options: --clients, --duration, --kill-worker-at, --restart-db-at, --timeout,
--seed (the clients' random choices), --report FILE (the figures and findings
as JSON), --keep-logs DIR (gunicorn's and PostgreSQL's logs), --commit REV (run
the tracker as committed at REV, extracted with git archive, instead of the
working tree). The cluster and its directory are removed at the end.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
APP = {"dir": ROOT}  # the tracker's code that runs: the working tree, or a commit's snapshot (--commit)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
HOST = "127.0.0.1"
DB_NAME = "tracker_load"
ANALYST = "load-analyst"
STATUSES = [
    "not_started",
    "in_progress",
    "partially_implemented",
    "implemented",
    "superseded",
    "not_pursued",
    "not_assessed",
]
LEVELS = ["bilateral", "regional", "global"]
# The share of each kind of request in a client's loop.
MIX = {"list": 20, "filtered_list": 20, "detail": 25, "changes": 10, "write": 25}
HOT_ITEMS = 8  # writes go mostly to a few items, so that clients race and get 412s
MAX_REQUESTS_PER_CLIENT = 20_000


def log(message: str) -> None:
    print(f"[load-faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


class SetupError(Exception):
    """The run could not be set up (not a finding about the tracker)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def run(cmd: list[str], *, timeout: float, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(
            cmd, cwd=APP["dir"], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"{' '.join(cmd[:4])} ... still running after {timeout:.0f} s") from exc
    if check and result.returncode != 0:
        raise SetupError(
            f"{' '.join(cmd[:4])} ... exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )
    return result


# --- a PostgreSQL cluster of our own ------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL 15 cluster in a temporary directory, on its own port."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "pg"
        self.data = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.started = False

    def _as_owner(self, cmd: list[str]) -> list[str]:
        # PostgreSQL refuses to run as root: its files and processes belong to the postgres user.
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    def create(self) -> None:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).exists():
                raise SetupError(f"{PG_BIN / tool} is missing: apt-get install -y postgresql-15")
        self.dir.mkdir()
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        run(
            self._as_owner(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ]
            ),
            timeout=120,
        )
        conf = (
            f"\nport = {self.port}\nlisten_addresses = '{HOST}'\nunix_socket_directories = '{self.dir}'\n"
            "max_connections = 40\nlog_min_messages = warning\n"
        )
        self._append_conf(conf)

    def _append_conf(self, text: str) -> None:
        path = self.data / "postgresql.conf"
        with path.open("a") as f:
            f.write(text)

    def pg_ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return run(
            self._as_owner(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "30", *args]
            ),
            timeout=timeout,
        )

    def start(self) -> None:
        self.pg_ctl("start")
        self.started = True

    def restart(self) -> float:
        begun = time.monotonic()
        self.pg_ctl("restart", "-m", "fast")
        return time.monotonic() - begun

    def stop(self) -> None:
        if self.started:
            try:
                self.pg_ctl("stop", "-m", "fast")
            except (SetupError, subprocess.TimeoutExpired):
                self.pg_ctl("stop", "-m", "immediate")
            self.started = False

    def connect(self, dbname: str = DB_NAME):
        return psycopg2.connect(host=HOST, port=self.port, user="postgres", dbname=dbname, connect_timeout=5)

    def url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{DB_NAME}?connect_timeout=5"


# --- the tracker under gunicorn -------------------------------------------------------------


def django_env(cluster: Cluster, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env.update(
        DATABASE_URL=cluster.url(),
        DEBUG="0",
        SECURE_SSL="0",
        ALLOWED_HOSTS=HOST,
        SECRET_KEY=secrets.token_urlsafe(50),
        # Fifty fast clients from one address: lift the request rates, or this measures 429s.
        API_THROTTLE_ANON="1000000/minute",
        API_THROTTLE_USER="1000000/minute",
        HOME=str(workdir),
        LANG="C.UTF-8",
    )
    return env


def manage(env: dict, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess:
    return run([str(PYTHON), "manage.py", *args], env=env, timeout=timeout, check=check)


class Server:
    """gunicorn with 2 sync workers; the master replaces a worker that dies."""

    def __init__(self, env: dict, workdir: Path) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.logfile = workdir / "gunicorn.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(GUNICORN),
                "tracker.wsgi",
                "-b",
                f"{HOST}:{self.port}",
                "-w",
                "2",
                "--no-control-socket",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--error-logfile",
                str(self.logfile),
                "--capture-output",
            ],
            cwd=APP["dir"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200 and len(self.workers()) == 2:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SetupError(f"gunicorn did not answer /healthz within 40 s:\n{self.log_tail()}")

    def workers(self) -> list[int]:
        """The master's child processes (its workers), read from /proc."""
        if self.proc is None:
            return []
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                children.append(int(entry))
        return sorted(children)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# --- the clients -----------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    kind: str
    t: float  # seconds since the load began, when the request was sent
    latency: float
    status: int | None  # None: no answer
    failure: str = ""  # without an answer: reset, timeout, refused
    content_type: str = ""
    json_ok: bool = True
    body_head: str = ""
    path: str = ""


@dataclasses.dataclass
class Write:
    client: int
    code: str
    status: str
    note: str
    if_match: int
    t: float
    outcome: str = ""  # acknowledged, refused, unknown
    http_status: int | None = None
    failure: str = ""
    change_id: int | None = None
    from_status: str | None = None
    new_version: int | None = None


@dataclasses.dataclass
class Seen:
    t: float
    code: str
    version: int
    how: str


class Run:
    """What the clients share: the target, the clock, and what every client recorded."""

    def __init__(self, base: str, token: str, codes: list[str], themes: list[str], args, run_id: str) -> None:
        self.base = base
        self.token = token
        self.codes = codes
        self.hot = codes[:HOT_ITEMS]
        self.themes = themes or ["agreements"]
        self.args = args
        self.run_id = run_id
        self.t0 = 0.0
        self.end = 0.0
        self.results: dict[int, list[Result]] = {}
        self.writes: dict[int, list[Write]] = {}
        self.seen: dict[int, list[Seen]] = {}
        self.crashes: list[str] = []
        self.today = datetime.datetime.now(datetime.UTC).date().isoformat()
        self.machine: dict = {"cores": os.cpu_count(), "revision": revision_label(args.commit)}

    def now(self) -> float:
        return time.monotonic() - self.t0


def classify_failure(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "timeout"
    text = repr(exc)
    if "NewConnectionError" in text or "Connection refused" in text:
        return "refused"
    return "reset"


def request(run: Run, session: requests.Session, kind: str, method: str, path: str, **kwargs):
    """Send one request; return (Result, response or None). Never resends: requests' adapter has no retries."""
    sent = run.now()
    begun = time.monotonic()
    try:
        response = session.request(method, run.base + path, timeout=run.args.timeout, **kwargs)
        body = response.content
    except requests.RequestException as exc:
        return Result(kind, sent, time.monotonic() - begun, None, classify_failure(exc), path=path), None
    result = Result(kind, sent, time.monotonic() - begun, response.status_code, path=path)
    result.content_type = response.headers.get("Content-Type", "")
    response.parsed = None
    if response.status_code >= 400 or method != "GET":
        try:
            response.parsed = json.loads(body)
            result.json_ok = result.content_type.startswith("application/json")
        except ValueError:
            result.json_ok = False
        if not result.json_ok:
            result.body_head = body[:160].decode("utf-8", "replace")
    elif not result.content_type.startswith("application/json"):
        result.json_ok = False
        result.body_head = body[:160].decode("utf-8", "replace")
    return result, response


def etag_version(response) -> int | None:
    match = re.match(r'^(?:W/)?"?(\d+)"?$', (response.headers.get("ETag") or "").strip())
    return int(match.group(1)) if match else None


def client(run: Run, cid: int) -> None:
    rng = random.Random(run.args.seed * 1000 + cid)  # noqa: S311 - a repeatable mix of requests, not a secret
    session = requests.Session()
    auth = {"Authorization": f"Token {run.token}"}
    results: list[Result] = run.results.setdefault(cid, [])
    writes: list[Write] = run.writes.setdefault(cid, [])
    seen: list[Seen] = run.seen.setdefault(cid, [])
    versions: dict[str, int] = {}
    kinds, weights = zip(*MIX.items(), strict=True)

    def read_item(code: str) -> None:
        result, response = request(run, session, "detail", "GET", f"/api/recommendations/{code}/")
        results.append(result)
        version = etag_version(response) if response is not None and response.status_code == 200 else None
        if version is not None:
            versions[code] = version
            seen.append(Seen(result.t, code, version, "detail"))

    try:
        while run.now() < run.args.duration and len(results) < MAX_REQUESTS_PER_CLIENT:
            kind = rng.choices(kinds, weights)[0]
            if kind == "list":
                result, _ = request(run, session, kind, "GET", f"/api/recommendations/?page={rng.choice([1, 1, 2])}")
                results.append(result)
            elif kind == "filtered_list":
                query = rng.choice(
                    [
                        f"status={rng.choice(STATUSES)}",
                        f"theme={rng.choice(run.themes)}&ordering=-updated_at",
                        f"level={rng.choice(LEVELS)}&status=in_progress&status=not_assessed",
                        f"source=job-nishihara-1997&updated_since={run.today}",
                    ]
                )
                result, _ = request(run, session, kind, "GET", f"/api/recommendations/?{query}")
                results.append(result)
            elif kind == "detail":
                read_item(rng.choice(run.codes))
            elif kind == "changes":
                result, _ = request(run, session, kind, "GET", f"/api/changes/?since={run.today}&page_size=100")
                results.append(result)
            else:
                code = rng.choice(run.hot) if rng.random() < 0.7 else rng.choice(run.codes)
                if code not in versions:
                    read_item(code)
                    if code not in versions:
                        continue
                write = Write(
                    client=cid,
                    code=code,
                    status=rng.choice(STATUSES),
                    note=f"Load-and-fault run {run.run_id}: client {cid}, write {len(writes) + 1}.",
                    if_match=versions[code],
                    t=run.now(),
                )
                writes.append(write)
                result, response = request(
                    run,
                    session,
                    "write",
                    "POST",
                    f"/api/recommendations/{code}/status-changes/",
                    json={"status": write.status, "note": write.note},
                    headers={**auth, "If-Match": f'"{write.if_match}"'},
                )
                results.append(result)
                write.http_status = result.status
                write.failure = result.failure
                if response is None or response.status_code >= 500:
                    write.outcome = "unknown"
                    versions.pop(code, None)  # what happened is unknown: read again before the next write
                elif response.status_code == 201 and isinstance(response.parsed, dict) and "id" in response.parsed:
                    write.outcome = "acknowledged"
                    write.change_id = response.parsed["id"]
                    write.from_status = response.parsed.get("from_status")
                    write.new_version = etag_version(response)
                    if write.new_version is not None:
                        versions[code] = write.new_version
                        seen.append(Seen(result.t, code, write.new_version, "201"))
                elif response.status_code < 300:
                    write.outcome = "unknown"  # a success without the change's id cannot be matched
                    versions.pop(code, None)
                else:
                    write.outcome = "refused"
                    if response.status_code == 412:
                        current = etag_version(response)
                        if current is not None:
                            seen.append(Seen(result.t, code, current, "412"))
                        read_item(code)  # a stale ETag: read the item again and go on
                    else:
                        versions.pop(code, None)
    except Exception as exc:  # a bug in the client must not pass for a finding about the tracker
        run.crashes.append(f"client {cid}: {exc!r}")
    finally:
        session.close()


# --- the faults ------------------------------------------------------------------------------


@dataclasses.dataclass
class Faults:
    kill_at: float | None = None
    killed_pid: int | None = None
    workers_before: list[int] = dataclasses.field(default_factory=list)
    replacement_after: float | None = None
    workers_after: list[int] = dataclasses.field(default_factory=list)
    restart_at: float | None = None
    restart_seconds: float | None = None
    errors: list[str] = dataclasses.field(default_factory=list)


def inject_faults(run: Run, server: Server, cluster: Cluster, faults: Faults) -> None:
    def wait_until(t: float) -> None:
        while run.now() < t:
            time.sleep(min(0.05, max(0.0, t - run.now())))

    wait_until(run.args.kill_worker_at)
    faults.workers_before = server.workers()
    if faults.workers_before:
        faults.killed_pid = faults.workers_before[0]
        faults.kill_at = run.now()
        try:
            os.kill(faults.killed_pid, signal.SIGKILL)
            log(f"t={faults.kill_at:.1f} s: SIGKILL to gunicorn worker {faults.killed_pid}")
        except ProcessLookupError:
            faults.errors.append(f"worker {faults.killed_pid} was gone before the kill")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            current = server.workers()
            if len(current) == 2 and faults.killed_pid not in current:
                faults.replacement_after = run.now() - faults.kill_at
                break
            time.sleep(0.05)
    else:
        faults.errors.append("no gunicorn worker found to kill")

    wait_until(run.args.restart_db_at)
    faults.restart_at = run.now()
    log(f"t={faults.restart_at:.1f} s: pg_ctl restart -m fast")
    try:
        faults.restart_seconds = cluster.restart()
        log(f"PostgreSQL answered again after {faults.restart_seconds:.1f} s")
    except (SetupError, subprocess.TimeoutExpired) as exc:
        faults.errors.append(f"the database restart failed: {exc}")


# --- the checks ------------------------------------------------------------------------------


@dataclasses.dataclass
class Check:
    name: str
    ok: bool
    detail: str
    problems: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)  # findings worth reading that fail nothing


def read_database(cluster: Cluster) -> tuple[dict, dict]:
    """Every item (code -> status, status_date, version) and its whole status log, oldest entry first."""
    with cluster.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT id, code, status, status_date, version FROM recommendations_recommendation")
        items = {code: {"id": pk, "status": st, "status_date": sd, "version": v} for pk, code, st, sd, v in cur}
        cur.execute(
            "SELECT c.id, r.code, c.from_status, c.to_status, c.note, c.effective_date "
            "FROM recommendations_statuschange c JOIN recommendations_recommendation r ON r.id = c.recommendation_id "
            "ORDER BY c.id"
        )
        log_by_item: dict[str, list[dict]] = collections.defaultdict(list)
        for pk, code, frm, to, note, eff in cur:
            log_by_item[code].append({"id": pk, "from": frm, "to": to, "note": note, "effective_date": eff})
    conn.close()
    return items, log_by_item


def check_record(before_items, before_max_id, items, log_by_item, writes: list[Write], seen) -> list[Check]:
    checks = []
    entries = {e["id"]: (code, e) for code, es in log_by_item.items() for e in es}
    new_entries = {pk: ce for pk, ce in entries.items() if pk > before_max_id}
    by_note = collections.defaultdict(list)
    for pk, (code, e) in new_entries.items():
        by_note[e["note"]].append((pk, code, e))

    acknowledged = [w for w in writes if w.outcome == "acknowledged"]
    refused = [w for w in writes if w.outcome == "refused"]
    unknown = [w for w in writes if w.outcome == "unknown"]

    problems = []
    for w in acknowledged:
        found = entries.get(w.change_id)
        if found is None:
            problems.append(f"change {w.change_id} ({w.code}, {w.note!r}) acknowledged but not in the log")
            continue
        code, e = found
        if (code, e["to"], e["note"]) != (w.code, w.status, w.note) or (w.from_status and e["from"] != w.from_status):
            problems.append(
                f"change {w.change_id}: sent {w.code} -> {w.status}, the log has {code} -> {e['to']} ({e['note']!r})"
            )
        if len(by_note.get(w.note, [])) != 1:
            problems.append(f"{w.note!r} is in the log {len(by_note.get(w.note, []))} times")
    checks.append(
        Check(
            "acknowledged writes are in the log",
            not problems,
            f"{len(acknowledged) - len(problems)} of {len(acknowledged)} found by id with the same item, "
            "status and note",
            problems,
        )
    )

    problems = [
        f"{w.code} {w.status} ({w.http_status}) {w.note!r} refused but in the log" for w in refused if w.note in by_note
    ]
    checks.append(
        Check(
            "refused writes are not in the log",
            not problems,
            f"{len(refused)} refused, {len(problems)} of them in the log",
            problems,
        )
    )

    problems = []
    notes = []
    present = 0
    for w in unknown:
        rows = by_note.get(w.note, [])
        if len(rows) > 1:
            problems.append(f"{w.note!r} is in the log {len(rows)} times")
        elif rows:
            present += 1
            pk, code, e = rows[0]
            answer = w.failure or w.http_status
            notes.append(f"change {pk} ({code} -> {e['to']}) is recorded but was answered {answer} at {w.t:.1f} s")
            if (code, e["to"]) != (w.code, w.status):
                problems.append(f"{w.note!r}: sent {w.code} -> {w.status}, the log has {code} -> {e['to']}")
    sent_notes = {w.note for w in writes}
    strays = [
        f"change {pk} ({code}, {e['note']!r}) was never sent"
        for pk, (code, e) in new_entries.items()
        if e["note"] not in sent_notes
    ]
    problems += strays
    checks.append(
        Check(
            "unknown-outcome writes are wholly there or wholly absent",
            not problems,
            f"{len(unknown)} unknown: {present} in the log, {len(unknown) - present} absent; "
            f"{len(strays)} log entries nobody sent",
            problems,
            notes,
        )
    )

    problems = []
    for code, item in items.items():
        es = log_by_item.get(code, [])
        if not es:
            if item["status"] != "not_assessed" or item["status_date"] is not None:
                problems.append(f"{code}: no log entry, but status {item['status']} on {item['status_date']}")
            continue
        last = es[-1]
        if (item["status"], item["status_date"]) != (last["to"], last["effective_date"]):
            problems.append(
                f"{code}: status {item['status']} on {item['status_date']}, "
                f"its last log entry {last['to']} on {last['effective_date']}"
            )
        previous = "not_assessed"
        for e in es:
            if e["from"] != previous:
                problems.append(f"{code}: change {e['id']} goes from {e['from']}, the entry before it left {previous}")
            previous = e["to"]
    checks.append(
        Check(
            "every item's status and date are its last log entry's; the log is one chain",
            not problems,
            f"{len(items)} items, {sum(map(len, log_by_item.values()))} log entries",
            problems,
        )
    )

    problems = []
    for code, item in items.items():
        before = before_items.get(code)
        if before is None:
            problems.append(f"{code}: not there before the load")
            continue
        added = [e for e in log_by_item.get(code, []) if e["id"] > before_max_id]
        if item["version"] != before["version"] + len(added):
            problems.append(
                f"{code}: version {before['version']} before, {len(added)} changes since, now {item['version']}"
            )
        implied = {e["id"]: before["version"] + i for i, e in enumerate(added, start=1)}
        for w in acknowledged:
            if w.code == code and w.new_version is not None and implied.get(w.change_id) != w.new_version:
                problems.append(
                    f"{code}: change {w.change_id} answered version {w.new_version}, "
                    f"the log implies {implied.get(w.change_id)}"
                )
    checks.append(
        Check(
            "every item's version is what its log implies",
            not problems,
            "version = version before the load + changes recorded since; each 201's ETag = its place in the log",
            problems,
        )
    )

    problems = []
    observations = 0
    for cid, seen_list in seen.items():
        last: dict[str, Seen] = {}
        for s in seen_list:
            observations += 1
            if s.code in last and s.version < last[s.code].version:
                p = last[s.code]
                problems.append(
                    f"client {cid}, {s.code}: version {p.version} ({p.how}, t={p.t:.2f} s), "
                    f"then {s.version} ({s.how}, t={s.t:.2f} s)"
                )
            last[s.code] = s
    checks.append(
        Check(
            "no client saw a version go down",
            not problems,
            f"{observations} versions seen (ETags of reads, 201s and 412s), in each client's order",
            problems,
        )
    )
    return checks


def check_errors_json(results: list[Result]) -> tuple[Check, list[Result]]:
    errors = [r for r in results if r.status is not None and r.status >= 400]
    bad = [r for r in results if r.status is not None and not r.json_ok]
    resets = [r for r in results if r.status is None]
    grouped = collections.Counter((r.status, r.content_type.split(";")[0] or "(none)", r.kind) for r in bad)
    problems = [f"{n} x {status} {ctype} on {kind}" for (status, ctype, kind), n in grouped.most_common()]
    samples = {}
    for r in bad:
        samples.setdefault((r.status, r.content_type), r)
    problems += [
        f"e.g. {r.status} {r.path} ({r.content_type or 'no Content-Type'}) at t={r.t:.1f} s: {r.body_head!r}"
        for r in samples.values()
    ]
    failures = collections.Counter(r.failure for r in resets)
    detail = (
        f"{len(errors)} error answers, {len(bad)} of them not JSON; apart: "
        f"{len(resets)} requests without an answer ({', '.join(f'{n} {k}' for k, n in failures.items()) or 'none'})"
    )
    return Check("every error answer was JSON", not bad, detail, problems), resets


# --- the summary -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def outcome_of(r: Result) -> str:
    if r.status is None:
        return r.failure
    if r.status < 300:
        return "2xx"
    if r.status in (400, 412):
        return str(r.status)
    return "4xx" if r.status < 500 else "5xx"


def timeline(results: list[Result], duration: float) -> list[str]:
    """Seconds of the run in which answers were 5xx or missing (by when the answer, or its absence, came)."""
    per_second = collections.defaultdict(collections.Counter)
    for r in results:
        if r.status is None or r.status >= 500:
            per_second[int(r.t + r.latency)][outcome_of(r) if r.status is None else str(r.status)] += 1
    return [f"t={s:>3d} s: " + ", ".join(f"{n} {k}" for k, n in c.most_common()) for s, c in sorted(per_second.items())]


def server_exceptions(logfile: Path) -> list[str]:
    try:
        text = logfile.read_text(errors="replace")
    except OSError:
        return []
    found = collections.Counter()
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)): ?(.*)$", line.strip())
        if m and m.group(1).startswith("psycopg2."):
            continue  # the cause of the django.db.utils error that follows it, same message
        if m:
            found[f"{m.group(1)}: {m.group(2)[:110]}"] += 1
        elif "WORKER TIMEOUT" in line or "was sent SIGKILL" in line or "Booting worker" in line:
            found[re.sub(r"^\[.*?\] \[\d+\] \[\w+\] ", "", line.strip())[:120]] += 1
    return [f"{n:>4d} x {k}" for k, n in found.most_common(12)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--kill-worker-at", type=float, default=20.0)
    parser.add_argument("--restart-db-at", type=float, default=40.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a request may take (default 10)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000, help="random seed of the clients")
    parser.add_argument("--report", type=Path, help="write the figures and findings to this JSON file")
    parser.add_argument("--keep-logs", type=Path, help="copy gunicorn's and PostgreSQL's logs into this directory")
    parser.add_argument(
        "--commit",
        help="run the tracker as committed at this revision (a snapshot by git archive) instead of the working tree",
    )
    args = parser.parse_args()
    if not (0 < args.kill_worker_at < args.restart_db_at < args.duration <= 300 and 1 <= args.clients <= 200):
        parser.error("need 0 < --kill-worker-at < --restart-db-at < --duration <= 300 and 1 <= --clients <= 200")
    for path in (PYTHON, GUNICORN):
        if not path.exists():
            print(f"{path} is missing: set up .venv first (python3 dev.py test)", file=sys.stderr)
            return 2

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="load-faults-"))
    os.chmod(workdir, 0o711)  # noqa: S103 - the postgres user must reach its cluster inside
    cluster = Cluster(workdir)
    try:
        return _main(args, workdir, cluster)
    except SetupError as exc:
        print(f"[load-faults] the run could not be set up: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("[load-faults] interrupted", file=sys.stderr)
        return 130
    except Exception:  # a failure of the run itself, not a finding: say where, and clean up all the same
        traceback.print_exc()
        return 2
    finally:
        _cleanup(cluster, workdir, args.keep_logs)


_SERVERS: list[Server] = []


def _cleanup(cluster: Cluster, workdir: Path, keep_logs: Path | None) -> None:
    for server in _SERVERS:
        try:
            server.stop()
        except Exception as exc:
            print(f"[load-faults] stopping gunicorn: {exc!r}", file=sys.stderr)
    try:
        cluster.stop()
    except Exception as exc:
        print(f"[load-faults] stopping PostgreSQL: {exc!r}", file=sys.stderr)
    if keep_logs:
        keep_logs.mkdir(parents=True, exist_ok=True)
        for source in (workdir / "gunicorn.log", cluster.logfile):
            if source.exists():
                shutil.copy(source, keep_logs / source.name)
    shutil.rmtree(workdir, ignore_errors=True)


def _main(args, workdir: Path, cluster: Cluster) -> int:
    started = time.monotonic()
    run_id = secrets.token_hex(4)
    if args.commit:
        args.commit = resolve(args.commit)  # one revision for the snapshot and the summary, though HEAD may move
        snapshot(args.commit, workdir / "src")
    log(f"PostgreSQL 15 cluster of its own in {cluster.dir}, port {cluster.port}")
    cluster.create()
    cluster.start()
    conn = cluster.connect("postgres")
    conn.autocommit = True  # CREATE DATABASE runs outside a transaction
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {DB_NAME}")
    conn.close()

    env = django_env(cluster, workdir)
    log("migrate, seed, collectstatic, ensure_analyst, drf_create_token")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "seed", "-v", "0")
    manage(env, "collectstatic", "--no-input", "-v", "0")
    manage({**env, "ANALYST_PASSWORD": secrets.token_urlsafe(16)}, "ensure_analyst", "--username", ANALYST)
    out = manage(env, "drf_create_token", ANALYST).stdout
    match = re.search(r"token (\S+) for user", out)
    if not match:
        raise SetupError(f"no token in drf_create_token's output: {out!r}")
    token = match.group(1)
    has_verify = manage(env, "help", "verify_tracker", check=False, timeout=60).returncode == 0

    with cluster.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT code FROM recommendations_recommendation ORDER BY source_id, position")
        codes = [row[0] for row in cur]
        cur.execute("SELECT slug FROM recommendations_theme ORDER BY slug")
        themes = [row[0] for row in cur]
    conn.close()
    if not codes:
        raise SetupError("the seed loaded no items")
    before_items, _ = read_database(cluster)
    with cluster.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM recommendations_statuschange")
        before_max_id = cur.fetchone()[0]
    conn.close()

    server = Server(env, workdir)
    _SERVERS.append(server)
    server.start()
    log(f"gunicorn on {server.base}, workers {server.workers()}; {len(codes)} items, {before_max_id} log entries")

    shared = Run(server.base, token, codes, themes, args, run_id)
    faults = Faults()
    log(
        f"{args.clients} clients for {args.duration:.0f} s (seed {args.seed}); "
        f"worker killed at {args.kill_worker_at:.0f} s, database restarted at {args.restart_db_at:.0f} s"
    )
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    shared.machine["load_before"] = os.getloadavg()[0]
    shared.t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(shared, cid), daemon=True) for cid in range(args.clients)]
    for thread in threads:
        thread.start()
    inject_faults(shared, server, cluster, faults)
    join_deadline = shared.t0 + args.duration + args.timeout + 15
    for thread in threads:
        thread.join(timeout=max(0.1, join_deadline - time.monotonic()))
    load_seconds = shared.now()
    stuck = sum(thread.is_alive() for thread in threads)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    shared.machine["load_after"] = os.getloadavg()[0]
    shared.machine["client_cpu_seconds"] = (cpu_after.ru_utime + cpu_after.ru_stime) - (
        cpu_before.ru_utime + cpu_before.ru_stime
    )
    log(f"load over after {load_seconds:.1f} s")

    # After the faults: the tracker must answer again, reads and a write.
    recovery = recover(shared, server)
    faults.workers_after = server.workers()

    results = [r for rs in shared.results.values() for r in rs]
    writes = [w for ws in shared.writes.values() for w in ws]
    items, log_by_item = read_database(cluster)
    checks = check_record(before_items, before_max_id, items, log_by_item, writes, shared.seen)
    json_check, resets = check_errors_json(results)
    checks.append(json_check)
    checks.append(recovery)
    fault_problems = list(faults.errors)
    if faults.replacement_after is None:
        fault_problems.append("the master did not replace the killed worker within 15 s")
    if stuck or shared.crashes:
        fault_problems += [f"{stuck} clients still running after the deadline"] * bool(stuck) + shared.crashes
    checks.append(
        Check(
            "the faults happened and the run stayed in bounds",
            not fault_problems,
            f"worker {faults.killed_pid} killed at {fmt(faults.kill_at)} s, "
            f"replaced after {fmt(faults.replacement_after)} s "
            f"(workers now {faults.workers_after}); database restarted at {fmt(faults.restart_at)} s "
            f"in {fmt(faults.restart_seconds)} s",
            fault_problems,
        )
    )

    verify = None
    if has_verify:
        result = manage(env, "verify_tracker", check=False, timeout=120)
        output = (result.stdout + result.stderr).strip()
        verify = {"exit": result.returncode, "output": output[-3000:]}
        checks.append(
            Check(
                "manage.py verify_tracker",
                result.returncode == 0,
                f"exit {result.returncode}",
                output.splitlines()[-20:] if result.returncode else [],
            )
        )

    exceptions = server_exceptions(server.logfile)
    server.stop()
    summary = summarize(
        args,
        shared,
        results,
        writes,
        resets,
        load_seconds,
        faults,
        checks,
        exceptions,
        verify,
        time.monotonic() - started,
    )
    if args.report:
        args.report.write_text(json.dumps(summary, indent=2, default=str))
        log(f"report written to {args.report}")
    return 0 if all(c.ok for c in checks) else 1


def resolve(revision: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise SetupError(f"no such commit: {revision}")
    return result.stdout.strip()


def snapshot(revision: str, target: Path) -> None:
    """Extract the tracker as committed at `revision` into `target` (read-only for the repository)."""
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision], capture_output=True, timeout=60, check=False
    )
    if archive.returncode != 0:
        raise SetupError(f"git archive {revision}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True, timeout=60)
    APP["dir"] = target
    log(f"the tracker as committed at {revision}, extracted to {target}")


def revision_label(commit: str | None) -> str:
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", commit or "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return f"commit {head}" if commit else f"working tree (HEAD {head or '?'} and any uncommitted edits)"


def fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def recover(run: Run, server: Server) -> Check:
    """Within 20 s of the load's end: /healthz 200, a detail 200 and a status change 201 (recorded as a write)."""
    session = requests.Session()
    code = run.codes[-1]
    deadline = time.monotonic() + 20
    steps = []
    try:
        while time.monotonic() < deadline:
            try:
                if session.get(server.base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            return Check("the tracker answers again after the faults", False, "/healthz not 200 within 20 s")
        detail = session.get(f"{server.base}/api/recommendations/{code}/", timeout=10)
        steps.append(f"detail {detail.status_code}")
        version = etag_version(detail)
        note = f"Load-and-fault run {run.run_id}: the write after the faults."
        write = Write(client=-1, code=code, status="in_progress", note=note, if_match=version or 0, t=run.now())
        response = session.post(
            f"{server.base}/api/recommendations/{code}/status-changes/",
            json={"status": write.status, "note": note},
            headers={"Authorization": f"Token {run.token}", "If-Match": f'"{version}"'},
            timeout=10,
        )
        steps.append(f"write {response.status_code}")
        write.http_status = response.status_code
        if response.status_code == 201:
            write.outcome = "acknowledged"
            write.change_id = response.json()["id"]
            write.from_status = response.json().get("from_status")
            write.new_version = etag_version(response)
        else:
            write.outcome = "refused" if response.status_code < 500 else "unknown"
        run.writes.setdefault(-1, []).append(write)
        ok = detail.status_code == 200 and response.status_code == 201
        return Check("the tracker answers again after the faults", ok, ", ".join(["healthz 200", *steps]))
    except requests.RequestException as exc:
        return Check("the tracker answers again after the faults", False, f"{', '.join(steps)}; then {exc!r}")
    finally:
        session.close()


def summarize(args, run, results, writes, resets, load_seconds, faults, checks, exceptions, verify, total_seconds):
    kinds = list(MIX)
    outcomes = ["2xx", "400", "412", "4xx", "5xx", "reset", "timeout", "refused"]
    table = {}
    print()
    print("=" * 100)
    print(
        f"Load and faults: {args.clients} clients for {args.duration:.0f} s against gunicorn (2 sync workers) "
        f"on PostgreSQL 15 (own cluster), seed {args.seed}"
    )
    print(
        f"faults: SIGKILL to worker {faults.killed_pid} at t={fmt(faults.kill_at)} s (replaced after "
        f"{fmt(faults.replacement_after)} s); pg_ctl restart -m fast at t={fmt(faults.restart_at)} s "
        f"(took {fmt(faults.restart_seconds)} s)"
    )
    rate = len(results) / load_seconds if load_seconds else 0
    print(f"requests: {len(results)} in {load_seconds:.1f} s = {rate:.0f} requests/s")
    m = run.machine
    print(
        f"machine: {m['cores']} cores, load average {m['load_before']:.2f} before and {m['load_after']:.2f} after; "
        f"the clients themselves used {m['client_cpu_seconds']:.1f} CPU-seconds; tracker: {m['revision']}"
    )
    print()
    header = f"{'kind':<14}{'total':>7}" + "".join(f"{o:>8}" for o in outcomes) + f"{'p50':>9}{'p95':>9}{'p99':>9}"
    print(header)
    for kind in [*kinds, "all"]:
        rs = results if kind == "all" else [r for r in results if r.kind == kind]
        counts = collections.Counter(outcome_of(r) for r in rs)
        lat = [r.latency for r in rs]
        table[kind] = {
            "total": len(rs),
            **{o: counts.get(o, 0) for o in outcomes},
            "p50_ms": percentile(lat, 50) * 1000,
            "p95_ms": percentile(lat, 95) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
        }
        print(
            f"{kind:<14}{len(rs):>7}"
            + "".join(f"{counts.get(o, 0):>8}" for o in outcomes)
            + f"{ms(percentile(lat, 50)):>9}{ms(percentile(lat, 95)):>9}{ms(percentile(lat, 99)):>9}"
        )
    ok_lat = [r.latency for r in results if r.status is not None and r.status < 300]
    if ok_lat:
        print(
            f"2xx only: p50 {ms(percentile(ok_lat, 50))}, p95 {ms(percentile(ok_lat, 95))}, "
            f"p99 {ms(percentile(ok_lat, 99))}, mean {ms(statistics.fmean(ok_lat))}"
        )
    print()
    by_outcome = collections.Counter(w.outcome for w in writes)
    refused_by = collections.Counter(str(w.http_status) for w in writes if w.outcome == "refused")
    unknown_by = collections.Counter(w.failure or str(w.http_status) for w in writes if w.outcome == "unknown")
    print(
        f"writes sent: {len(writes)} (one after the faults included): acknowledged {by_outcome['acknowledged']}, "
        f"refused {by_outcome['refused']} ({dict(refused_by)}), unknown {by_outcome['unknown']} ({dict(unknown_by)})"
    )
    lines = timeline(results, load_seconds)
    print("answers that were 5xx or missing, by second of the run:" + ("" if lines else " none"))
    for line in lines:
        print("  " + line)
    if exceptions:
        print("the server's log (exceptions and worker events, most frequent first):")
        for line in exceptions:
            print("  " + line)
    if verify is not None:
        print(f"manage.py verify_tracker: exit {verify['exit']}")
        for line in verify["output"].splitlines()[-10:]:
            print("  " + line)
    else:
        print("manage.py verify_tracker: not in this tracker (skipped)")
    print()
    print("checks:")
    for c in checks:
        print(f"  {'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}")
        for p in c.problems[:15]:
            print(f"          - {p}")
        for n in c.notes[:15]:
            print(f"          . {n}")
        if len(c.problems) > 15:
            print(f"          - ... and {len(c.problems) - 15} more")
    failed = [c for c in checks if not c.ok]
    print()
    print(
        f"RESULT: {'PASS' if not failed else 'FAIL'}: {len(checks) - len(failed)} of {len(checks)} checks passed; "
        f"whole run {total_seconds:.0f} s"
    )
    print("=" * 100)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": run.machine,
        "clients": args.clients,
        "duration": args.duration,
        "seed": args.seed,
        "requests": len(results),
        "load_seconds": load_seconds,
        "requests_per_second": rate,
        "by_kind": table,
        "writes": {"sent": len(writes), **by_outcome, "refused_by_status": refused_by, "unknown_by": unknown_by},
        "faults": dataclasses.asdict(faults),
        "no_answer": [dataclasses.asdict(r) for r in resets],
        "failure_timeline": lines,
        "server_exceptions": exceptions,
        "verify_tracker": verify,
        "checks": [dataclasses.asdict(c) for c in checks],
        "passed": not failed,
    }


if __name__ == "__main__":
    sys.exit(main())
