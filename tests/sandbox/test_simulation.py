"""sandbox.simulation: option blobs round-trip; every bad option is named."""

from __future__ import annotations

import pytest

from sandbox.simulation import (
    FaultRule,
    HostileRule,
    SimOptions,
    SimulationError,
    TokenErrorRule,
    decode,
    encode,
)


def test_round_trip_of_every_option() -> None:
    raw = {
        "patient": "pat-02",
        "user": "Practitioner/prac-2",
        "encounter": "pat-02-enc-1",
        "skip_login": True,
        "skip_consent": True,
        "grant": ["launch/patient", "patient/Observation.rs"],
        "token_ttl": 5,
        "refresh": "reuse_revokes_family",
        "smart": "v1",
        "iss_in_response": False,
        "latency_ms": 200,
        "fail": {"Observation": 503, "Condition": {"mode": "timeout", "hang_s": 2}},
        "auth_error": "access_denied",
        "token_error": {"error": "invalid_grant", "grant_type": "refresh_token", "after": 1},
        "token_delay_ms": 1500,
        "hostile": {"next_link": "foreign", "other_patient_entries": True, "pad_bytes": 10},
    }
    options = decode(encode(raw))
    assert options.token_delay_ms == 1500
    assert options.hostile == HostileRule(
        next_link="foreign", other_patient_entries=True, pad_bytes=10
    )
    assert options.patient == "pat-02"
    assert options.grant == ("launch/patient", "patient/Observation.rs")
    assert options.fail["Observation"] == FaultRule(mode=503)
    assert options.fail["Condition"] == FaultRule(mode="timeout", hang_s=2.0)
    assert options.token_error == TokenErrorRule("invalid_grant", "refresh_token", 1)
    assert options.smart == "v1"
    assert options.iss_in_response is False


def test_no_options_is_the_well_behaved_ehr() -> None:
    assert decode(encode({})) == SimOptions()


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"colour": "blue"}, "unknown options"),
        ({"token_ttl": "60"}, "token_ttl"),
        ({"token_ttl": 0}, "token_ttl"),
        ({"skip_login": "yes"}, "skip_login"),
        ({"refresh": "sometimes"}, "refresh"),
        ({"smart": "v3"}, "smart"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": True}, "latency_ms"),
        ({"fail": {"Observation": 418}}, "fail.Observation.mode"),
        ({"fail": {"Observation": {"mode": 503, "rate": 2}}}, "fail.Observation.rate"),
        ({"fail": {"Observation": {"mode": 503, "colour": 1}}}, "fail.Observation"),
        ({"auth_error": "not an error"}, "auth_error"),
        ({"token_error": {"error": "invalid_grant", "grant_type": "password"}}, "grant_type"),
        ({"grant": 7}, "grant"),
        ({"token_delay_ms": -5}, "token_delay_ms"),
        ({"token_delay_ms": 10**9}, "token_delay_ms"),
        ({"hostile": []}, "hostile"),
        ({"hostile": {"next_link": "elsewhere"}}, "hostile.next_link"),
        ({"hostile": {"pad_bytes": -1}}, "hostile.pad_bytes"),
        ({"hostile": {"nan_values": 1}}, "hostile.nan_values"),
        ({"hostile": {"colour": 1}}, "hostile: unknown keys"),
    ],
)
def test_bad_options_are_named(raw: dict, named: str) -> None:
    with pytest.raises(SimulationError, match=named):
        decode(_raw_blob(raw))


@pytest.mark.parametrize("blob", ["!!!", "bm90IGpzb24", "WzEsMl0"])  # junk, "not json", "[1,2]"
def test_bad_blobs(blob: str) -> None:
    with pytest.raises(SimulationError):
        decode(blob)


def _raw_blob(raw: dict) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
