"""Settings for the Canada–Japan recommendation tracker, read from the environment.

Defaults give a safe local setup: SQLite in the project folder, DEBUG off.
Production (DEBUG off) refuses to start without SECRET_KEY and ALLOWED_HOSTS.

Environment variables:
    DATABASE_URL      e.g. postgres://user:pass@127.0.0.1:5432/tracker (default: SQLite file db.sqlite3)
    SECRET_KEY        required unless DEBUG is on
    DEBUG             "1"/"true" to turn on; off by default
    ALLOWED_HOSTS     comma-separated host names; required unless DEBUG is on
    CSRF_TRUSTED_ORIGINS  comma-separated origins (https://tracker.example.org) behind a proxy
    API_READS_REQUIRE_LOGIN  "1" closes the API's reads to signed-in users
    API_THROTTLE_ANON, API_THROTTLE_USER  API request rates (default 600/minute by address, 3000/minute by user)
    SECURE_SSL        "0" turns off the HTTPS-only settings of production (for a plain-HTTP test server)
    REDIS_URL         e.g. redis://127.0.0.1:6379/0: request limits and caches shared by every web process
                      (default: each process's own memory)
    CACHE_KEY_PREFIX  prefix of the tracker's keys in Redis, when several trackers share one (default "tracker")
    PROXY_COUNT       how many proxies in front append to X-Forwarded-For (default 0: the connection's address
                      is the client's); the client's address is counted by the request limits and the lockout
    LOGIN_FAILURE_LIMIT   failed admin sign-ins that lock an account or an address (default 5)
    LOGIN_COOLOFF_MINUTES how long the lock lasts after the last failure (default 15)
    CSP_REPORT_URI    where browsers report Content-Security-Policy violations (default: nowhere)
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from tracker.env import env_bool, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. Set it to the comma-separated host names the tracker "
        "answers to (e.g. ALLOWED_HOSTS=tracker.example.org), or set DEBUG=1 for local development."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])
# Proxies in front that append the client's address to X-Forwarded-For; with none, a client could
# write that header itself, so it is only read when this says how many entries to trust.
PROXY_COUNT = int(env_str("PROXY_COUNT", default="0"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.syndication",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "recommendations",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A reader who chose French or Japanese is taken from an English address to the same page in it.
    "tracker.languages.RememberedLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tracker.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "tracker.languages.languages",
            ],
        },
    },
]

WSGI_APPLICATION = "tracker.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env_str("CONN_MAX_AGE", default="60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers queue instead of failing with "database is locked": WAL lets reads go on
    # beside a write, a write transaction takes the lock when it begins (not half-way, when waiting
    # could deadlock), and a writer waits up to 20 s for the lock (twenty writers at once, each a few
    # hundred milliseconds on a busy machine, queue for several seconds).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=20000;",
        "timeout": 20,
        **DATABASES["default"].get("OPTIONS", {}),
    }
    if "DATABASE_URL" in os.environ and DATABASES["default"]["NAME"] not in ("", ":memory:"):
        # A SQLite file chosen by DATABASE_URL is tested on a file too (test_NAME beside it), as
        # PostgreSQL is: concurrency is only real on a file. Without DATABASE_URL, tests stay in memory.
        _sqlite_file = Path(DATABASES["default"]["NAME"])
        DATABASES["default"].setdefault("TEST", {})
        DATABASES["default"]["TEST"].setdefault("NAME", str(_sqlite_file.with_name(f"test_{_sqlite_file.name}")))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The tracker's queries are short and indexed: compiling them (PostgreSQL's JIT, on by default since 11)
    # cost 8 to 12 ms each on the 300,000-item benchmark corpus, more than most of them take to run.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) serve PostgreSQL; SQLite builds the same indexes without the extra columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The interface's languages: English at the unprefixed addresses, French under /fr/, Japanese under /ja/.
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("ja", "日本語"),
]
# The gettext catalogues (locale/<language>/LC_MESSAGES/django.po), compiled at build.
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates as "1 June 2018"; French ("1 juin 2018") and Japanese ("2018年6月1日") keep Django's own.
FORMAT_MODULE_PATH = ["tracker.formats"]
# A reader's chosen language, remembered for a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"

# Where the seed and the source-text check find the documents.
FIXTURES_DIR = BASE_DIR / "fixtures"

# --- REST API -------------------------------------------------------------
API_READS_REQUIRE_LOGIN = env_bool("API_READS_REQUIRE_LOGIN", default=False)
API_MAX_PAGE_SIZE = 500
# The largest request body read (the API's JSON and the admin's forms): 2.5 MiB. Under /api/ a larger
# one is a JSON 413; the README and the API schema state this number.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", default="600/minute"),
        "user": env_str("API_THROTTLE_USER", default="3000/minute"),
    },
    # Counted in the default cache (Redis when REDIS_URL is set), by the client's address (PROXY_COUNT).
    "NUM_PROXIES": PROXY_COUNT,
    # Every API error is JSON naming the field and what is wrong (service refusals: 400, stale If-Match: 412).
    "EXCEPTION_HANDLER": "recommendations.api.exceptions.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Canada–Japan recommendation tracker API",
    "DESCRIPTION": (
        "Recommendations of the 1997 Job–Nishihara study and the 2018 Berkshire Miller brief, "
        "tracked with status, evidence and a dated history."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Query parameters sent empty count as not given: the schema says so.
        "recommendations.api.schema.allow_empty_query_values",
        # A request line too long for the HTTP server is refused before Django (414).
        "recommendations.api.schema.document_uri_too_long",
    ],
    # One name per vocabulary in the schema, however many fields use it.
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "recommendations.vocabulary.Status",
        "LevelEnum": "recommendations.vocabulary.Level",
    },
}

# --- Shared state: request limits and caches --------------------------------
# With REDIS_URL every web process counts against the same limits; without it, each process keeps
# its own counts in memory (fine for one process, N times the rate with N workers).
REDIS_URL = env_str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", default="tracker"),
            # A Redis that does not answer fails the request rather than hanging it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Sign-in protection (django-axes) ----------------------------------------
# Failed admin sign-ins are counted in the database, which every web process shares. After
# LOGIN_FAILURE_LIMIT failures for one username, or from one address, signing in is refused (the
# right password too) until LOGIN_COOLOFF_MINUTES have passed since the last try; an administrator
# lifts a lock at once by deleting it under "Access attempts" in the admin (or `manage.py axes_reset`).
AUTHENTICATION_BACKENDS = [
    "tracker.security.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env_str("LOGIN_FAILURE_LIMIT", default="5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(env_str("LOGIN_COOLOFF_MINUTES", default="15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "tracker.security.client_ip"
AXES_LOCKOUT_CALLABLE = "tracker.security.lockout_response"
# Successful sign-ins are not logged one by one; failures and lockouts are (and go to the log).
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no start-up banner in every command's output

# --- Content-Security-Policy (django-csp) ----------------------------------------
# Everything comes from the tracker itself. Inline <script> and <style> run only with the page's nonce
# (the API docs' start-up script); inline style="" attributes are allowed for the progress bars' widths.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if env_str("CSP_REPORT_URI", default=""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [env_str("CSP_REPORT_URI", default="")]

# --- Production hardening (on whenever DEBUG is off) ------------------------
if not DEBUG and env_bool("SECURE_SSL", default=True):
    # Behind a proxy that terminates TLS, the proxy must set X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env_str("SECURE_HSTS_SECONDS", default=str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Load balancers and the container's own probe poll /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
}
