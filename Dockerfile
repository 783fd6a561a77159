# The tracker's web image: Django under gunicorn, static files served by whitenoise.
# Built by docker-compose.yml; the start sequence is scripts/start.sh, the same
# script a server without Docker runs.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user runs the app; the code and static files stay owned by root, read-only to it.
RUN groupadd --system --gid 10001 tracker \
    && useradd --system --uid 10001 --gid tracker --home-dir /app --no-create-home --shell /usr/sbin/nologin tracker

WORKDIR /app

# GNU gettext compiles the interface's French and Japanese catalogues below.
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*

# Pinned requirements first, so that a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files are collected once, here. Settings refuse to load without a
# SECRET_KEY; this dummy one exists only during this build step.
RUN SECRET_KEY=collectstatic-at-build-time-only ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --no-input -v 0

# The catalogues (locale/*/LC_MESSAGES/django.po) compiled into the .mo files Django reads.
RUN SECRET_KEY=compilemessages-at-build-time-only ALLOWED_HOSTS=build.invalid \
    python manage.py compilemessages -v 0

USER tracker

ENV GUNICORN_BIND=0.0.0.0:8000 \
    COLLECTSTATIC=0 \
    COMPILE_CATALOGUES=0 \
    PYTHON=python

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "scripts/healthcheck.py"]

# migrate, seed, then exec gunicorn (PID 1, so `docker stop` reaches it directly).
# Any other command runs instead: `docker compose run --rm web python manage.py export_tracker -`.
CMD ["scripts/start.sh"]
