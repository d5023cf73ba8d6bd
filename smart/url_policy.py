"""Which URLs may carry SMART traffic: absolute https, or http to a loopback host.

RFC 6749 3.1 and 3.1.2.1 require TLS for the authorization and redirection endpoints; RFC 8252
7.3 exempts loopback redirects, which is what the demo and the tests use. Every endpoint the
app learns from discovery, and every FHIR base it registers, passes `is_secure_url`.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


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
