"""Deterministic synthetic patients, US Core-shaped, for the sandbox EHR.

No network and no clock: a fixed seed and a fixed anchor date, so every run (laptop, CI,
benchmark) sees the same patients, the same latest vital signs and the same abnormal labs.
Codes come from the real systems a summary must read: LOINC for vital signs and labs (with
UCUM units, reference ranges and `interpretation`), SNOMED CT for problems and allergies,
RxNorm for medications, CVX for immunizations.

Besides 25 ordinary patients there are the edge cases real deployments meet (ids stable,
listed in EDGE_CASE_PATIENTS): no data at all, more than 500 observations, entered-in-error and
inactive/resolved records, unknown code systems and codings without display, several names
and identifiers, a deceased patient, non-ASCII names, and text fields carrying HTML and script.
Last come the shapes real EHRs and Synthea send (ids in US_CORE_SHAPE_PATIENTS): LOINC 55284-4
blood pressure, component-only vital signs, panels with `hasMember`, string and coded results,
`dataAbsentReason`, as-needed and structured dosages, contained and referenced Medications,
year- and month-precision dates, and a Patient replaced by another.

The modules, one per purpose:
- `codes`: code systems and the clinical catalogue (problems, drugs, labs, vital signs...);
- `datatypes`: CodeableConcept, Reference, Quantity and instant builders;
- `people`: practitioners and Patient resources;
- `chart`: one patient's record (encounters, observations, conditions, orders...);
- `ordinary`: the 25 ordinary patients and the shared Medication their orders reference;
- `edge_cases`: the edge-case patients;
- `us_core_shapes`: the Synthea/US Core-shaped patients (no randomness: fixed values), with
  `us_core_observations` (their vital signs and labs), `us_core_records` (orders, history)
  and `us_core_builders` (the resources as Synthea writes them);
- `documents`: clinical notes and documents (DocumentReference, DiagnosticReport
  `presentedForm`, Binary) for `pat-01`, `xss` and `us-core`, with `document_ids` (their ids),
  `document_texts` (their words), `document_files` (PDF, PNG, RTF bytes; Attachments) and
  `document_shapes` (the `xss` and `us-core` ones);
- `groups`: the Groups a Bulk Data group-level `$export` names (`all-patients`, `cohort-a`),
  synthesized by the store from the Patients it holds rather than generated here;
- `population`: a large deterministic benchmark population (`pop-<n>` patients), not part of
  `generate()`: the store adds it when `sandbox_seed --patients N` or SANDBOX_POPULATION asks.

This package's own names (`generate`, and the constants tests and callers read) are its API.
"""

from __future__ import annotations

import random

from sandbox.synthetic.codes import CVX, LOINC, RXNORM, SNOMED, UCUM
from sandbox.synthetic.datatypes import Resource
from sandbox.synthetic.documents import DOCUMENT_IDS, document_resources
from sandbox.synthetic.edge_cases import EDGE_CASE_PATIENTS, XSS_PAYLOADS, edge_case_patients
from sandbox.synthetic.groups import GROUP_IDS
from sandbox.synthetic.ordinary import REGULAR_PATIENTS, ordinary_patients, shared_medication
from sandbox.synthetic.people import practitioner_resources
from sandbox.synthetic.us_core_shapes import US_CORE_SHAPE_PATIENTS, us_core_shape_patients

__all__ = [
    "CVX",
    "DOCUMENT_IDS",
    "EDGE_CASE_PATIENTS",
    "GROUP_IDS",
    "LOINC",
    "REGULAR_PATIENTS",
    "RXNORM",
    "SEED",
    "SNOMED",
    "UCUM",
    "US_CORE_SHAPE_PATIENTS",
    "XSS_PAYLOADS",
    "Resource",
    "generate",
]

SEED = 20261121


def generate() -> list[Resource]:
    """All sandbox resources: practitioners, shared medications, patients and their records,
    then clinical documents."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible synthetic data, not secrets
    return [
        *practitioner_resources(),
        shared_medication(),
        *ordinary_patients(rng),
        *edge_case_patients(rng),
        *us_core_shape_patients(),  # drawing nothing from `rng`
        *document_resources(),  # last, and drawing nothing from `rng` either
    ]
