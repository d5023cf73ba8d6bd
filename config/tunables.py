"""The optional numeric settings (timeouts, budgets, caps, cache lifetimes): each with its
default and the range it must fall in. `config.environment.load_config` reads and checks
them; README.md#configuration says what each means, and .env.example lists them (a test
checks both).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tunable:
    """An optional number: whole from `low` to `high`, or seconds above `low` up to `high`."""

    variable: str
    default: float
    low: float
    high: float
    integer: bool = True


# Seconds each summary section stays cached (SUMMARY_TTL_<SECTION>_S; SUMMARY_CACHE_TTL_S).
SUMMARY_TTL_DEFAULTS_S = {
    "demographics": 15 * 60,
    "problems": 5 * 60,
    "allergies": 5 * 60,
    "immunizations": 5 * 60,
    "encounters": 5 * 60,
    "medications": 2 * 60,
    "vitals": 60,
    "labs": 60,
    "documents": 5 * 60,
}
DAY_S = 24 * 60 * 60
TUNABLES = {
    tunable.variable: tunable
    for tunable in (
        Tunable("SESSION_LIFETIME_S", 12 * 60 * 60, 5 * 60, 7 * DAY_S),
        Tunable("TOKEN_REFRESH_SKEW_S", 60, 1, 60 * 60),
        Tunable("TOKEN_REFRESH_BUDGET_S", 10, 0, 120, integer=False),
        Tunable("FHIR_CONNECT_TIMEOUT_S", 3, 0, 60, integer=False),
        Tunable("FHIR_READ_TIMEOUT_S", 10, 0, 300, integer=False),
        Tunable("FHIR_ATTEMPTS", 3, 1, 10),
        Tunable("FHIR_BACKOFF_BASE_S", 0.2, 0, 10, integer=False),
        Tunable("FHIR_RETRY_AFTER_CAP_S", 5, 0, 120, integer=False),
        Tunable("FHIR_MAX_PAGES", 5, 1, 100),
        Tunable("FHIR_MAX_ENTRIES", 1000, 1, 100_000),
        Tunable("FHIR_MAX_RESPONSE_BYTES", 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
        Tunable("FHIR_BREAKER_THRESHOLD", 5, 1, 1000),
        Tunable("FHIR_BREAKER_COOL_DOWN_S", 30, 0, 60 * 60, integer=False),
        Tunable("SUMMARY_BUDGET_S", 8, 0, 120, integer=False),
        Tunable("SUMMARY_WORKERS", 12, 1, 64),  # nine sections at once, and room
        Tunable("DRILLDOWN_BUDGET_S", 8, 0, 120, integer=False),
        # A document's content: the most the app reads of it, and how long it stays in the
        # encrypted cache (the page and the PDF or image it embeds read it once).
        Tunable("DOCUMENT_MAX_BYTES", 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
        Tunable("DOCUMENT_CACHE_TTL_S", 5 * 60, 1, DAY_S),
        Tunable("LAUNCH_STARTS_PER_WINDOW", 300, 1, 1_000_000),
        Tunable("LAUNCH_START_WINDOW_S", 60, 1, 60 * 60),
        # Days a PHI access record is kept before retention archives and deletes it (six
        # years by default: HIPAA's documentation retention, 45 CFR 164.316(b)(2)).
        Tunable("AUDIT_RETENTION_DAYS", 6 * 366, 1, 100 * 366),
        # Extraction (docs/extraction.md): resources per load statement; how long a worker
        # owns a file without progress before another may take it over; attempts per file;
        # the longest wait between status polls; the longest NDJSON line read.
        Tunable("EXTRACT_CHUNK", 500, 1, 50_000),
        Tunable("EXTRACT_FILE_LEASE_S", 120, 0, DAY_S, integer=False),
        Tunable("EXTRACT_FILE_ATTEMPTS", 3, 1, 20),
        Tunable("EXTRACT_POLL_CAP_S", 60, 0, 60 * 60, integer=False),
        Tunable("EXTRACT_MAX_LINE_BYTES", 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
        # The use-case API (docs/api.md): a service client's access token lifetime, and the
        # calls a client may make a minute unless its own limit says otherwise.
        Tunable("API_TOKEN_TTL_S", 900, 60, DAY_S),
        Tunable("API_RATE_LIMIT_PER_MINUTE", 120, 1, 1_000_000),
        *(
            Tunable(f"SUMMARY_TTL_{section.upper()}_S", seconds, 1, DAY_S)
            for section, seconds in SUMMARY_TTL_DEFAULTS_S.items()
        ),
    )
}
