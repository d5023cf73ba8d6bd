"""The `binary` simulation option: `json` (default) obeys Accept on `Binary/{id}`; `raw` is a
server that always answers the raw bytes. Parsed strictly, shown over real HTTP."""

from __future__ import annotations

import pytest

from sandbox.simulation import SimOptions, SimulationError, decode, encode, parse_options

SCOPES = "launch/patient patient/Binary.read"
BINARY = "Binary/bin-pat-01-consult"


def test_default_is_json_and_round_trips() -> None:
    assert SimOptions().binary == "json"
    assert decode(encode({"binary": "raw"})).binary == "raw"
    assert decode(encode({"binary": "json"})) == SimOptions()


@pytest.mark.parametrize("value", ["xml", "RAW", True, 1, None, ["raw"]])
def test_anything_else_is_refused_by_name(value: object) -> None:
    with pytest.raises(SimulationError, match="binary"):
        parse_options({"binary": value})


def _read(client, token: str, accept: str):
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    return client.http.get(f"{client.base}/{BINARY}", headers=headers)


@pytest.mark.parametrize("accept", ["application/fhir+json", "application/json", "*/*"])
def test_raw_answers_the_bytes_whatever_accept_says(sandbox, make_client, accept: str) -> None:
    client = make_client(base=sandbox.base(binary="raw"))
    token = client.launch(SCOPES)["access_token"]
    response = _read(client, token, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_json_obeys_accept(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(binary="json"))
    token = client.launch(SCOPES)["access_token"]
    assert _read(client, token, "application/fhir+json").json()["resourceType"] == "Binary"
    assert _read(client, token, "application/pdf").content.startswith(b"%PDF-")


def test_raw_still_checks_access(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(binary="raw"))
    token = client.launch(SCOPES)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    other = client.http.get(f"{client.base}/Binary/bin-us-core-note", headers=headers)
    assert other.status_code == 403
    assert client.http.get(f"{client.base}/{BINARY}").status_code == 401
