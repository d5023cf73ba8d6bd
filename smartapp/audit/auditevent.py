"""An access row as a FHIR R4 AuditEvent, in the shape of IHE Basic Audit Log Patterns (BALP).

BALP "Read" / "Query" (https://profiles.ihe.net/ITI/BALP/), the Patient variants when the row
names a patient. A page that read only the Patient resource is a read (action R, restful
interaction `read`); anything that searched is a query (action E, `search-type`), which is
what the summary and its drill-downs do. BALP fixes `type` to audit-event-type#rest; DICOM
110110 "Patient Record" is carried as a further `subtype`. The agents follow BALP's client
pattern: the user (requestor, with the client's network address), this app (the source
role) and the EHR's FHIR server (the destination role, named by the connection's slug).

Pure: a mapping from a row to a dict, tested against fhirclient's strict R4 model.
"""

from __future__ import annotations

import base64
from typing import Any

from smartapp.audit.chain import canonical, fields_of
from smartapp.audit.records import AccessRecord

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
DCM = "http://dicom.nema.org/resources/ontology/DCM"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
ENTITY_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
APP = "smartapp"
CHAIN = "urn:smartapp:audit:chain"  # the row's place in the hash chain (smartapp.audit.chain)

# outcome string -> AuditEvent.outcome (0 success, 4 minor failure, 8 serious failure)
OUTCOMES = {"success": "0", "partial": "4", "ended": "4"}


def outcome_code(outcome: str) -> str:
    if outcome.startswith("failed:"):
        return "8"
    return OUTCOMES.get(outcome, "8")


def is_read(record: AccessRecord) -> bool:
    """Only the Patient resource was read (a banner, a lookup): a BALP Read, else a Query."""
    return set(record.resource_types) <= {"Patient"}


def _profile(record: AccessRecord) -> str:
    kind = "Read" if is_read(record) else "Query"
    return BALP + (f"Patient{kind}" if record.patient_id else kind)


def _agents(record: AccessRecord) -> list[dict[str, Any]]:
    user: dict[str, Any] = {
        "who": {"identifier": {"value": record.actor or "unknown"}},
        "requestor": True,
    }
    if record.client_address:
        user["network"] = {"address": record.client_address, "type": "2"}
    return [
        user,
        {
            "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
            "who": {"display": APP},
            "requestor": False,
        },
        {
            "type": {
                "coding": [{"system": DCM, "code": "110152", "display": "Destination Role ID"}]
            },
            "who": {"display": record.connection},
            "requestor": False,
        },
    ]


def _detail(kind: str, value: str) -> dict[str, str]:
    return {"type": kind, "valueString": value}


def _entities(record: AccessRecord) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    if record.patient_id:
        entities.append(
            {
                "what": {"reference": f"Patient/{record.patient_id}"},
                "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": ENTITY_ROLE, "code": "1", "display": "Patient"},
            }
        )
    data: dict[str, Any] = {
        "what": {"display": record.what},
        "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
        "role": {"system": ENTITY_ROLE, "code": "4", "display": "Domain Resource"},
        "detail": [
            _detail("resourceTypes", ",".join(record.resource_types)),
            _detail("sections", ",".join(record.sections)),
            _detail("launch", str(record.launch_id)),
            _detail("outcome", record.outcome),
        ],
    }
    if not is_read(record):
        data["role"] = {"system": ENTITY_ROLE, "code": "24", "display": "Query"}
        data["query"] = base64.b64encode(record.what.encode()).decode("ascii")
    entities.append(data)
    entities.append(
        {
            "what": {"identifier": {"value": record.request_id}},
            "type": {"system": BALP_ENTITY_TYPE, "code": "XrequestId", "display": "X-Request-Id"},
        }
    )
    return entities


def _chain(record: AccessRecord) -> dict[str, Any]:
    """seq, prev_hash, hash and the canonical bytes: enough to re-check the row's hash from
    an export or an archive alone (SHA-256 of prevHash + canonical = hash)."""
    hashed = base64.b64encode(canonical(fields_of(record.seq, record))).decode("ascii")
    return {
        "url": CHAIN,
        "extension": [
            {"url": "seq", "valueString": str(record.seq)},
            {"url": "prevHash", "valueString": record.prev_hash},
            {"url": "hash", "valueString": record.hash},
            {"url": "canonical", "valueBase64Binary": hashed},
        ],
    }


def to_auditevent(record: AccessRecord) -> dict[str, Any]:
    """The row as a FHIR R4 AuditEvent (JSON). `id` is the seq and the start of the hash, so
    the same row always exports under the same id."""
    read = is_read(record)
    interaction = "read" if read else "search-type"
    return {
        "resourceType": "AuditEvent",
        "id": f"{record.seq}-{record.hash[:16]}",
        "meta": {"profile": [_profile(record)]},
        "extension": [_chain(record)],
        "type": {"system": EVENT_TYPE, "code": "rest", "display": "Restful Operation"},
        "subtype": [
            {"system": RESTFUL, "code": interaction, "display": interaction},
            {"system": DCM, "code": "110110", "display": "Patient Record"},
        ],
        "action": "R" if read else "E",
        "recorded": fields_of(record.seq, record)["at"],
        "outcome": outcome_code(record.outcome),
        **({"outcomeDesc": record.outcome} if record.outcome != "success" else {}),
        "agent": _agents(record),
        "source": {
            "observer": {"display": record.connection},
            "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
        "entity": _entities(record),
    }
