"""Django settings, derived once from the environment by `config.environment.load_config`.

Nothing here reads `os.environ` directly: every variable goes through the validating loader,
so a wrong value stops start-up with ImproperlyConfigured naming it. With DEBUG off these
settings pass `manage.py check --deploy` with no warnings (tests/smartapp/test_deploy_check.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery.schedules import crontab

from config.environment import load_config, local_key_file

BASE_DIR = Path(__file__).resolve().parent.parent

CONFIG = load_config(
    os.environ,
    base_dir=BASE_DIR,
    dev_token_key=local_key_file(BASE_DIR / "var" / "dev-token-encryption.key"),
)

DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.secret_key
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)
APP_BASE_URL = CONFIG.app_base_url
CSRF_TRUSTED_ORIGINS = [CONFIG.app_base_url]
TOKEN_ENCRYPTION_KEYS = CONFIG.token_encryption_keys
# Refresh an access token this long before it expires (at most half its lifetime).
TOKEN_REFRESH_SKEW_S = CONFIG.session.token_refresh_skew_s
# The most a user waits for a token refresh, all attempts included; the refresh lock's expiry
# derives from it (smartapp/vault/policy.py).
TOKEN_REFRESH_BUDGET_S = CONFIG.tunables["TOKEN_REFRESH_BUDGET_S"]
# Single-flight refresh across processes (smartapp/refresh_lock.py). Only the test settings
# can turn it off, to show what it prevents.
TOKEN_REFRESH_SINGLE_FLIGHT = True
REDIS_URL = CONFIG.redis_url

# Outbound FHIR calls (smartapp/fhir_client.py, smartapp/outbound.py) and the patient summary
# (smartapp/summary_service.py); the FHIR_* and SUMMARY_* variables, validated by load_config.
FHIR_CONNECT_TIMEOUT_S = CONFIG.fhir.connect_timeout_s
FHIR_READ_TIMEOUT_S = CONFIG.fhir.read_timeout_s
FHIR_ATTEMPTS = CONFIG.fhir.attempts
FHIR_BACKOFF_BASE_S = CONFIG.fhir.backoff_base_s
FHIR_RETRY_AFTER_CAP_S = CONFIG.fhir.retry_after_cap_s
FHIR_MAX_PAGES = CONFIG.fhir.max_pages
FHIR_MAX_ENTRIES = CONFIG.fhir.max_entries
FHIR_MAX_RESPONSE_BYTES = int(CONFIG.tunables["FHIR_MAX_RESPONSE_BYTES"])
FHIR_BREAKER_THRESHOLD = CONFIG.fhir.breaker_threshold
FHIR_BREAKER_COOL_DOWN_S = CONFIG.fhir.breaker_cool_down_s
SUMMARY_BUDGET_S = CONFIG.summary.budget_s
SUMMARY_WORKERS = CONFIG.summary.workers
DRILLDOWN_BUDGET_S = CONFIG.tunables["DRILLDOWN_BUDGET_S"]  # history and search pages

# Observability (docs/observability.md). /metrics answers only with this bearer secret (and
# 404 without one configured); traces follow the standard OTEL_* variables, off by default.
METRICS_TOKEN = CONFIG.metrics_token
# The PHI access trail (smartapp/audit/): kept AUDIT_RETENTION_DAYS, then archived to
# AUDIT_ARCHIVE_DIR as NDJSON AuditEvents and deleted, whole chained segments at a time.
AUDIT_RETENTION_DAYS = int(CONFIG.tunables["AUDIT_RETENTION_DAYS"])
# Extraction (smartapp.extraction; docs/extraction.md).
EXTRACT_CHUNK = int(CONFIG.tunables["EXTRACT_CHUNK"])
EXTRACT_FILE_LEASE_S = CONFIG.tunables["EXTRACT_FILE_LEASE_S"]
EXTRACT_FILE_ATTEMPTS = int(CONFIG.tunables["EXTRACT_FILE_ATTEMPTS"])
EXTRACT_POLL_CAP_S = CONFIG.tunables["EXTRACT_POLL_CAP_S"]
EXTRACT_MAX_LINE_BYTES = int(CONFIG.tunables["EXTRACT_MAX_LINE_BYTES"])
AUDIT_ARCHIVE_DIR = CONFIG.audit_archive_dir
# The use-case API (api/, smartapp/api_clients/; docs/api.md).
API_TOKEN_TTL_S = int(CONFIG.tunables["API_TOKEN_TTL_S"])
API_RATE_LIMIT_PER_MINUTE = int(CONFIG.tunables["API_RATE_LIMIT_PER_MINUTE"])
# The day v1 stops answering, once v2 has shipped (ISO date): every v1 answer then carries
# `Deprecation` and `Sunset` (docs/api.md, "Versions"). None while v1 is the current version.
API_V1_SUNSET: str | None = None
# Each launch's steps for the staff launch debugger (smartapp/diagnostics/); only the bench's
# bare app turns them off.
LAUNCH_DIAGNOSTICS = True
SUMMARY_CACHE_TTL_S = dict(CONFIG.summary.cache_ttl_s)  # section name -> seconds

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "smartapp",
    # The canonical clinical store that extraction fills (docs/extraction.md).
    "smartapp.warehouse",
    # Clients of the use-case API and their tokens (docs/api.md).
    "smartapp.api_clients",
    "portal",
]
# The sandbox EHR is for development and QA: installed only when DEBUG is on (the demo) or by
# the test settings, never by production settings (tests/smartapp/test_deploy_check.py).
if DEBUG:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "smartapp.request_id.RequestIdMiddleware",
    # Counts and times every answer, error pages included, by view name (never by path).
    "smartapp.observability.middleware.RequestMetricsMiddleware",
    # Outside session, cache and views: a 500 an outage caused becomes the 503 page.
    "smartapp.availability.AvailabilityMiddleware",
    # Above the session and CSRF middleware, so it sees their cookies on the way out.
    "smartapp.middleware.PartitionedCookieMiddleware",
    "smartapp.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Below SecurityMiddleware, so /smart/ answers keep no-referrer (see its docstring).
    "smartapp.middleware.NoReferrerMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language from Accept-Language (a launch's own `locale`, when its EHR sent
    # one, wins on its pages: portal.common.launch_for).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "smartapp.middleware.SmartErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After XFrameOptionsMiddleware so that it sees responses first (see its docstring).
    "smartapp.middleware.FramingMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": dict(CONFIG.database)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when configured (shared by every worker and host), else in-process.
# Short socket timeouts so /readyz and request paths fail fast when Redis is down.
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis that turns Redis being down into misses (sessions from the DB).
            "BACKEND": "smartapp.tolerant_cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "smartapp",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Celery: a Redis broker when configured; otherwise tasks run eagerly in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "purge-launches": {
        "task": "smartapp.tasks.purge_launches",
        "schedule": 15 * 60,
    },
    "purge-expired-sessions": {
        "task": "smartapp.tasks.purge_expired_sessions",
        "schedule": 60 * 60,
    },
    "audit-retention": {
        "task": "smartapp.tasks.audit_retention",
        "schedule": 24 * 60 * 60,
    },
    # Extraction: re-queue what a crashed worker left, and each night an incremental run
    # per connection with backend services (docs/extraction.md).
    "extraction-supervise": {
        "task": "extraction.supervise",
        "schedule": 60,
    },
    "extraction-nightly": {
        "task": "extraction.nightly",
        "schedule": crontab(hour=2, minute=15),
    },
}
# Extraction's file tasks are long: a worker takes one at a time, not a batch it then sits on.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# Sessions and cookies. The session cookie must cross into an EHR's iframe, where the app is
# a third party: SameSite=None (which browsers only accept with Secure). Chrome treats
# http://localhost as a secure context, so the demo works over plain HTTP.
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "None"
SESSION_COOKIE_AGE = CONFIG.session.lifetime_s  # SESSION_LIFETIME_S; default a clinical shift
SESSION_COOKIE_NAME = "smartapp_session"
# Launch starts allowed from one client address (REMOTE_ADDR) per window, counted in the cache
# before anything is written (smartapp/launches/throttle.py). A
# hospital's clinicians often share one address (NAT, a Citrix farm): size it for a ward.
LAUNCH_STARTS_PER_WINDOW = int(CONFIG.tunables["LAUNCH_STARTS_PER_WINDOW"])
LAUNCH_START_WINDOW_S = int(CONFIG.tunables["LAUNCH_START_WINDOW_S"])
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "None"

# Transport and browser hardening (all checked by `check --deploy`).
SECURE_SSL_REDIRECT = CONFIG.secure_ssl_redirect
# Probes and the metrics scrape speak plain HTTP inside the pod (/metrics needs its bearer).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = 0 if DEBUG else 365 * 24 * 60 * 60
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English and Spanish (locale/; the compiled .mo is committed). Dates and numbers follow the
# active language: localisation is always on since Django 5.0 (no USE_L10N).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names and compressed copies, built by `collectstatic`; plain storage in DEBUG
    # so the demo needs no build step.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Logging: one JSON object per line on stderr, each with the request's correlation id (and the
# trace and span ids when tracing is on), and
# every secret (bearer tokens, OAuth parameters, Authorization headers) redacted before
# formatting. The filters sit on the handler, so records from every logger pass them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "smartapp.request_id.RequestIdLogFilter"},
        "redact": {"()": "smartapp.log_redaction.RedactingFilter"},
        "trace": {"()": "smartapp.observability.tracing.TraceLogFilter"},
    },
    "formatters": {
        "json": {"()": "smartapp.log_format.JsonLineFormatter"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "trace", "redact"],
        },
    },
    "root": {"handlers": ["stderr"], "level": CONFIG.log_level},
    "loggers": {
        # Our own access line (smartapp.request_id) replaces runserver's, which is written
        # after the request's context is gone and so could not carry its correlation id.
        "django.server": {"level": "WARNING", "handlers": [], "propagate": True},
        # Django's defaults give `django` and `django.server` handlers of their own (plain
        # text, no redaction: runserver printed the callback URL with its code, a 500 printed
        # the raw traceback); with none left here, every line goes through ours.
        "django": {"handlers": [], "propagate": True},
        # httpx names every URL it requests at INFO (FHIR searches carry patient ids).
        "httpx": {"level": "WARNING"},
    },
}
