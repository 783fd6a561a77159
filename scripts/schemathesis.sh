#!/usr/bin/env bash
# Fuzz the REST API from its own OpenAPI schema with schemathesis, with every check (schemathesis' default,
# as `--checks all`, which is not passed because on the command line it would override the config file):
# no server error, every status, content type, header and body as the schema documents them, invalid
# data refused, valid data accepted. The few answers that differ from a check's defaults by design
# are set, each with its reason, in scripts/schemathesis.toml (and the README's "Errors").
#
# Against a throwaway PostgreSQL database (dropped and recreated, migrated and
# seeded) and the app under gunicorn on 127.0.0.1 with DEBUG off, as in
# production. Two passes: anonymous (reads, and writes refused), then with an
# analyst's token, so that writes go through the services too. Bounded in time.
#
#   bash scripts/schemathesis.sh            (from the project root; needs .venv with requirements-dev.txt)
#
# Environment: PG_HOST, PG_PORT, PG_USER (default 127.0.0.1, 5432, postgres),
# FUZZ_DB (default tracker_fuzz), FUZZ_MAX_EXAMPLES (default 20), FUZZ_TIME_LIMIT
# (seconds per pass, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv/bin
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-postgres}"
FUZZ_DB="${FUZZ_DB:-tracker_fuzz}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-20}"
TIME_LIMIT="${FUZZ_TIME_LIMIT:-60}"
WORKDIR="$(mktemp -d)"

export DATABASE_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$FUZZ_DB"
export DEBUG=0 SECURE_SSL=0 ALLOWED_HOSTS=127.0.0.1,localhost
# The fuzzer is one fast client: lift the request rates so that it tests the endpoints, not the throttle.
export API_THROTTLE_ANON=1000000/minute API_THROTTLE_USER=1000000/minute
SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
export SECRET_KEY
unset DJANGO_SETTINGS_MODULE

GUNICORN_PID=""
cleanup() {
  if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill "$GUNICORN_PID" 2>/dev/null || true
    wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  dropdb --if-exists -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$FUZZ_DB" 2>/dev/null || true
  rm -rf "$WORKDIR"
}
trap cleanup EXIT

echo "--- A throwaway database: $FUZZ_DB"
dropdb --if-exists -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$FUZZ_DB" 2>/dev/null
createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$FUZZ_DB"
$VENV/python manage.py migrate --no-input -v 0
# As in production (scripts/start.sh): with DEBUG off, pages need the hashed static files' manifest.
$VENV/python manage.py collectstatic --no-input -v 0
$VENV/python manage.py seed -v 0
ANALYST_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(16))')" \
  $VENV/python manage.py ensure_analyst --username fuzz-analyst >/dev/null
TOKEN="$($VENV/python manage.py drf_create_token fuzz-analyst | awk '{print $3}')"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
echo "--- gunicorn on $BASE (DEBUG off)"
$VENV/gunicorn tracker.wsgi -b "127.0.0.1:$PORT" -w 2 --no-control-socket --timeout 30 \
  --error-logfile "$WORKDIR/gunicorn.log" --capture-output &
GUNICORN_PID=$!
for _ in $(seq 1 30); do
  curl -fsS -o /dev/null "$BASE/api/" 2>/dev/null && break
  sleep 1
done
curl -fsS -o /dev/null "$BASE/api/schema/" || { echo "FAIL: the server did not start" >&2; cat "$WORKDIR/gunicorn.log" >&2; exit 1; }

status=0
fuzz() {
  local label="$1"
  shift
  echo "--- schemathesis ($label): $MAX_EXAMPLES examples per operation, at most ${TIME_LIMIT}s"
  # The working directory keeps schemathesis' and hypothesis' caches out of the project. One worker:
  # with two threads, hypothesis' source parsing trips over Python 3.11's AST (a runtime error, not a finding).
  (cd "$WORKDIR" && timeout --kill-after=10 "$((TIME_LIMIT + 30))" "$OLDPWD/$VENV/schemathesis" \
    --config-file "$OLDPWD/scripts/schemathesis.toml" run \
    "$BASE/api/schema/" \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$TIME_LIMIT" \
    --workers 1 \
    --request-timeout 20 \
    --suppress-health-check all \
    --no-color \
    "$@") || status=$?
  if [ "$status" -ne 0 ]; then
    echo "FAIL: schemathesis ($label) found failures (exit $status); the server's log:" >&2
    tail -n 60 "$WORKDIR/gunicorn.log" >&2 || true
  fi
}

fuzz "anonymous"
[ "$status" -eq 0 ] && fuzz "analyst token" --header "Authorization: Token $TOKEN"

# What the token pass wrote through the API (the seed's own changes have no recorder).
$VENV/python manage.py shell -c "
from recommendations.models import Evidence, StatusChange
print('written through the API:', StatusChange.objects.filter(recorded_by__username='fuzz-analyst').count(),
      'status changes,', Evidence.objects.filter(added_by__username='fuzz-analyst').count(), 'evidence')
" || true

if grep -q "Internal Server Error" "$WORKDIR/gunicorn.log"; then
  echo "FAIL: the server logged an internal server error:" >&2
  grep -A 40 "Internal Server Error" "$WORKDIR/gunicorn.log" >"$WORKDIR/errors.log" || true
  head -n 80 "$WORKDIR/errors.log" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "schemathesis: every check passed, no server errors"
exit "$status"
