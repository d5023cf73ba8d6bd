"""The people in the sandbox's FHIR data as its pages show them: practitioners and patients
to sign in as or pick, their display names, and who is signed in when nobody chose.
"""

from __future__ import annotations

from typing import Any

from sandbox.fhir_store import get_store

DEFAULT_PATIENT = "pat-01"
DEFAULT_PRACTITIONER = "prac-1"


def user_ref(raw: str) -> str | None:
    """`Practitioner/x`, `Patient/y` or a bare id, if it names someone in the store."""
    store = get_store()
    if "/" in raw:
        rtype, rid = raw.split("/", 1)
        return raw if rtype in ("Practitioner", "Patient") and store.get(rtype, rid) else None
    for rtype in ("Practitioner", "Patient"):
        if store.get(rtype, raw):
            return f"{rtype}/{raw}"
    return None


def people(rtype: str) -> list[tuple[str, str]]:
    store = get_store()
    return [(f"{rtype}/{r['id']}", display_name(r)) for r in store.search(rtype, [])]


def display_name(resource: dict[str, Any]) -> str:
    for name in resource.get("name", []):
        if name.get("text"):
            return str(name["text"])
        parts = [*name.get("given", []), name.get("family", "")]
        return " ".join(part for part in parts if part)
    return str(resource.get("id"))
