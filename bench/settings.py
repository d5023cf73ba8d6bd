"""Settings for `make bench`: production settings with throwaway values, plus the sandbox.

DATABASE_URL and REDIS_URL come from the environment (the runner points them at its own
SQLite file, or at PostgreSQL/Redis when they are set). BENCH_SUMMARY_WORKERS lets the runner
start an app whose summary runs one query at a time, for the sequential comparison.
"""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", "YmVuY2gtb25seS1rZXktMDEyMzQ1Njc4OWFiY2RlZjA")
os.environ.setdefault("APP_BASE_URL", "http://localhost:8000")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1")

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]  # noqa: F405
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # static files found at start-up; no collectstatic needed
SUMMARY_WORKERS = int(os.environ.get("BENCH_SUMMARY_WORKERS", "12"))

# The observability overhead figure compares this app with one whose metrics, audit trail and
# launch diagnostics are switched off (bench/apps.py); tracing is on only where OTEL_*
# variables are set.
if os.environ.get("BENCH_BARE") == "1":
    LAUNCH_DIAGNOSTICS = False
    INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
    METRICS_MIDDLEWARE = "smartapp.observability.middleware.RequestMetricsMiddleware"
    MIDDLEWARE = [m for m in MIDDLEWARE if m != METRICS_MIDDLEWARE]  # noqa: F405

# Extraction (bench/extraction.py): the sandbox serves this many generated patients.
SANDBOX_POPULATION = int(os.environ.get("BENCH_POPULATION", "0")) or None
