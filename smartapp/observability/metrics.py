"""The app's Prometheus metrics: journeys, the upstream EHR, tokens, the audit trail.

Every label is a bounded, non-identifying value: the connection's slug (the tenant), a view's
URL name, a FHIR resource type the app itself asked for, a status class, an error code. No
label ever carries a patient id, a user, a launch handle or a URL with ids in it (Prometheus
keeps every label value as a separate series, and a scrape is readable by whoever operates
the monitoring stack). `tests/smartapp/observability/` scans a whole journey's scrape for
identifiers and tokens.

Under gunicorn's worker processes the values live in PROMETHEUS_MULTIPROC_DIR and /metrics
adds them up (prometheus_client's multiprocess mode; config/gunicorn.py marks dead workers).
docs/observability.md lists what each metric answers and the alerts built on them.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds: from a cached page (milliseconds) to a summary at the edge of its budget.
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 15.0, 30.0)
UNKNOWN = "unknown"  # the connection label outside a launch (no tenant to name)

# --- journeys -------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "smartapp_http_requests",
    "Requests answered, by view (URL name), method and status class.",
    ["view", "method", "status_class"],
)
HTTP_SECONDS = Histogram(
    "smartapp_http_request_seconds",
    "Time to the response (a streamed page: to its first byte), by view.",
    ["view"],
    buckets=SECONDS,
)
SUMMARY_FIRST_SECTION = Histogram(
    "smartapp_summary_first_section_seconds",
    "Patient summary: from the request to the first section shown (cached or fetched).",
    ["connection"],
    buckets=SECONDS,
)
SUMMARY_COMPLETE = Histogram(
    "smartapp_summary_complete_seconds",
    "Patient summary: from the request to the last section shown.",
    ["connection"],
    buckets=SECONDS,
)
SUMMARY_SECTIONS = Counter(
    "smartapp_summary_sections",
    "Summary sections shown, by status (ok, empty, partial, unavailable, not_shared).",
    ["connection", "section", "status"],
)
SUMMARY_CACHE = Counter(
    "smartapp_summary_cache",
    "Summary section cache lookups (hit or miss); a refresh asked for is not a lookup.",
    ["connection", "section", "result"],
)
LAUNCHES = Counter(
    "smartapp_launches",
    "Launches finished at the callback: outcome ok, or the failure's error code.",
    ["connection", "kind", "outcome"],
)
SIGN_OUTS = Counter("smartapp_sign_outs", "Launches the user signed out of.", ["connection"])
SESSIONS_ENDED = Counter(
    "smartapp_sessions_ended",
    "Signed-in launches ended, by cause (sign_out, grant_lost, expired, ...).",
    ["connection", "cause"],
)

# --- the upstream EHR -----------------------------------------------------------------------

FHIR_REQUESTS = Counter(
    "smartapp_fhir_requests",
    "FHIR calls (retries included in one call), by resource type, interaction and status "
    "class (2xx..5xx; error: no answer; refused: the circuit was open).",
    ["connection", "resource_type", "interaction", "status_class"],
)
FHIR_SECONDS = Histogram(
    "smartapp_fhir_request_seconds",
    "FHIR call time, retries and back-off included.",
    ["connection", "resource_type", "interaction"],
    buckets=SECONDS,
)
TOKEN_REQUESTS = Counter(
    "smartapp_token_requests",
    "Token endpoint calls by grant type and outcome (ok, the OAuth error, or unanswered).",
    ["connection", "grant", "outcome"],
)
TOKEN_SECONDS = Histogram(
    "smartapp_token_request_seconds",
    "Token endpoint call time.",
    ["connection", "grant"],
    buckets=SECONDS,
)
REFRESH_LOCK_WAIT = Histogram(
    "smartapp_refresh_lock_wait_seconds",
    "Time spent waiting for a launch's single-flight refresh lock, by lock strategy.",
    ["strategy"],
    buckets=SECONDS,
)
CIRCUIT_OPEN = Gauge(
    "smartapp_circuit_open",
    "1 while this process's circuit breaker for the connection's FHIR base is open.",
    ["connection"],
    multiprocess_mode="max",
)
DISCOVERY_FETCHES = Counter(
    "smartapp_discovery_fetches",
    "SMART configuration fetches (.well-known/smart-configuration), by outcome.",
    ["connection", "outcome"],
)

# --- the PHI access trail -------------------------------------------------------------------

AUDIT_RECORDS = Counter(
    "smartapp_audit_records",
    "PHI access records written, by what was accessed and the outcome class.",
    ["what", "outcome"],
)
AUDIT_WRITE_FAILURES = Counter(
    "smartapp_audit_write_failures",
    "PHI access records that could not be written (alert on any).",
)


def status_class(status: int) -> str:
    """`2xx` .. `5xx` for an HTTP status (a bounded label)."""
    return f"{min(max(status // 100, 1), 5)}xx"


LAUNCH_STEPS_DROPPED = Counter(
    "smartapp_launch_steps_dropped",
    "Launch debugger steps not kept: over a launch's cap, or a full write queue.",
    ["reason"],
)

# --- the use-case API -----------------------------------------------------------------------

# The client label is the API client's id (a product, issued by staff: a handful), never a
# user, a patient or a token; "unknown" for a token that named no live client.
API_CALLS = Counter(
    "smartapp_api_calls",
    "Service-client calls of the use-case API, by client and outcome "
    "(accepted, rate_limited, refused).",
    ["client", "outcome"],
)
