#!/usr/bin/env bash
# Smoke test of the production path without Docker, as an operator would run it:
# scripts/start.sh (the Docker image's start sequence) with production settings
# (DEBUG off, HTTPS-only settings on, requests arriving as from a TLS proxy)
# against PostgreSQL on 127.0.0.1:5432, under gunicorn.
#
#   1. a fresh database tracker_smoke; start; /healthz, /, /api/recommendations/,
#      the admin login page and a static file answer; SIGTERM stops it cleanly
#   2. an analyst records a status change with evidence; start again: the seed
#      changes nothing and the analyst's change is still served
#   3. back up tracker_smoke, restore into a fresh empty tracker_restore, start on
#      it: the API serves the same JSON, and a second backup equals the first
#
# Usage: bash scripts/smoke.sh   (PG_USER, SMOKE_PORT and PYTHON may be set)
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-.venv/bin/python}"
PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER="${PG_USER:-postgres}"
PORT="${SMOKE_PORT:-18765}"
SMOKE_DB=tracker_smoke
RESTORE_DB=tracker_restore
BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
SECRET="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')"
ANALYST_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(16))')"
SERVER_PID=""

say() { printf '[smoke] %s\n' "$*"; }
fail() {
  printf '[smoke] FAIL: %s\n' "$*" >&2
  if [ -f "$WORK/server.log" ]; then
    echo "--- last lines of the server's log:" >&2
    tail -n 30 "$WORK/server.log" >&2
  fi
  exit 1
}

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -------------------------------------------------------------------------
psql_admin() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qc "$1"; }

fresh_database() {
  psql_admin "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
  psql_admin "CREATE DATABASE $1"
}

# A production server's environment: nothing inherited but PATH.
production_env() {
  printf '%s\n' PATH="$PATH" HOME="$WORK" LANG=C.UTF-8 PYTHON="$PY" \
    SECRET_KEY="$SECRET" ALLOWED_HOSTS="127.0.0.1,localhost" \
    DATABASE_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$1?connect_timeout=5" \
    GUNICORN_BIND="127.0.0.1:$PORT" WEB_CONCURRENCY=2 DB_WAIT_SECONDS=20
}

# production DB [VAR=value ...] COMMAND...: run a command in that environment.
production() {
  local db="$1"
  shift
  local vars
  mapfile -t vars < <(production_env "$db")
  env -i "${vars[@]}" "$@"
}

manage() {
  local db="$1"
  shift
  production "$db" timeout 300 "$PY" manage.py "$@"
}

start_server() {  # start_server DB [VAR=value ...]
  local db="$1"
  shift
  if curl -s -o /dev/null -m 2 "$BASE/healthz"; then
    fail "something already answers on $BASE; set SMOKE_PORT to a free port"
  fi
  local vars
  mapfile -t vars < <(production_env "$db")
  # exec: the background job's pid becomes gunicorn's own (start.sh execs it), so signals reach it.
  (exec env -i "${vars[@]}" "$@" scripts/start.sh >"$WORK/server.log" 2>&1) &
  SERVER_PID=$!
  say "scripts/start.sh on $db (pid $SERVER_PID); waiting for /healthz"
  for _ in $(seq 1 120); do
    if curl -fs -o /dev/null -m 2 "$BASE/healthz"; then
      say "healthy"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited before it was healthy"
    sleep 1
  done
  fail "no healthy answer from $BASE/healthz within 120 s"
}

stop_server() {
  say "SIGTERM to gunicorn (pid $SERVER_PID)"
  kill -TERM "$SERVER_PID"
  for _ in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$SERVER_PID" 2>/dev/null && fail "gunicorn still running 30 s after SIGTERM"
  local status=0
  wait "$SERVER_PID" || status=$?
  SERVER_PID=""
  [ "$status" -eq 0 ] || fail "gunicorn exited with status $status after SIGTERM"
  grep -q "Shutting down: Master" "$WORK/server.log" || fail "gunicorn did not report a clean shutdown"
  say "stopped cleanly (exit 0)"
}

