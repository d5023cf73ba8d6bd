"""Which browser session a launch belongs to.

A launch records a hash of a random id kept only in the browser's server-side session; a
callback or page from any other session is refused (RFC 9700 4.7: the state is bound to the
user agent). The session also lists the launch handles it may open.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.sessions.backends.base import SessionBase

SESSION_BROWSER = "smart.browser"
SESSION_LAUNCHES = "smart.launches"
MAX_LAUNCHES_PER_SESSION = 20


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def browser_of(session: SessionBase) -> str:
    """A stable, random id for this browser session, stored only in the session."""
    if SESSION_BROWSER not in session:
        session[SESSION_BROWSER] = secrets.token_urlsafe(32)
    return sha256(session[SESSION_BROWSER])


def remember(session: SessionBase, handle: str) -> None:
    handles = [h for h in session.get(SESSION_LAUNCHES, []) if h != handle]
    session[SESSION_LAUNCHES] = [*handles, handle][-MAX_LAUNCHES_PER_SESSION:]


def handles(session: SessionBase) -> list[str]:
    return list(session.get(SESSION_LAUNCHES, []))
