"""smart.pkce: RFC 7636 S256, checked against the RFC's own test vector."""

from __future__ import annotations

import re

import pytest

from smart.pkce import challenge_for, new_pair


def test_rfc7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_for(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_pairs_are_fresh_and_well_formed() -> None:
    pairs = [new_pair() for _ in range(50)]
    assert len({p.verifier for p in pairs}) == 50
    for pair in pairs:
        assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", pair.verifier)
        assert pair.challenge == challenge_for(pair.verifier)
        assert pair.method == "S256"


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 129])
def test_verifier_length_limits(verifier: str) -> None:
    with pytest.raises(ValueError, match="43 to 128"):
        challenge_for(verifier)