# expect STATUS PATH [TEXT] [curl options...]: GET PATH as it comes through the TLS proxy
# (X-Forwarded-Proto: https; PLAIN=1 sends plain HTTP instead); check the status and the body.
expect() {
  local want="$1" path="$2" text="${3:-}"
  shift $(($# < 3 ? $# : 3))
  local proxy=(-H 'X-Forwarded-Proto: https')
  [ "${PLAIN:-0}" = 1 ] && proxy=()
  local got
  got="$(curl -sS -m 20 -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "${proxy[@]}" "$@" "$BASE$path")" ||
    fail "GET $path: no answer"
  [ "$got" = "$want" ] || fail "GET $path answered $got, expected $want: $(head -c 300 "$WORK/body")"
  if [ -n "$text" ] && ! grep -qF -- "$text" "$WORK/body"; then
    fail "GET $path: the answer does not contain '$text'"
  fi
  say "GET $path${PLAIN:+ (plain HTTP)} -> $got${text:+ (contains '$text')}"
}

json_count() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$WORK/body"; }

header() { grep -i "^$1:" "$WORK/headers" | head -n1 | tr -d '\r'; }

# --- 1. first start on a fresh database ----------------------------------------------
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || fail "PostgreSQL does not answer on $PG_HOST:$PG_PORT"
say "fresh database $SMOKE_DB"
fresh_database "$SMOKE_DB"

say "check --deploy with the production settings"
manage "$SMOKE_DB" check --deploy --fail-level WARNING

start_server "$SMOKE_DB"
grep -q "Seed loaded." "$WORK/server.log" || fail "the first start did not load the seed"

expect 200 /healthz '"status": "ok"'
expect 200 /healthz/ '"status": "ok"'
PLAIN=1 expect 200 /healthz '"status": "ok"'  # not redirected to HTTPS
production "$SMOKE_DB" "$PY" scripts/healthcheck.py >/dev/null || fail "scripts/healthcheck.py reports unhealthy"
say "scripts/healthcheck.py -> healthy"

expect 200 / "JN97-"
header Strict-Transport-Security | grep -q "max-age=" || fail "no HSTS header on an HTTPS answer"
say "HSTS: $(header Strict-Transport-Security)"
PLAIN=1 expect 301 /
header Location | grep -q "https://127.0.0.1:$PORT/" || fail "plain HTTP is not redirected to HTTPS"
say "plain HTTP is redirected: $(header Location)"

expect 200 /api/recommendations/ '"count":'
ITEMS="$(json_count)"
[ "$ITEMS" -gt 0 ] || fail "/api/recommendations/ lists no items"
say "/api/recommendations/ lists $ITEMS items"

expect 200 /admin/login/ "csrfmiddlewaretoken"
header Set-Cookie | grep -qi "secure" || fail "the CSRF cookie is not marked Secure"
STATIC="$(grep -oE '/static/[^"]+\.[0-9a-f]{12}\.(css|js)' "$WORK/body" | head -n1)"
[ -n "$STATIC" ] || fail "the admin login page links no hashed static file"
expect 200 "$STATIC" ""
[ -s "$WORK/body" ] || fail "$STATIC came back empty"
header Cache-Control | grep -q "max-age" || fail "whitenoise did not serve $STATIC with a cache lifetime"
say "static file served by whitenoise: $(header Cache-Control)"

stop_server

# --- 2. an analyst's work survives a restart; the seed changes nothing ---------------
say "an analyst records a status change with evidence"
production "$SMOKE_DB" ANALYST_PASSWORD="$ANALYST_PASSWORD" timeout 60 "$PY" manage.py ensure_analyst >/dev/null
TOKEN="$(manage "$SMOKE_DB" drf_create_token analyst | awk '/^Generated token/ {print $3}')"
[ -n "$TOKEN" ] || fail "no API token was generated for the analyst"
CODE="$(manage "$SMOKE_DB" shell -v 0 -c '
from django.contrib.auth import get_user_model
from recommendations.models import Recommendation
from recommendations.services import evidence_create, recommendation_change_status
analyst = get_user_model().objects.get(username="analyst")
item = Recommendation.objects.filter(status="not_assessed", status_changes__isnull=True).order_by("code").first()
evidence = evidence_create(recommendation=item, title="Smoke-test evidence", url="https://example.org/smoke", added_by=analyst)
recommendation_change_status(recommendation=item, status="in_progress", note="Smoke test: recorded by an analyst.",
                             recorded_by=analyst, evidence=evidence)
print(item.code)
')"
say "recorded on $CODE"

say "the analyst rewrites a seeded item's editorial note and title through the API (If-Match)"
EDITED="$(manage "$SMOKE_DB" shell -v 0 -c '
from recommendations.models import Recommendation
print(Recommendation.objects.exclude(editorial_note="").order_by("code").values_list("code", flat=True).first())
')"
start_server "$SMOKE_DB" COLLECTSTATIC=0
VERSION="$(curl -sk -H "X-Forwarded-Proto: https" "$BASE/api/recommendations/$EDITED/" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["version"])')"
STATUS="$(curl -sk -o "$WORK/patch" -w '%{http_code}' -X PATCH "$BASE/api/recommendations/$EDITED/" \
  -H "Authorization: Token $TOKEN" -H "Content-Type: application/json" -H "If-Match: \"$VERSION\"" \
  -H "X-Forwarded-Proto: https" \
  -d '{"editorial_note": "Smoke test: the analyst reads this differently.", "title": "Smoke-test title"}')"
