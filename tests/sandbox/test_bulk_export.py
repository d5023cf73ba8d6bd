"""Bulk Data `$export` in the sandbox, over real HTTP (FHIR Bulk Data Access 2.0,
export.html): kick-off, status polling, the manifest, output files, delete, and each
`export*` simulation option."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import pytest

from sandbox import simulation
from sandbox.bulk_jobs import (
    EXPORT_DELETES,
    EXPORT_FILES,
    EXPORT_KICKOFFS,
    EXPORT_STATUS,
    OUTPUT_FORMATS,
    export_supported,
)
from sandbox.fhir_search import patient_of
from sandbox.fhir_store import get_store
from sandbox.models import Token
from sandbox.simulation import SimOptions
from sandbox.site import SandboxSite
from sandbox.synthetic.groups import COHORT_A_MEMBERS

USER_SCOPES = "user/*.rs"
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def issue_token(base: str, scope: str = USER_SCOPES, client_id: str = "bulk-client") -> str:
    """A live access token for `base`, as the token endpoint would store it."""
    value = secrets.token_urlsafe(32)
    Token.objects.create(
        client_id=client_id,
        user_ref="Practitioner/prac-1",
        base=base,
        scope=scope,
        access_token=value,
        expires_in=3600,
        context={"patient": "pat-01"} if scope.startswith("patient/") else {},
    )
    return value


class Exporter:
    """One client's view of one simulated EHR's `$export`."""

    def __init__(self, http: httpx.Client, base: str, token: str) -> None:
        self.http, self.base, self.token = http, base, token

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def kickoff(self, path: str = "$export", headers: dict[str, str] | None = None, **params: Any):
        sent = {**ASYNC, **self.auth(), **(headers or {})}
        return self.http.get(f"{self.base}/{path}", params=params, headers=sent)

    def started(self, path: str = "$export", **params: Any) -> str:
        response = self.kickoff(path, **params)
        assert response.status_code == 202, response.text
        return response.headers["Content-Location"]

    def poll(self, url: str, token: str | None = None) -> httpx.Response:
        return self.http.get(url, headers=self.auth(token))

    def manifest(self, url: str) -> dict[str, Any]:
        for _ in range(25):
            response = self.poll(url)
            if response.status_code == 200:
                assert response.headers["Content-Type"].startswith("application/json")
                body: dict[str, Any] = response.json()
                return body
            assert response.status_code == 202
        raise AssertionError("the export never completed")

    def lines(self, url: str) -> list[dict[str, Any]]:
        response = self.http.get(url, headers=self.auth())
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/fhir+ndjson")
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert response.content.endswith(b"\n")
        return [json.loads(line) for line in response.content.decode().splitlines()]

    def export(self, path: str = "$export", **params: str) -> dict[str, list[dict[str, Any]]]:
        """Kick off, poll to the manifest, and read every file: resources by type."""
        found: dict[str, list[dict[str, Any]]] = {}
        for item in self.manifest(self.started(path, **params))["output"]:
            resources = self.lines(item["url"])
            assert len(resources) == item["count"]
            assert {r["resourceType"] for r in resources} == {item["type"]}
            found.setdefault(item["type"], []).extend(resources)
        return found


@pytest.fixture
def exporter(sandbox) -> Exporter:
    return Exporter(sandbox.http, sandbox.base(), issue_token(sandbox.base()))


def sim(sandbox, **options: Any) -> Exporter:
    base = sandbox.base(**options)
    return Exporter(sandbox.http, base, issue_token(base))


# --- the happy path -----------------------------------------------------------------------


def test_kickoff_polls_then_manifest_and_files(sandbox, exporter) -> None:
    status_url = exporter.started()
    assert status_url.startswith(f"{sandbox.url}/bulk/status/")
    first = exporter.poll(status_url)
    assert first.status_code == 202
    assert first.headers["X-Progress"].endswith("% complete")
    assert first.headers["Retry-After"] == "1"
    manifest = exporter.manifest(status_url)
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"] == f"{exporter.base}/$export"
    assert manifest["transactionTime"].endswith("Z")
    assert manifest["error"] == []
    types = {item["type"] for item in manifest["output"]}
    assert {"Patient", "Observation", "Condition", "Practitioner", "Medication"} <= types
    assert not types & {"Binary", "Group"}
    store = get_store()
    patients = exporter.lines(manifest["output"][0]["url"])
    assert manifest["output"][0]["type"] == "Patient"
    assert [p["id"] for p in patients] == sorted(store.patient_ids())
    assert all(p["meta"]["versionId"] and p["meta"]["lastUpdated"] for p in patients)
    job = status_url.rsplit("/", 1)[1]
    counts = sandbox.stats()
    assert counts[EXPORT_STATUS][job] == 2
    assert counts[EXPORT_FILES] == {f"{job} 1 auth": 1}
    assert counts[EXPORT_KICKOFFS] == {"default": 1}


def test_observations_are_complete_and_in_id_order(exporter) -> None:
    observations = exporter.export(_type="Observation")["Observation"]
    ids = [o["id"] for o in observations]
    assert ids == sorted(ids)
    assert len(ids) == get_store().count("Observation")


def test_a_user_level_token_from_a_real_launch_exports(sandbox, make_client) -> None:
    client = make_client(scopes="openid fhirUser user/*.rs")
    token = client.launch("openid fhirUser user/*.rs", user="Practitioner/prac-2")
    exporter = Exporter(sandbox.http, client.base, token["access_token"])
    assert set(exporter.export(_type="Patient,Condition")) == {"Patient", "Condition"}


# --- kick-off validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({}, {"Prefer": ""}),
        ({"_outputFormat": "text/csv"}, {}),
        ({"_type": "Patient,Spaceship"}, {}),
        ({"_type": "Group"}, {}),
        ({"_since": "yesterday"}, {}),
        ({"_since": "2026-01-01"}, {}),  # a date, not an instant
        ({"_typeFilter": "Observation?code=1"}, {}),
        ({"_since": ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]}, {}),
    ],
)
def test_kickoff_refusals_are_400_outcomes(exporter, params, headers) -> None:
    response = exporter.kickoff(headers=headers, **params)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_lenient_handling_ignores_unknown_parameters(exporter) -> None:
    lenient = {"Prefer": "respond-async, handling=lenient"}
    assert exporter.kickoff(headers=lenient, _elements="id").status_code == 202


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_ndjson_output_formats_are_accepted(exporter, output_format) -> None:
    assert exporter.kickoff(_outputFormat=output_format).status_code == 202


def test_kickoff_needs_a_token(sandbox, exporter) -> None:
    response = sandbox.http.get(f"{exporter.base}/$export", headers=ASYNC)
    assert response.status_code == 401


def test_patient_level_tokens_are_refused(sandbox) -> None:
    exporter = Exporter(sandbox.http, sandbox.base(), issue_token(sandbox.base(), "patient/*.rs"))
    for path in ("$export", "Patient/$export", "Group/cohort-a/$export"):
        assert exporter.kickoff(path).status_code == 403


def test_types_outside_the_grant_are_refused(sandbox) -> None:
    scope = "user/Patient.rs user/Condition.rs"
    exporter = Exporter(sandbox.http, sandbox.base(), issue_token(sandbox.base(), scope))
    assert exporter.kickoff(_type="Observation").status_code == 403
    assert set(exporter.export()) == {"Patient", "Condition"}


# --- _type, _since, levels ----------------------------------------------------------------


def test_type_limits_the_output(exporter) -> None:
    assert set(exporter.export(_type="Patient,Condition")) == {"Patient", "Condition"}


def test_since_exports_only_later_changes_and_not_those_after_kickoff(exporter) -> None:
    store = get_store()
    original = store.get("Condition", store.all_of("Condition")[0]["id"])
    assert original is not None
    try:
        first = exporter.manifest(exporter.started(_type="Condition"))
        changed = store.update(original)
        assert changed["meta"]["versionId"] == "2"
        since = first["transactionTime"]
        later_url = exporter.started(_type="Condition,Patient", _since=since)
        store.update(changed)  # after this kick-off: belongs to the next run
        later = exporter.manifest(later_url)
        assert [item["type"] for item in later["output"]] == ["Condition"]
        rows = exporter.lines(later["output"][0]["url"])
        assert [(r["id"], r["meta"]["versionId"]) for r in rows] == [(original["id"], "2")]
        third = exporter.export(_type="Condition", _since=later["transactionTime"])
        assert [r["meta"]["versionId"] for r in third["Condition"]] == ["3"]
    finally:
        store.put(original)


def test_group_level_exports_only_the_members(exporter) -> None:
    found = exporter.export("Group/cohort-a/$export")
    assert [p["id"] for p in found["Patient"]] == list(COHORT_A_MEMBERS)
    assert not {"Practitioner", "Medication"} & set(found)
    for resources in found.values():
        assert {patient_of(r) for r in resources} <= set(COHORT_A_MEMBERS)
    assert exporter.kickoff("Group/no-such-group/$export").status_code == 404
    assert exporter.kickoff("Group/cohort-a/$export", _type="Practitioner").status_code == 400


def test_patient_level_exports_every_compartment(exporter) -> None:
    found = exporter.export("Patient/$export", _type="Patient,Immunization")
    assert len(found["Patient"]) == len(get_store().patient_ids())


def test_groups_are_served(sandbox, exporter) -> None:
    cohort = sandbox.http.get(f"{exporter.base}/Group/cohort-a", headers=exporter.auth()).json()
    members = [m["entity"]["reference"] for m in cohort["member"]]
    assert members == [f"Patient/{pid}" for pid in COHORT_A_MEMBERS]
    everyone = sandbox.http.get(
        f"{exporter.base}/Group", params={"_id": "all-patients"}, headers=exporter.auth()
    ).json()
    assert everyone["total"] == 1
    assert everyone["entry"][0]["resource"]["quantity"] == len(get_store().patient_ids())


# --- status, files and delete: whose job it is --------------------------------------------


def test_other_clients_and_anonymous_callers_are_refused(sandbox, exporter) -> None:
    status_url = exporter.started(_type="Patient")
    file_url = exporter.manifest(status_url)["output"][0]["url"]
    other = issue_token(exporter.base, client_id="someone-else")
    assert exporter.poll(status_url, token=other).status_code == 404
    assert sandbox.http.get(file_url, headers=exporter.auth(other)).status_code == 404
    assert sandbox.http.get(status_url).status_code == 401
    assert sandbox.http.get(file_url).status_code == 401
    assert sandbox.http.delete(status_url, headers=exporter.auth(other)).status_code == 404


def test_delete_forgets_the_job(sandbox, exporter) -> None:
    status_url = exporter.started(_type="Patient")
    file_url = exporter.manifest(status_url)["output"][0]["url"]
    assert sandbox.http.delete(status_url, headers=exporter.auth()).status_code == 202
    gone = exporter.poll(status_url)
    assert gone.status_code == 404
    assert gone.json()["resourceType"] == "OperationOutcome"
    assert sandbox.http.get(file_url, headers=exporter.auth()).status_code == 404
    assert sandbox.stats()[EXPORT_DELETES] == {status_url.rsplit("/", 1)[1]: 1}


def test_a_job_of_another_site_is_not_found(sandbox, exporter) -> None:
    status_url = exporter.started(_type="Patient")
    job = status_url.rsplit("/", 1)[1]
    other = sim(sandbox, export_polls=0)
    elsewhere = other.base.removesuffix("/fhir") + f"/bulk/status/{job}"
    assert other.poll(elsewhere).status_code == 404


# --- simulation options -------------------------------------------------------------------


def test_unsupported_export_is_404(sandbox) -> None:
    response = sim(sandbox, export="unsupported").kickoff()
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_kickoff_429_then_accepted(sandbox) -> None:
    exporter = sim(sandbox, export_kickoff_429=2)
    for _ in range(2):
        throttled = exporter.kickoff(_type="Patient")
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "1"
        assert throttled.json()["resourceType"] == "OperationOutcome"
    assert exporter.kickoff(_type="Patient").status_code == 202


def test_status_5xx_is_transient(sandbox) -> None:
    exporter = sim(sandbox, export_status_5xx=2, export_polls=0)
    url = exporter.started(_type="Patient")
    assert [exporter.poll(url).status_code for _ in range(3)] == [500, 500, 200]


def test_expired_jobs_are_404(sandbox) -> None:
    exporter = sim(sandbox, export_expired=True)
    answer = exporter.poll(exporter.started(_type="Patient"))
    assert answer.status_code == 404
    assert "expired" in answer.json()["issue"][0]["diagnostics"]


def test_polls_and_retry_after(sandbox) -> None:
    exporter = sim(sandbox, export_polls=3, export_retry_after=5)
    url = exporter.started(_type="Patient")
    answers = [exporter.poll(url) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 200]
    assert [a.headers["Retry-After"] for a in answers[:3]] == ["5", "5", "5"]
    assert [a.headers["X-Progress"] for a in answers[:3]] == [
        "25% complete",
        "50% complete",
        "75% complete",
    ]
    immediate = sim(sandbox, export_polls=0)
    assert immediate.poll(immediate.started(_type="Patient")).status_code == 200


def test_file_lines_splits_each_type(sandbox) -> None:
    exporter = sim(sandbox, export_file_lines=10)
    output = exporter.manifest(exporter.started(_type="Patient"))["output"]
    patients = len(get_store().patient_ids())
    assert [item["count"] for item in output][:-1] == [10] * (len(output) - 1)
    assert sum(item["count"] for item in output) == patients
    assert len({item["url"] for item in output}) == len(output) == -(-patients // 10)
    ids = [p["id"] for item in output for p in exporter.lines(item["url"])]
    assert ids == sorted(ids)


def test_file_cut_drops_the_first_download(sandbox) -> None:
    exporter = sim(sandbox, export_file_cut=1, export_polls=0)
    url = exporter.manifest(exporter.started(_type="Patient"))["output"][0]["url"]
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        exporter.http.get(url, headers=exporter.auth())
    assert time.monotonic() - started < 5  # dropped, not left hanging
    assert exporter.lines(url)


def test_malformed_line_in_each_types_first_file(sandbox) -> None:
    exporter = sim(sandbox, export_malformed_line=True, export_file_lines=5, export_polls=0)
    output = exporter.manifest(exporter.started(_type="Patient,Condition"))["output"]
    seen: set[str] = set()
    for item in output:
        body = exporter.http.get(item["url"], headers=exporter.auth()).text.splitlines()
        assert len(body) == item["count"]
        broken = [n for n, line in enumerate(body, 1) if not _parses(line)]
        assert broken == ([2] if item["type"] not in seen else [])
        seen.add(item["type"])


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def test_drip_slows_each_chunk(sandbox) -> None:
    exporter = sim(sandbox, export_drip_ms=300, export_polls=0)
    output = exporter.manifest(exporter.started(_type="Observation"))["output"]
    assert len(exporter.http.get(output[0]["url"], headers=exporter.auth()).content) > 64 * 1024
    started = time.monotonic()
    exporter.lines(output[0]["url"])
    assert time.monotonic() - started >= 0.3


def test_file_origin_moves_the_file_urls(sandbox) -> None:
    exporter = sim(sandbox, export_file_origin="https://files.example:8443", export_polls=0)
    url = exporter.manifest(exporter.started(_type="Patient"))["output"][0]["url"]
    assert url.startswith("https://files.example:8443/sim/")
    assert exporter.lines(url.replace("https://files.example:8443", sandbox.url))


def test_files_without_a_token(sandbox) -> None:
    exporter = sim(sandbox, export_requires_token=False, export_polls=0)
    status_url = exporter.started(_type="Patient")
    manifest = exporter.manifest(status_url)
    assert manifest["requiresAccessToken"] is False
    assert sandbox.http.get(manifest["output"][0]["url"]).status_code == 200
    job = status_url.rsplit("/", 1)[1]
    assert sandbox.stats()[EXPORT_FILES] == {f"{job} 1 noauth": 1}


@pytest.mark.parametrize(
    "options",
    [
        {"export": "maybe"},
        {"export_polls": 21},
        {"export_retry_after": -1},
        {"export_file_lines": 0},
        {"export_drip_ms": 5001},
        {"export_expired": "yes"},
        {"export_file_origin": "ftp://files.example"},
        {"export_file_origin": "https://files.example/path"},
    ],
)
def test_bad_export_options_are_refused(options) -> None:
    with pytest.raises(simulation.SimulationError):
        simulation.parse_options(options)


def test_export_supported() -> None:
    assert export_supported(SandboxSite("http://x", None, SimOptions()))
    assert not export_supported(SandboxSite("http://x", "b", SimOptions(export="unsupported")))


@pytest.mark.parametrize(("options", "listed"), [({}, True), ({"export": "unsupported"}, False)])
def test_the_capability_statement_lists_export_only_where_it_is_offered(
    sandbox: Any, options: dict[str, Any], listed: bool
) -> None:
    body = sandbox.http.get(f"{sandbox.base(**options)}/metadata").json()
    operations = body["rest"][0].get("operation", [])
    assert ("export" in {operation["name"] for operation in operations}) is listed
