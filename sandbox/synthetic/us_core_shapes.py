"""Patients carrying the shapes real EHRs and Synthea send (ids in US_CORE_SHAPE_PATIENTS).

Every value here is written out by hand: no randomness, so the shared generator's sequence
(and every other patient) is untouched, and the facts below hold on every run.

`us-core` (female, born `1958-07`, MRN `USC-0001`, SSN, driver's licence, passport). The
facts a test of an app would check; ids below drop their `us-core-` prefix:

| Id | Fact |
| --- | --- |
| `obs-bp-3` | latest blood pressure, LOINC 55284-4 (never 85354-9), 2026-09-15T09:30:12-04:00: |
|  | systolic 8480-6 188.72546355403142, diastolic 8462-4 115.22310436093298 mm[Hg] (high) |
| `obs-bp-2` | 2024-05-20: 151.0719340312768 / 97.44208723315981 mm[Hg] |
| `obs-bp-1` | `2021-03` (month precision): 141.33201375245 / 88.90123306519 mm[Hg] |
| `obs-vitals-panel` | 85353-1, values only in `component`, at the latest visit: heart rate |
|  | 8867-4 96 /min, respiratory rate 9279-1 18 /min (the latest heart rate) |
| `obs-hr` | standalone heart rate 78 /min on 2026-06-10, older than the panel |
| `obs-temp` | 8310-5, 37.83333333 Cel |
| `obs-weight` | 29463-7, 71.6619566789248 kg |
| `obs-height` | 8302-2, 160.10000000000002 cm |
| `obs-bmi` | 39156-5, 27.957993414845255 kg/m2 |
| `obs-spo2` | 2708-6, 96.5 % |
| `obs-cbc` | 58410-2 panel, no value, `hasMember` the four below (`report-cbc`: `result`) |
| `obs-wbc` | 6690-2, 12.8 10*3/uL, interpretation H, range 4.5-11 |
| `obs-hgb` | 718-7, 11.2 g/dL, interpretation L, range 12-15.5 |
| `obs-plt` | 777-3, 465 10*3/uL, range 150-450 and no interpretation (abnormal by range) |
| `obs-hct` | 4544-3, 38.1 %, status `corrected`, interpretation N |
| `obs-glucose` | 2345-7, 182 mg/dL, status `amended`, interpretation H |
| `obs-culture` | 600-7, `valueString` "No growth at 48 hours", status `preliminary` |
| `obs-nitrite` | 5802-4, `valueCodeableConcept` SNOMED 260385009 "Negative" |
| `obs-potassium` | 2823-3, no value, `dataAbsentReason` `error` |
| `obs-a1c-1` | 4548-4, 7.1 %, final, `2025-03`: the latest HbA1c to show |
| `obs-a1c-2` | 4548-4, 9.9 %, newer but `cancelled`: must not show |
| `medreq-prn` | acetaminophen 313782; dosage only `asNeededBoolean: true`, no text |
| `medreq-prn-pain` | ibuprofen 310965; `asNeededCodeableConcept` 22253000 "Pain", no text |
| `medreq-structured` | metformin 860975; 1 tablet twice a day by mouth; not as needed; no text |
| `medreq-contained` | contained Medication `#med1`: atorvastatin 617310 |
| `medreq-referenced` | `Medication/us-core-med-1`: amlodipine 197361 |
| `medreq-stopped` | lisinopril 314076, `stopped`: must not show |
| `cond-1` | hypertension 38341003, active, onset `2019`, recorded `2019-06` |
| `cond-2` | acute bronchitis 10509002, resolved, onset and recorded `2021-03` |
| `allergy-1` | penicillin 91936005, recorded `2015` |
| `imm-1` | influenza CVX 140, given `2012-10` |
| `enc-1`, `enc-2` | start `2022-02-03` (date only); 2026-09-15; `class` without display |

`partial-dates`: born `1940`, died `2020-05`; records dated `1998`, `2019-11`, `2020-04`...
`replaced-record`: `active: false`, linked `replaced-by` to `Patient/us-core`.

This module builds the Patients; `us_core_observations` the vital signs and labs,
`us_core_records` the orders, history and `partial-dates`' records, from `us_core_builders`.
"""

