"""smartapp.audit.auditevent: each row is a FHIR R4 AuditEvent fhirclient accepts strictly,
in the BALP read/query shape, carrying what re-checks its hash."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from fhirclient.models.auditevent import AuditEvent

from smartapp.audit import chain
from smartapp.audit.auditevent import BALP, outcome_code, to_auditevent
from smartapp.audit.records import AccessRecord
from tests.smartapp.audit.conftest import entry

pytestmark = pytest.mark.django_db
AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _event(**overrides: Any) -> dict[str, Any]:
    return to_auditevent(chain.append(entry(at=AT, **overrides)))


def test_a_query_is_a_strict_r4_auditevent_of_the_patient_query_shape() -> None:
    event = _event()
    parsed = AuditEvent(event)  # strict: raises on any element R4 does not allow
    assert parsed.meta.profile == [BALP + "PatientQuery"]
    assert (parsed.action, parsed.outcome, parsed.recorded.isostring[:19]) == (
        "E",
        "0",
        "2025-01-02T03:04:05",
    )
    assert [c.code for c in parsed.subtype] == ["search-type", "110110"]
    user, app = parsed.agent[0], parsed.agent[1]
    assert (user.who.identifier.value, user.requestor, user.network.address) == (
        "Practitioner/p1",
        True,
        "10.0.0.7",
    )
    assert user.network.type == "2"
    assert (app.who.display, app.requestor) == ("smartapp", False)
    assert parsed.source.observer.display == "general"
    patient, data = parsed.entity[0], parsed.entity[1]
    assert (patient.what.reference, patient.role.code) == ("Patient/pat-1", "1")
    details = {d.type: d.valueString for d in data.detail}
    assert details["resourceTypes"] == "Condition,Observation"
    assert details["sections"] == "problems,vitals"
    assert details["launch"] == "12345678-1234-5678-1234-567812345678"
    assert parsed.entity[2].what.identifier.value == "req-00000001"


def test_a_patient_only_read_is_a_read() -> None:
    parsed = AuditEvent(_event(resource_types=("Patient",), what="banner"))
    assert (parsed.action, parsed.subtype[0].code) == ("R", "read")
    assert parsed.meta.profile == [BALP + "PatientRead"]


def test_without_a_patient_there_is_no_patient_entity() -> None:
    parsed = AuditEvent(_event(patient_id="", client_address="", actor=""))
    assert parsed.meta.profile == [BALP + "Query"]
    assert all(e.what.reference is None for e in parsed.entity)


@pytest.mark.parametrize(
    ("outcome", "code"),
    [("success", "0"), ("partial", "4"), ("ended", "4"), ("failed:session_expired", "8")],
)
def test_outcomes_map_to_auditevent_codes(outcome: str, code: str) -> None:
    assert outcome_code(outcome) == code
    assert AuditEvent(_event(outcome=outcome)).outcome == code


def test_the_id_is_stable_and_the_chain_extension_rechecks_the_hash() -> None:
    event = _event()
    row = AccessRecord.objects.get()
    assert event["id"] == f"1-{row.hash[:16]}" == to_auditevent(row)["id"]
    link = {
        e["url"]: next(v for k, v in e.items() if k.startswith("value"))
        for e in event["extension"][0]["extension"]
    }
    hashed = base64.b64decode(link["canonical"])
    assert hashlib.sha256(link["prevHash"].encode() + hashed).hexdigest() == link["hash"]
