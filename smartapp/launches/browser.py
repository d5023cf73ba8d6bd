"""Which browser a launch belongs to: a cookie of its own, bound to the launch's row.

Each launch is bound to the browser that started it by a random 256-bit secret in a cookie
named after the launch (`smartapp_l_<handle>`); the row keeps only the secret's SHA-256
(RFC 9700 4.7: the authorization response is bound to the user agent that asked for it).
The database row is the one source of truth; nothing about launches lives in a shared
session blob.

- **Concurrency.** Each launch having a cookie of its own is what makes two tabs safe: two
  sign-ins started, or finished, at the same moment each set their own cookie, so neither can
  overwrite the other, and there is no read-modify-write of shared state anywhere. (A list of
  launches in one session cookie lost one launch of every two racing callbacks, and two
  first-contact launches minted two sessions of which the browser kept one: issue 12.)
  ASP.NET Core's OAuth handler does the same with its per-request correlation cookies.
- **Rotation.** The secret is replaced when the launch becomes active (a new identifier at a
  change of privilege, OWASP Session Management): a cookie planted in or copied from the
  browser before the sign-in finished (session fixation) grants nothing afterwards.
- **Attributes.** `HttpOnly; Secure; SameSite=None; Partitioned`, like the session cookie, so
  it works inside the EHR's iframe (`PartitionedCookieMiddleware` adds `Partitioned`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse

COOKIE_PREFIX = "smartapp_l_"
MAX_LAUNCHES_PER_BROWSER = 20  # cookies kept; the oldest beyond this are dropped
SECRET_BYTES = 32
_HANDLE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, repr=False)
class Binding:
    """A launch's browser secret: the cookie's value goes to the browser, the hash to the row."""

    handle: str
    secret: str

    @classmethod
    def new(cls, handle: str) -> Binding:
        return cls(handle, secrets.token_urlsafe(SECRET_BYTES))

    @property
    def hash(self) -> str:
        return sha256(self.secret)

    def __repr__(self) -> str:
        return f"Binding({self.handle[:6]}...)"


def cookie_name(handle: str) -> str:
    return f"{COOKIE_PREFIX}{handle}"


def owns(cookies: Mapping[str, str], handle: str, bound_hash: str) -> bool:
    """Whether this browser holds the secret the launch `handle` is bound to."""
    secret = cookies.get(cookie_name(handle))
    if not secret or not bound_hash:
        return False
    return hmac.compare_digest(sha256(secret), bound_hash)


def handles_in(cookies: Mapping[str, str]) -> list[str]:
    """The launches this browser holds a cookie for (not yet checked against their rows)."""
    found = (name.removeprefix(COOKIE_PREFIX) for name in cookies if name.startswith(COOKIE_PREFIX))
    return [handle for handle in found if _HANDLE.fullmatch(handle)]


def set_cookie(response: HttpResponse, binding: Binding, max_age: int) -> None:
    response.set_cookie(
        cookie_name(binding.handle),
        binding.secret,
        max_age=max_age,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="None",
    )


def delete_cookie(response: HttpResponse, handle: str) -> None:
    response.delete_cookie(cookie_name(handle), path="/", samesite="None")
