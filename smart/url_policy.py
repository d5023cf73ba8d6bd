"""Which URLs may carry SMART traffic: absolute https, or http to a loopback host.

RFC 6749 3.1 and 3.1.2.1 require TLS for the authorization and redirection endpoints; RFC 8252
7.3 exempts loopback redirects, which is what the demo and the tests use. Every endpoint the
app learns from discovery, and every FHIR base it registers, passes `is_secure_url`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_secure_url(value: str) -> bool:
    """An absolute URL over https, or over http to a loopback host (RFC 8252 7.3)."""
    parts = urlsplit(value)
    if not parts.netloc:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))


_DEFAULT_PORTS = {"https": 443, "http": 80}
_URL_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)


def _origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL without userinfo, else None."""
    parts = urlsplit(value)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:  # a port out of range or not a number
        return None
    return parts.scheme, parts.hostname, port


def is_same_origin_url(value: str, origins: Iterable[str]) -> bool:
    """`value` passes `is_secure_url` and has the scheme, host and port of one of `origins`.

    For documents the server itself fetches on an EHR's word (`smart_style_url`): anything
    else would let a token response point the app at an internal address (server-side request
    forgery). Characters outside RFC 3986 (a backslash, whitespace, controls) are refused
    outright, so no two URL parsers can disagree about which host is meant.
    """
    if not set(value) <= _URL_CHARS or not is_secure_url(value):
        return False
    target = _origin(value)
    return target is not None and any(target == _origin(origin) for origin in origins)


def _dot_segment(segment: str) -> bool:
    """`.` or `..`, also encoded (`%2e%2e`, `%252e`) or with path parameters (`..;x`), which
    Tomcat and older Jetty read as `..`."""
    decoded = unquote(unquote(segment))
    return decoded.split(";", 1)[0] in (".", "..")


def is_within_base(url: str, base: str) -> bool:
    """`url` may carry the bearer token issued for the FHIR base `base`.

    The same scheme, host and port as the base, and a path at or under the base's path, with
    no dot segments (`/fhir/../admin` is not under `/fhir`) and only RFC 3986 characters, so
    no two parsers can disagree about where it goes. A token is scoped to one FHIR server
    (SMART App Launch 2.x: the `aud` of the authorization request): a `next` link, an
    absolute reference or an attachment URL anywhere else never gets it, however the EHR
    that sent the link was compromised or confused.
    """
    if not set(url) <= _URL_CHARS:
        return False
    target, home = _origin(url), _origin(base)
    if target is None or target != home:
        return False
    path = urlsplit(url).path
    if any(_dot_segment(segment) for segment in path.split("/")):
        return False
    if "%2f" in path.lower() or "%5c" in path.lower():  # an encoded / or \ some servers decode
        return False
    prefix = urlsplit(base).path.rstrip("/")
    return path == prefix or path.startswith(prefix + "/") or (not prefix and path == "")
