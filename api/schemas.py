"""The use-case API's v1 schemas: the summary contract (smartapp/summary/contract.py) as typed
JSON, from which the OpenAPI document is generated.

The API's schemas are its own, not the contract's dataclasses: v1 must stay what it is when
the contract's next version changes (docs/api.md, "Versions"). Each item schema is filled
from its contract value by attribute (`from_attributes`), so a field is mapped once, here,
and `tests/api/test_schemas.py` fails when the contract gains a field v1 does not carry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


# --- values ----------------------------------------------------------------------------------


class CodingOut(Out):
    system: str | None
    code: str | None
    display: str | None


class ConceptOut(Out):
    text: str | None
    label: str = Field(description="what to show: the text, else a display, else the code")
    codings: list[CodingOut]


class DemographicsOut(Out):
    name: str
    other_names: list[str]
    birth_date: str | None = Field(description="at the precision sent: 1958, 1958-07, 1958-07-14")
    age: int | None = Field(description="whole years (at death for the deceased)")
    sex: str | None
    mrns: list[str] = Field(description="medical record numbers only")
    deceased: bool
    deceased_date: str | None
    replaced: bool = Field(description="Patient.link replaced-by: replaced by another record")


class ProblemOut(Out):
    concept: ConceptOut
    clinical_status: str
    onset: str | None
    recorded: str | None


class MedicationOut(Out):
    concept: ConceptOut
    status: str
    date: str | None
    dosage: str | None
    sources: list[str] = Field(description='"order" and/or "patient-reported"')
    as_needed: bool


class AllergyOut(Out):
    concept: ConceptOut
    criticality: str | None
    clinical_status: str
    category: list[str]
    recorded: str | None


class ImmunizationOut(Out):
    concept: ConceptOut
    date: str | None
    status: str


class VitalSignOut(Out):
    kind: str
    label: str
    value: str = Field(description='as shown: "189/102" for blood pressure')
    unit: str | None
    date: str | None
    code: str = Field(description="the LOINC code of the observation read")
    source_value: str
    source_unit: str | None
    flag: str | None
    flag_source: str | None
    status: str


class LabResultOut(Out):
    concept: ConceptOut
    value: str
    unit: str | None
    date: str | None
    reference_range: str | None
    flag: str | None
    abnormal: bool
    flag_source: str | None
    source_value: str
    source_unit: str | None
    status: str


class EncounterOut(Out):
    type: str
    encounter_class: str | None
    start: str | None
    end: str | None
    status: str


class DocumentOut(Out):
    resource_type: Literal["DocumentReference", "DiagnosticReport"]
    id: str
    concept: ConceptOut
    title: str
    date: str | None
    author: str | None
    status: str
    categories: list[str]
    formats: list[str]


ITEM_SCHEMAS: dict[str, type[Out]] = {
    "demographics": DemographicsOut,
    "problems": ProblemOut,
    "medications": MedicationOut,
    "allergies": AllergyOut,
    "immunizations": ImmunizationOut,
    "vitals": VitalSignOut,
    "labs": LabResultOut,
    "encounters": EncounterOut,
    "documents": DocumentOut,
}

# --- sections --------------------------------------------------------------------------------

Status = Literal["ok", "empty", "partial", "not_shared", "unavailable"]


class Provenance(BaseModel):
    source: Literal["ehr", "store"] = Field(
        description="ehr: read from the EHR for this launch (or its encrypted cache); "
        "store: the canonical store that extraction fills"
    )
    connection: str = Field(description="the EHR connection's slug")
    retrieved_at: datetime | None = Field(description="when the data was read from the EHR")


class SectionBase(BaseModel):
    name: str
    title: str
    status: Status
    reason: str | None = Field(description="why it is unavailable, in words for a user")
    truncated: bool = Field(description="more existed than was read (the page caps)")
    provenance: Provenance


class DemographicsSection(SectionBase):
    name: Literal["demographics"]
    items: list[DemographicsOut]


class ProblemsSection(SectionBase):
    name: Literal["problems"]
    items: list[ProblemOut]


class MedicationsSection(SectionBase):
    name: Literal["medications"]
    items: list[MedicationOut]


class AllergiesSection(SectionBase):
    name: Literal["allergies"]
    items: list[AllergyOut]


class ImmunizationsSection(SectionBase):
    name: Literal["immunizations"]
    items: list[ImmunizationOut]


class VitalsSection(SectionBase):
    name: Literal["vitals"]
    items: list[VitalSignOut]


class LabsSection(SectionBase):
    name: Literal["labs"]
    items: list[LabResultOut]


class EncountersSection(SectionBase):
    name: Literal["encounters"]
    items: list[EncounterOut]


class DocumentsSection(SectionBase):
    name: Literal["documents"]
    items: list[DocumentOut]


SECTION_SCHEMAS: dict[str, type[SectionBase]] = {
    "demographics": DemographicsSection,
    "problems": ProblemsSection,
    "medications": MedicationsSection,
    "allergies": AllergiesSection,
    "immunizations": ImmunizationsSection,
    "vitals": VitalsSection,
    "labs": LabsSection,
    "encounters": EncountersSection,
    "documents": DocumentsSection,
}

AnySection = (
    DemographicsSection
    | ProblemsSection
    | MedicationsSection
    | AllergiesSection
    | ImmunizationsSection
    | VitalsSection
    | LabsSection
    | EncountersSection
    | DocumentsSection
)


class Sections(BaseModel):
    """Every section, by name (a section the grant did not cover is `not_shared`)."""

    demographics: DemographicsSection
    problems: ProblemsSection
    medications: MedicationsSection
    allergies: AllergiesSection
    immunizations: ImmunizationsSection
    vitals: VitalsSection
    labs: LabsSection
    encounters: EncountersSection
    documents: DocumentsSection


class SummaryOut(BaseModel):
    schema_version: int = Field(description="the summary contract's version it was built with")
    patient_id: str
    sections: Sections


class Page(BaseModel):
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
    total: int | None = Field(
        description="items across all pages, after the filters (null: the EHR does not say)"
    )


class SectionPage(BaseModel):
    section: AnySection = Field(description="the section, its `items` one page of them")
    page: Page


class ResultsOut(BaseModel):
    """The latest result of each kind: vital signs and laboratory results."""

    patient_id: str
    vitals: list[VitalSignOut]
    labs: list[LabResultOut]
    sections: list[VitalsSection | LabsSection] = Field(
        description="the sections read (status, freshness, provenance), without their items"
    )


class MedicationsOut(BaseModel):
    patient_id: str
    medications: list[MedicationOut]
    section: MedicationsSection = Field(description="status, freshness, provenance; no items")


class PatientLine(BaseModel):
    """What the patient banner shows."""

    patient_id: str
    demographics: DemographicsOut | None = Field(description="null when Patient is not shared")


class PatientMatch(BaseModel):
    id: str
    demographics: DemographicsOut


class PatientList(BaseModel):
    patients: list[PatientMatch]
    page: Page


# --- the browser's session -------------------------------------------------------------------


class LiveLaunch(BaseModel):
    handle: str = Field(description="the launch's opaque handle: /api/v1/launches/{handle}/")
    connection: str
    ehr_name: str
    kind: str
    patient_id: str | None
    user: str | None = Field(description="the fhirUser the EHR named, if any")
    started_at: datetime
    ends_at: datetime = Field(description="when the session ends if left idle")
    summary_url: str
    sign_out_url: str


class SessionOut(BaseModel):
    signed_in: bool
    launches: list[LiveLaunch]
    sign_out_url: str = Field(description="ends every launch of this browser (POST)")


# --- errors ----------------------------------------------------------------------------------


class Problem(BaseModel):
    """RFC 9457 problem details, with the app's reference code."""

    type: str = Field(description="the code's entry on the API reference page")
    title: str
    status: int
    detail: str
    code: str = Field(description="the app's reference code (stable)")
    instance: str | None = Field(default=None, description="the request id, for support")
    next_step: str | None = Field(default=None, description="relaunch, try_again or none")


# The statuses an operation may answer with a Problem: the API's own refusals and the app's
# error classes' (smart/errors.py). Documented, so a client (and schemathesis) knows them all.
CLIENT_ERRORS = frozenset({400, 401, 403, 404, 409, 410, 422, 429})
SERVER_ERRORS = frozenset({500, 502, 503, 504})
ERRORS: dict[Any, Any] = {CLIENT_ERRORS: Problem, SERVER_ERRORS: Problem}


# --- query parameters (the browser's and the service clients' operations share them) -----


Category = Literal["vital-signs", "laboratory"]  # the results' filter (api.summaries)


class ResultsQuery(BaseModel):
    category: Category | None = None
    code: str | None = Field(None, max_length=100, description="a code of the result (LOINC)")


class MedicationsQuery(BaseModel):
    status: str | None = Field(None, max_length=40, description="e.g. active, on-hold")