from __future__ import annotations

from sandbox.synthetic.codes import MRN_SYSTEM, US_CORE, V2_0203
from sandbox.synthetic.datatypes import Resource, concept, ref
from sandbox.synthetic.us_core_observations import us_core_labs, us_core_vital_signs
from sandbox.synthetic.us_core_records import (
    partial_dates_records,
    us_core_history,
    us_core_medications,
)

US_CORE_SHAPE_PATIENTS = {
    "us-core": "Synthea/US Core shapes: 55284-4 blood pressure, component-only vital signs, "
    "hasMember panels, string and coded results, dataAbsentReason, amended/corrected/"
    "preliminary/cancelled labs, as-needed and structured dosages, contained and referenced "
    "Medications, partial dates, four identifier types",
    "partial-dates": "born 1940 (year only), died 2020-05; records dated to the year or month",
    "replaced-record": "an inactive Patient replaced by us-core (link type replaced-by)",
}


def synthea_identifier(code: str, display: str, system: str, value: str) -> Resource:
    """An identifier typed with a v2-0203 code and the type's text, as Synthea writes them."""
    return {"type": concept(V2_0203, code, display, text=display), "system": system, "value": value}


def us_core_patient() -> Resource:
    """`us-core`: a living woman born in July 1958 (month precision), four identifier types."""
    return {
        "resourceType": "Patient",
        "id": "us-core",
        "meta": {"profile": [f"{US_CORE}/us-core-patient"]},
        "extension": [{"url": f"{US_CORE}/us-core-birthsex", "valueCode": "F"}],
        "identifier": [
            synthea_identifier("MR", "Medical Record Number", MRN_SYSTEM, "USC-0001"),
            synthea_identifier(
                "SS", "Social Security Number", "http://hl7.org/fhir/sid/us-ssn", "999-12-3456"
            ),
            synthea_identifier(
                "DL", "Driver's license number", "urn:oid:2.16.840.1.113883.4.3.25", "S99912345"
            ),
            synthea_identifier(
                "PPN",
                "Passport Number",
                "http://hl7.org/fhir/sid/passport-USA",
                "X12345678",
            ),
        ],
        "active": True,
        "name": [
            {
                "use": "official",
                "family": "Hale",
                "given": ["Rosalind", "Marie"],
                "prefix": ["Mrs."],
            }
        ],
        "telecom": [{"system": "phone", "value": "555-0199", "use": "home"}],
        "gender": "female",
        "birthDate": "1958-07",
        "address": [
            {
                "line": ["812 Lakeview Drive"],
                "city": "Springfield",
                "state": "IL",
                "postalCode": "62704",
                "country": "US",
            }
        ],
        "maritalStatus": concept(
            "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "M", "Married", text="M"
        ),
        "communication": [{"language": concept("urn:ietf:bcp:47", "en-US", "English (US)")}],
    }


def partial_dates_patient() -> Resource:
    """`partial-dates`: born in 1940 (the year only), died in May 2020 (no day)."""
    return {
        "resourceType": "Patient",
        "id": "partial-dates",
        "meta": {"profile": [f"{US_CORE}/us-core-patient"]},
        "active": True,
        "name": [{"use": "official", "family": "Yearonly", "given": ["Harold"]}],
        "gender": "male",
        "birthDate": "1940",
        "deceasedDateTime": "2020-05",
    }


def replaced_record() -> Resource:
    """`replaced-record`: an inactive Patient whose record now lives on as `us-core`."""
    return {
        "resourceType": "Patient",
        "id": "replaced-record",
        "active": False,
        "name": [{"family": "Hale", "given": ["Rosalind"]}],
        "link": [{"other": ref("Patient", "us-core"), "type": "replaced-by"}],
    }


def us_core_shape_patients() -> list[Resource]:
    """Every patient of US_CORE_SHAPE_PATIENTS, each followed by their records."""
    return [
        us_core_patient(),
        *us_core_history(),
        *us_core_vital_signs(),
        *us_core_labs(),
        *us_core_medications(),
        partial_dates_patient(),
        *partial_dates_records(),
        replaced_record(),
    ]
