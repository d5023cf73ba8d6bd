"""smartapp.secretbox: encryption bound to its row and field; key rotation by fingerprint."""

from __future__ import annotations

import pytest

from config.environment import new_token_key, parse_token_keys
from smartapp.secretbox import DecryptionError, SecretBox, binding

OLD, NEW = (parse_token_keys("K", new_token_key())[0] for _ in range(2))
HERE = binding("smartapp.TokenGrant", "0f0e", "refresh_token")


def test_round_trip_and_fresh_nonces() -> None:
    box = SecretBox([OLD])
    first, second = box.encrypt("rt-123", bound_to=HERE), box.encrypt("rt-123", bound_to=HERE)
    assert first != second
    assert "rt-123" not in first
    assert box.decrypt(first, bound_to=HERE) == "rt-123"


@pytest.mark.parametrize(
    "elsewhere",
    [
        binding("smartapp.TokenGrant", "0f0f", "refresh_token"),  # another row
        binding("smartapp.TokenGrant", "0f0e", "access_token"),
    ],  # another field
)
def test_ciphertext_moved_elsewhere_fails(elsewhere: str) -> None:
    box = SecretBox([OLD])
    with pytest.raises(DecryptionError):
        box.decrypt(box.encrypt("rt-123", bound_to=HERE), bound_to=elsewhere)


def test_rotation() -> None:
    old_box, rotated = SecretBox([OLD]), SecretBox([NEW, OLD])
    ciphertext = old_box.encrypt("secret", bound_to=HERE)
    assert rotated.decrypt(ciphertext, bound_to=HERE) == "secret"
    assert not rotated.is_current(ciphertext)
    assert rotated.is_current(rotated.encrypt("secret", bound_to=HERE))
    with pytest.raises(DecryptionError):
        SecretBox([NEW]).decrypt(ciphertext, bound_to=HERE)


@pytest.mark.parametrize("junk", ["", "v1.abc", "v2.x.y", "v1.nope.!!!!", "plaintext"])
def test_junk(junk: str) -> None:
    with pytest.raises(DecryptionError):
        SecretBox([OLD]).decrypt(junk, bound_to=HERE)


def test_tampering() -> None:
    box = SecretBox([OLD])
    ciphertext = box.encrypt("secret", bound_to=HERE)
    flipped = ciphertext[:-2] + ("A" if ciphertext[-2] != "A" else "B") + ciphertext[-1]
    with pytest.raises(DecryptionError):
        box.decrypt(flipped, bound_to=HERE)
