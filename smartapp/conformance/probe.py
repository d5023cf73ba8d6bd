"""What one SMART server says and does, gathered as facts for `smart.conformance` (I/O only).

Every request goes through `smartapp.outbound` (timeouts, URL policies, byte caps); the TLS
handshake checks the URL policies first too. A timeout, a refused connection or a refused URL
becomes a fact (`HttpFacts.error`), never an exception. The token probe sends a made-up code
(RFC 6749 4.1.3) with the connection's real client authentication and keeps only the
answer's `error` code: no token, no secret and no request body is ever stored in a fact.
"""

from __future__ import annotations

import secrets
import socket
import ssl
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.parameters import prepare_token_request

from smart.client_auth import ClientCredentials, TokenRequest, method_for
from smart.conformance import (
    ConnectionNeeds,
    HttpFacts,
    Observations,
    TlsFacts,
    TokenProbe,
    endpoint,
    jwks_url,
    oauth_uris,
    openid_configuration_url,
)
from smart.url_policy import is_secure_url
from smartapp import outbound
from smartapp.clock import clock
from smartapp.token_endpoint import FORM_HEADERS

MAX_DOCUMENT_BYTES = 1024 * 1024  # a CapabilityStatement can be large; a megabyte is plenty
MAX_SECONDS = 15.0
TLS_TIMEOUT_S = 5.0
PROBE_CLIENT_ID = "smart-check"  # sent when no connection is known: any JSON error will do


def _why(exc: Exception) -> str:
    """A one-line reason for a failed request (the class says timeout or refusal)."""
    detail = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _send(purpose: outbound.Purpose, method: str, url: str, **request: object) -> HttpFacts:
    started = time.perf_counter()
    try:
        response = outbound.send_capped(
            purpose, method, url, max_bytes=MAX_DOCUMENT_BYTES, max_seconds=MAX_SECONDS, **request
        )
    except outbound.HTTPError as exc:
        return HttpFacts(url, error=_why(exc), duration_ms=_ms(started))
    body, parse_error = None, None
    try:
        body = response.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both are
        parse_error = type(exc).__name__
    return HttpFacts(
        url,
        response.status_code,
        response.headers.get("Content-Type", ""),
        body,
        parse_error,
        duration_ms=_ms(started),
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def fetch_json(purpose: outbound.Purpose, url: str, accept: str = "application/json") -> HttpFacts:
    return _send(purpose, "GET", url, headers={"Accept": accept})


def probe_token(
    token_url: str, credentials: ClientCredentials | None, redirect_uri: str
) -> TokenProbe:
    """POST an authorization_code grant for a code that was never issued.

    With credentials the answer tells whether the client authenticated (`invalid_grant`:
    yes; `invalid_client`: no). The prepared request carries the secret or assertion, so it
    goes straight to the wire; of the answer only the `error` code is kept.
    """
    form = prepare_token_request(
        "authorization_code",
        code=f"smart-check-{secrets.token_urlsafe(16)}",
        redirect_uri=redirect_uri,
        code_verifier=secrets.token_urlsafe(48),
        **({} if credentials else {"client_id": PROBE_CLIENT_ID}),
    )
    request = TokenRequest(token_url, dict(FORM_HEADERS), form)
    if credentials is not None:
        request = method_for(credentials.method).prepare(
            credentials, request, clock().now().timestamp()
        )
    seen = _send(
        outbound.Purpose.TOKEN, "POST", request.uri, content=request.body, headers=request.headers
    )
    answer = seen.body if isinstance(seen.body, dict) else None
    kept = None
    if answer is not None:
        error = answer.get("error")
        kept = {"error": error} if isinstance(error, str) else {}
    issued = answer is not None and "access_token" in answer
    safe = HttpFacts(
        seen.url, seen.status, seen.content_type, kept, seen.parse_error, seen.error,
        seen.duration_ms,
    )  # fmt: skip
    return TokenProbe(safe, authenticated=credentials is not None, issued=issued)


def probe_tls(origin: str) -> TlsFacts:
    """The server's certificate as the default context verifies it (chain and host name)."""
    parts = urlsplit(origin)
    if parts.scheme != "https" or not parts.hostname:
        return TlsFacts(origin)
    try:
        outbound.check_url(outbound.Purpose.DISCOVERY, origin)
        context = ssl.create_default_context()
        address = (parts.hostname, parts.port or 443)
        with (
            socket.create_connection(address, timeout=TLS_TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
        ):
            certificate = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as exc:
        return TlsFacts(origin, error=exc.verify_message or _why(exc))
    except (OSError, ssl.SSLError, outbound.HTTPError) as exc:
        return TlsFacts(origin, error=_why(exc))
    expires = certificate.get("notAfter")
    if not isinstance(expires, str):
        return TlsFacts(origin, error="no notAfter in the certificate")
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(expires), UTC)
    return TlsFacts(origin, verified=True, not_after=not_after)


def origins(urls: Iterable[str | None]) -> tuple[str, ...]:
    """scheme://host:port of each http(s) URL, each once, in order."""
    found: dict[str, None] = {}
    for url in urls:
        parts = urlsplit(url or "")
        if parts.scheme in ("http", "https") and parts.hostname:
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                continue
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            found.setdefault(f"{parts.scheme}://{host}:{port}")
    return tuple(found)


def gather(
    iss: str,
    needs: ConnectionNeeds | None,
    credentials: ClientCredentials | None,
    redirect_uri: str,
) -> Observations:
    """Every probe, in the order a client would make them; what one saw steers the next."""
    discovery = outbound.Purpose.DISCOVERY
    smart = fetch_json(discovery, f"{iss}/.well-known/smart-configuration")
    metadata = fetch_json(discovery, f"{iss}/metadata", "application/fhir+json")
    doc, uris = smart.json_object, oauth_uris(metadata.json_object)
    openid = None
    if (doc or {}).get("issuer") or jwks_url(doc, None) is None:
        openid = fetch_json(discovery, openid_configuration_url(iss, doc))
    keys_at = jwks_url(doc, openid.json_object if openid else None)
    keys = fetch_json(outbound.Purpose.JWKS, keys_at) if keys_at else None
    token_url = endpoint("token_endpoint", doc, uris)
    token = None
    if token_url and is_secure_url(token_url):  # never a credential over plain http
        token = probe_token(token_url, credentials, redirect_uri)
    hosts = origins([iss, endpoint("authorization_endpoint", doc, uris), token_url, keys_at])
    return Observations(
        iss, smart, metadata, openid, keys, token, tuple(probe_tls(o) for o in hosts), needs
    )