[ "$STATUS" = 200 ] || fail "PATCH $EDITED answered $STATUS: $(head -c 300 "$WORK/patch")"
grep -q "Kept as analysts left them" "$WORK/server.log" && fail "the seed reported kept fields before any edit"
stop_server
say "edited $EDITED (version $VERSION -> $((VERSION + 1)))"

start_server "$SMOKE_DB" COLLECTSTATIC=0
grep -q "Seed already up to date: nothing changed." "$WORK/server.log" || fail "the second start's seed changed something"
grep -q "Kept as analysts left them.*recommendation $EDITED: title" "$WORK/server.log" \
  || fail "the seed at restart did not report the analyst's edit of $EDITED as kept"
say "the seed at the restart changed nothing, and reports $EDITED's edited fields as kept"
expect 200 "/api/recommendations/$CODE/" "Smoke test: recorded by an analyst."
expect 200 "/api/recommendations/$EDITED/" "Smoke test: the analyst reads this differently."
grep -q '"title":"Smoke-test title"' "$WORK/body" || fail "the analyst's title of $EDITED was reverted by the restart"
say "the analyst's edit of $EDITED survived the restart"
manage "$SMOKE_DB" verify_tracker -v 0 || fail "verify_tracker found derived structures out of step with the record"
say "verify_tracker: every derived structure agrees with the record"
expect 200 /api/recommendations/
[ "$(json_count)" = "$ITEMS" ] || fail "the item count changed across the restart"
API_TOKEN="$TOKEN" "$PY" scripts/api_snapshot.py "$BASE" "$WORK/api-original.json"
stop_server

# --- 3. backup, restore into an empty database, same data -----------------------------
say "backup of $SMOKE_DB"
manage "$SMOKE_DB" export_tracker "$WORK/backup.json.gz"

say "restore into a fresh, empty $RESTORE_DB"
fresh_database "$RESTORE_DB"
manage "$RESTORE_DB" migrate --no-input -v 0
manage "$RESTORE_DB" import_tracker "$WORK/backup.json.gz"
if manage "$RESTORE_DB" import_tracker "$WORK/backup.json.gz" >"$WORK/again.log" 2>&1; then
  fail "a second import into the restored database was not refused"
fi
grep -q "already holds" "$WORK/again.log" || fail "the refusal does not say why: $(cat "$WORK/again.log")"
say "a second import is refused: the database is not empty"

manage "$RESTORE_DB" shell -v 0 -c "
from django.contrib.auth import authenticate
assert authenticate(username='analyst', password='$ANALYST_PASSWORD'), 'the analyst cannot sign in after the restore'
print('the analyst signs in with the same password after the restore')
"

start_server "$RESTORE_DB" COLLECTSTATIC=0
grep -q "Seed already up to date: nothing changed." "$WORK/server.log" || fail "the seed found something missing after the restore"
API_TOKEN="$TOKEN" "$PY" scripts/api_snapshot.py "$BASE" "$WORK/api-restored.json"
stop_server

cmp -s "$WORK/api-original.json" "$WORK/api-restored.json" || {
  diff "$WORK/api-original.json" "$WORK/api-restored.json" | head -n 40 >&2
  fail "the restored tracker's API differs from the original's"
}
say "the restored API serves the same JSON ($(wc -c <"$WORK/api-original.json") bytes)"

manage "$RESTORE_DB" export_tracker "$WORK/backup-again.json.gz" -v 0
strip() { gzip -dc "$1" | grep -v '^"exported_at"'; }
cmp -s <(strip "$WORK/backup.json.gz") <(strip "$WORK/backup-again.json.gz") || fail "a backup of the restored database differs"
say "a backup of the restored database equals the original backup"
manage "$RESTORE_DB" verify_tracker -v 0 || fail "verify_tracker found the restored database out of step"
say "verify_tracker on the restored database: every derived structure agrees with the record"

say "passed"
