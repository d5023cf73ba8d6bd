"""smart.launch_report and smart.errors.ehr_words: what the debugger and the failure page may
show, computed without I/O."""

from __future__ import annotations

from smart.conformance import Finding, Status
from smart.errors import ehr_words
from smart.launch_report import config_diff, id_token_facts, scope_diff, token_facts
from smart.token_response import TokenResponse


def test_scope_diff_names_what_was_narrowed_and_what_was_added() -> None:
    diff = scope_diff("launch openid patient/Condition.rs", "openid patient/Condition.rs fhirUser")
    assert diff.granted_as_asked == ("openid", "patient/Condition.rs")
    assert diff.not_granted == ("launch",)
    assert diff.not_asked == ("fhirUser",)
    assert diff.narrowed
    assert not scope_diff("a b", "b a").narrowed


def test_config_diff_lists_changed_fields_only() -> None:
    changes = config_diff({"a": 1, "b": [1], "c": None}, {"a": 1, "b": [2], "d": "x"})
    assert [(c.field, c.before, c.after) for c in changes] == [("b", [1], [2]), ("d", None, "x")]


def test_token_facts_carry_no_token() -> None:
    tokens = TokenResponse("AT-secret", "openid launch", 300, refresh_token="RT-secret")
    facts = token_facts(tokens)
    assert facts["refresh_token"] == "issued"
    assert facts["scopes_granted"] == 2
    assert "secret" not in repr(facts)


def test_id_token_facts_expiry_is_a_date_and_junk_is_dropped() -> None:
    facts = id_token_facts({"iss": "https://e", "sub": "u1", "exp": 1_800_000_000})
    assert facts["expires_at"].startswith("2027-01-15")
    assert id_token_facts({"exp": "soon"})["expires_at"] is None


def test_ehr_words_keep_only_rfc_6749_characters_within_the_limit() -> None:
    assert ehr_words('bad "scope" \\ here\x1b[31m\n\tnext') == "bad scope here [31m next"
    assert ehr_words("x" * 500, 10) == "x" * 9 + "\u2026"
    assert ehr_words("   ") is None
    assert ehr_words(42) is None


def test_a_finding_carries_no_control_character() -> None:
    finding = Finding("id", "t", Status.FAIL, "ref", "issuer \x1b[2Jevil\x00", "fix\r\n")
    assert finding.message == "issuer  [2Jevil "
    assert finding.fix == "fix  "
