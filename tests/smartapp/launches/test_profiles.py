"""EHR profiles over real HTTP: a SMART 1.0-era server, simulated by the sandbox, works with the
`smart-v1` profile and is refused, with a clear page, under `generic`."""

from __future__ import annotations

from smart.launch_states import LaunchState
from smartapp.models import Launch
from tests.smartapp.launches.test_launch_refusals import refused

# A v1-only server whose token response leaves out `scope` (RFC 6749 5.1 allows it when the
# grant equals the request) and names the patient as a reference.
V1_ERA = {
    "smart": "v1",
    "token_response": {"omit": ["scope"], "set": {"patient": "Patient/pat-06"}},
}


def test_the_smart_v1_profile_completes_the_launch(sandbox, connect, browser) -> None:
    connection = connect(base=sandbox.base(**V1_ERA), profile="smart-v1")
    page = browser.launch(browser.start_standalone(connection), user="Patient/pat-06")
    assert page.status_code == 200
    launch = Launch.objects.get()
    assert launch.state == LaunchState.ACTIVE
    assert launch.patient_id == "pat-06"
    assert launch.granted_scope == launch.requested_scope  # omitted means as requested
    assert "patient/Patient.read" in launch.requested_scope.split()  # v1 syntax asked
    assert not any(word.endswith(".rs") for word in launch.requested_scope.split())


def test_the_generic_profile_refuses_that_answer(sandbox, connect, browser) -> None:
    connection = connect(base=sandbox.base(**V1_ERA))
    response = browser.callback(
        browser.authorize(browser.start_standalone(connection), user="Patient/pat-06")
    )
    refused(response, 502, "invalid_token_response")
    assert Launch.objects.get().state == LaunchState.FAILED
