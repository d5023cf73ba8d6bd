"""Issue 12 item 9: a token response carrying values the app cannot hold is never a 500.

Each value goes through real HTTP: the sandbox's `token_response: {"set": ...}` option puts it
in an otherwise good answer. The launch ends `failed` with a 502 page, and the tokens the EHR
did issue are given back (RFC 7009) rather than left live. Over-long lifetimes are clamped
(smart/token_response.py says why) and the launch works.
"""

from __future__ import annotations

import pytest

from smart.launch_states import LaunchState
from smart.token_response import MAX_EXPIRES_IN
from smartapp.models import Launch, TokenGrant
from smartapp.vault import revocation
from tests.smartapp.launches.test_launch_refusals import refused

pytestmark = [pytest.mark.postgres]

LONG = "x" * 201
HOSTILE = {
    "intent_too_long": {"intent": LONG},
    "tenant_too_long": {"tenant": LONG},
    "encounter_too_long": {"encounter": LONG},
    "nul_in_scope": {"scope": "launch openid fhirUser patient/*.rs\x00"},
    "nul_in_intent": {"intent": "reconcile\x00"},
    "nul_in_patient": {"patient": "pat-01\x00"},
    "patient_not_an_id": {"patient": "pat-01/../../Practitioner/prac-1"},
}


@pytest.mark.parametrize("values", HOSTILE.values(), ids=HOSTILE.keys())
def test_unusable_values_fail_the_launch_and_give_the_tokens_back(
    sandbox, connect, browser, values
) -> None:
    from sandbox.models import Token

    connection = connect(token_response={"set": values})
    response = browser.callback(browser.authorize(browser.start_ehr(connection)))
    refused(response, 502, "invalid_token_response")
    assert response["Referrer-Policy"] == "no-referrer"
    launch = Launch.objects.get()
    assert launch.state == LaunchState.FAILED
    assert launch.failure_code == "invalid_token_response"
    assert TokenGrant.objects.count() == 0
    assert revocation.wait_idle()  # given back in the background
    issued = Token.objects.get()
    assert issued.access_revoked  # RFC 7009: nothing the EHR issued is left live
    assert issued.refresh_revoked


@pytest.mark.parametrize("expires_in", [3_000_000_000, 10**12])
def test_absurd_lifetimes_are_clamped(sandbox, connect, browser, expires_in) -> None:
    connection = connect(token_response={"set": {"expires_in": expires_in}})
    page = browser.launch(browser.start_ehr(connection))
    assert page.status_code == 200
    assert Launch.objects.get().state == LaunchState.ACTIVE
    assert TokenGrant.objects.get().lifetime_s == MAX_EXPIRES_IN


def test_a_refused_id_token_gives_the_tokens_back_too(sandbox, connect, browser) -> None:
    from sandbox.models import Token

    connection = connect(id_token="bad_signature")
    refused(
        browser.callback(browser.authorize(browser.start_ehr(connection))), 400, "invalid_id_token"
    )
    assert Launch.objects.get().state == LaunchState.FAILED
    assert revocation.wait_idle()
    assert Token.objects.get().access_revoked
