"""Walking the sandbox's sign-in pages from code, for tests, QA scripts and benchmarks.

The sandbox keeps no cookies (the pending authorization rides in a signed `txn`), so a plain
HTTP client can play the user: pick who signs in, pick a patient, tick or untick scopes.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

TXN = re.compile(r'name="txn" value="([^"]+)"')
CHECKED_SCOPE = re.compile(r'name="scope" value="([^"]+)" checked')


def walk_authorization(
    http: httpx.Client,
    url: str,
    redirect_uri: str,
    *,
    user: str | None = "Patient/pat-01",
    patient: str | None = None,
    untick: tuple[str, ...] = (),
    deny: bool = False,
) -> str | httpx.Response:
    """Follow an authorization request through the sandbox's sign-in, patient picker and
    consent pages; the URL it finally redirects to at `redirect_uri`, or the page it stopped on.
    """
    response = http.get(url)
    for _ in range(8):
        if response.status_code != 302:
            return response
        location = response.headers["location"]
        if location.startswith(redirect_uri):
            return location
        page = http.get(location)
        txn = TXN.search(page.text)
        assert txn, f"no txn on {location}: {page.status_code}"
        form: dict[str, Any] = {"txn": txn[1]}
        if "/auth/login" in location:
            form["user"] = user
        elif "/auth/pick-patient" in location:
            form["patient"] = patient
        elif "/auth/consent" in location:
            offered = CHECKED_SCOPE.findall(page.text)
            form["decision"] = "deny" if deny else "allow"
            form["scope"] = [s for s in offered if s not in untick]
        response = http.post(location.split("?")[0], data=form)
    raise AssertionError("too many redirects in the authorization flow")
