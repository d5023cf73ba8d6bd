"""Synthetic Groups: the cohorts a Bulk Data group-level `$export` names.

FHIR Bulk Data Access (export.html, "Endpoint - Group of Patients"): `GET [base]/Group/[id]/
$export` exports the compartments of the Group's `member[].entity` Patients. Two groups,
built from whatever Patients the store holds, so bundles loaded with `sandbox_load` and any
generated population count too:

- `all-patients`: every Patient in the store;
- `cohort-a`: a fixed, deterministic subset, the first COHORT_A_SIZE ordinary patients
  (`pat-01`, `pat-02`, `pat-03`) that the store holds.

A Group is an actual, person-typed Group (FHIR R4 group.html) whose members are
`{"entity": {"reference": "Patient/<id>"}}`, in id order.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.synthetic.datatypes import Resource

ALL_PATIENTS = "all-patients"
COHORT_A = "cohort-a"
COHORT_A_SIZE = 3
COHORT_A_MEMBERS = tuple(f"pat-{number:02d}" for number in range(1, COHORT_A_SIZE + 1))
GROUP_IDS = (ALL_PATIENTS, COHORT_A)
# The instant every synthetic resource was "last updated" (see FhirStore.put): deterministic.
FIXED_LAST_UPDATED = "2026-01-01T00:00:00Z"
_NAMES = {ALL_PATIENTS: "Every patient in the sandbox", COHORT_A: "Cohort A"}


def group_members(group_id: str, patient_ids: Iterable[str]) -> list[str] | None:
    """The member patient ids of a synthetic group, given the store's Patient ids; None for
    an id that names no synthetic group."""
    present = sorted(set(patient_ids))
    if group_id == ALL_PATIENTS:
        return present
    if group_id == COHORT_A:
        return [pid for pid in present if pid in COHORT_A_MEMBERS]
    return None


def group_resource(group_id: str, members: Iterable[str]) -> Resource:
    """The Group resource for `group_id` with these member patient ids."""
    ids = list(members)
    return {
        "resourceType": "Group",
        "id": group_id,
        "meta": {"versionId": "1", "lastUpdated": FIXED_LAST_UPDATED},
        "type": "person",
        "actual": True,
        "name": _NAMES.get(group_id, group_id),
        "quantity": len(ids),
        "member": [{"entity": {"reference": f"Patient/{pid}"}} for pid in ids],
    }


def group_resources(patient_ids: Iterable[str]) -> list[Resource]:
    """Every synthetic Group over these Patient ids."""
    ids = list(patient_ids)
    return [group_resource(gid, group_members(gid, ids) or []) for gid in GROUP_IDS]
