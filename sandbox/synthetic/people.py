"""The people in the synthetic record: practitioners, and Patient resources with names,
an MRN, a phone number and an address.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sandbox.synthetic.codes import MRN_SYSTEM, US_CORE, V2_0203
from sandbox.synthetic.datatypes import Resource, concept

FAMILY = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Clark",
]
GIVEN_F = ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Susan", "Jessica", "Sarah"]
GIVEN_M = ["James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph"]
PRACTITIONERS = [
    ("prac-1", "Alvarez", "Maria", "MD"),
    ("prac-2", "Okafor", "Chinedu", "MD"),
    ("prac-3", "Lindqvist", "Astrid", "NP"),
]


def practitioner_resources() -> list[Resource]:
    """One Practitioner per row of PRACTITIONERS, with an NPI."""
    return [
        {
            "resourceType": "Practitioner",
            "id": pid,
            "meta": {"profile": [f"{US_CORE}/us-core-practitioner"]},
            "identifier": [
                {"system": "http://hl7.org/fhir/sid/us-npi", "value": f"19{pid[-1] * 8}"}
            ],
            "active": True,
            "name": [{"family": family, "given": [given], "suffix": [suffix]}],
        }
        for pid, family, given, suffix in PRACTITIONERS
    ]


def patient_resource(
    pid: str,
    number: int,
    family: str,
    given: list[str],
    gender: str,
    birth: date,
    **extra: Any,
) -> Resource:
    resource: Resource = {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": [f"{US_CORE}/us-core-patient"]},
        "identifier": [
            {
                "use": "usual",
                "type": concept(V2_0203, "MR", "Medical record number"),
                "system": MRN_SYSTEM,
                "value": f"MRN{100000 + number}",
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": family, "given": given}],
        "telecom": [{"system": "phone", "value": f"555-01{number:02d}", "use": "home"}],
        "gender": gender,
        "birthDate": birth.isoformat(),
        "address": [
            {
                "line": [f"{100 + number} Main Street"],
                "city": "Springfield",
                "state": "IL",
                "postalCode": "62701",
                "country": "US",
            }
        ],
    }
    resource.update(extra)
    return resource
