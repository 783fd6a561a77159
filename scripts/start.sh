#!/bin/sh
# Start the tracker in production. The one start sequence, used by the Docker
# image and on a server without Docker (see the README, "Running in production"):
#
#   1. wait (bounded) until the database answers
#   2. migrate                      (MIGRATE_ON_START=0 skips it, when a deploy step runs it once)
#   3. compile the translations and collect static files
#                                   (COMPILE_CATALOGUES=0, COLLECTSTATIC=0 skip them; the image does both when built)
#   4. load the seed, idempotently  (SEED_ON_START=0 skips it)
#   5. exec gunicorn, so that it receives the service manager's signals itself
#
# Settings come from the environment: see .env.example. gunicorn listens on
# GUNICORN_BIND (default 127.0.0.1:8000) with WEB_CONCURRENCY workers (default 2);
# extra gunicorn options may be given in GUNICORN_CMD_ARGS.
set -eu
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

say() { printf '[start] %s\n' "$*"; }

enabled() {
  case "$(printf '%s' "${1:-1}" | tr '[:upper:]' '[:lower:]')" in
    0 | false | no | off) return 1 ;;
    *) return 0 ;;
  esac
}

say "Waiting for the database (up to ${DB_WAIT_SECONDS:-60} s)"
"$PYTHON" - <<'PY'
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
django.setup()
from django.db import connections  # noqa: E402

from tracker.health import database_problem  # noqa: E402

deadline = time.monotonic() + float(os.environ.get("DB_WAIT_SECONDS", "60"))
while (problem := database_problem()) and time.monotonic() < deadline:
    connections["default"].close()
    time.sleep(1)
if problem:
    sys.exit(f"[start] {problem} Check DATABASE_URL and that PostgreSQL is running.")
PY

if enabled "${MIGRATE_ON_START:-1}"; then
  say "Migrating the database"
  "$PYTHON" manage.py migrate --no-input
fi

if enabled "${COMPILE_CATALOGUES:-1}"; then
  say "Compiling the translation catalogues"
  "$PYTHON" manage.py compile_catalogues
fi

if enabled "${COLLECTSTATIC:-1}"; then
  say "Collecting static files"
  "$PYTHON" manage.py collectstatic --no-input -v 0
fi

if enabled "${SEED_ON_START:-1}"; then
  say "Loading the seed (idempotent)"
  "$PYTHON" manage.py seed
fi

say "Starting gunicorn on ${GUNICORN_BIND:-127.0.0.1:8000} with ${WEB_CONCURRENCY:-2} workers"
exec "$PYTHON" -m gunicorn tracker.wsgi \
  --bind "${GUNICORN_BIND:-127.0.0.1:8000}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  --timeout "${GUNICORN_TIMEOUT:-30}" \
  --graceful-timeout "${GUNICORN_GRACEFUL_TIMEOUT:-20}" \
  --no-control-socket \
  --access-logfile - \
  --error-logfile -
