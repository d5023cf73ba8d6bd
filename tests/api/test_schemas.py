"""v1's schemas against the contract they carry, and the OpenAPI document they make."""

from __future__ import annotations

import dataclasses

import pytest
from django.test import Client

from api import schemas
from smart import errors
from smartapp.summary import contract
from smartapp.summary import sections as registry

CONTRACT = {
    "demographics": contract.Demographics,
    "problems": contract.Problem,
    "medications": contract.MedicationItem,
    "allergies": contract.Allergy,
    "immunizations": contract.ImmunizationItem,
    "vitals": contract.VitalSign,
    "labs": contract.LabResult,
    "encounters": contract.EncounterItem,
    "documents": contract.DocumentItem,
}


@pytest.mark.parametrize("name", registry.section_names())
def test_every_contract_field_is_in_v1(name: str) -> None:
    """A field the contract gains must be added to v1 on purpose (or v2), not dropped."""
    fields = {f.name for f in dataclasses.fields(CONTRACT[name])}
    assert fields == set(schemas.ITEM_SCHEMAS[name].model_fields)
    assert set(schemas.SECTION_SCHEMAS) == set(registry.section_names())
    coded = {f.name for f in dataclasses.fields(contract.Concept)}
    assert coded <= set(schemas.ConceptOut.model_fields)


def test_the_openapi_document_is_31_and_documents_every_way_in(db) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert set(document["components"]["securitySchemes"]) == {"BrowserCall", "ServiceBearer"}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert method == "get", path  # read-only
            assert operation["security"], path
            refused = operation["responses"]["403"]["content"]
            assert list(refused) == ["application/problem+json"]
            assert "304" in operation["responses"]
            if "/tenants/" in path:  # a service operation names the one scope it needs
                ((scheme, scopes),) = operation["security"][0].items()
                assert scheme == "ServiceBearer"
                assert len(scopes) == 1
    service = document["components"]["securitySchemes"]["ServiceBearer"]
    flow = service["flows"]["clientCredentials"]
    assert service["type"] == "oauth2"
    assert flow["tokenUrl"] == "/api/v1/oauth/token"
    assert set(flow["scopes"]) == {
        "summary.read",
        "results.read",
        "medications.read",
        "patients.read",
    }


def test_the_reference_page_lists_every_operation_and_code(db) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    text = page.content.decode()
    for path in document["paths"]:
        assert path in text
    for code in ("antiforgery_header_required", "rate_limited", errors.LaunchNotFound.code):
        assert f'id="{code}"' in text
    assert "<script" not in text
