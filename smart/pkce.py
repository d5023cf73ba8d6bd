"""PKCE for the authorization code flow (RFC 7636), S256 only, as SMART App Launch requires.

The verifier is 64 characters of the unreserved alphabet from a CSPRNG (RFC 7636 4.1 allows
43 to 128); the challenge is BASE64URL(SHA256(ASCII(verifier))) without padding (4.2).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

METHOD = "S256"
VERIFIER_BYTES = 48  # 48 random bytes -> 64 base64url characters


@dataclass(frozen=True)
class PkcePair:
    verifier: str
    challenge: str
    method: str = METHOD


def challenge_for(verifier: str) -> str:
    if not 43 <= len(verifier) <= 128:
        raise ValueError("a PKCE verifier has 43 to 128 characters (RFC 7636 4.1)")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def new_pair() -> PkcePair:
    verifier = secrets.token_urlsafe(VERIFIER_BYTES)
    return PkcePair(verifier=verifier, challenge=challenge_for(verifier))
