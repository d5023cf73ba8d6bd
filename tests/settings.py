"""Settings for the test suite: the production settings, with test-only values filled in.

Tests run with DEBUG off, so they exercise the configuration that ships. Values already in
the environment win, which is how CI points the suite at PostgreSQL and Redis.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
# A fixed, throwaway key: urlsafe base64 of 32 bytes, used only by the tests.
os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE")
os.environ.setdefault("APP_BASE_URL", "http://localhost:8000")
# The Django test client and live server speak plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from config.settings import *  # noqa: F403

if "sandbox" not in INSTALLED_APPS:  # noqa: F405
    INSTALLED_APPS.append("sandbox")  # noqa: F405
# Production serves hashed static names from a manifest built by `collectstatic`; tests render
# templates without that build step.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# For the refresh-storm test only: run the app without single-flight refresh, to show the
# failure the lock prevents (more than one refresh, a revoked token family).
TOKEN_REFRESH_SINGLE_FLIGHT = os.environ.get("SMARTAPP_TEST_NO_REFRESH_LOCK") != "1"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The test servers (the sandbox, live_server) run a thread per keep-alive connection, and the
# app's pooled HTTP clients keep those connections open; persistent database connections
# would then pile up one per thread until PostgreSQL refuses more. Close them per request.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; test users only
# On PostgreSQL, empty tables between live-server tests with DELETE rather than TRUNCATE
# (tests/pgbackend/base.py says why; it is a third of the suite's time).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.pgbackend"  # noqa: F405
# On SQLite the tests run on a shared-cache in-memory database, where a writer waiting for
# another gets "table is locked" at once (shared-cache locks ignore the busy timeout), so the
# IMMEDIATE transactions that make a file database queue its writers would fail there instead.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"].get("OPTIONS", {}).pop("transaction_mode", None)  # noqa: F405
