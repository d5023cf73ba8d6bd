"""Signing keys for `private_key_jwt` (SMART App Launch 2.x "client-confidential-asymmetric").

SMART asks servers to support RS384 and ES384, so a registration's key is RSA (RS384) or
EC P-384 (ES384). Keys are typed explicitly when imported, never guessed, so a PEM can never
be taken for a symmetric secret.
"""

from __future__ import annotations

import functools

from joserfc import jwk

KEY_ALGORITHMS = {"RSA": "RS384", "EC": "ES384"}


class UnusableKey(ValueError):
    """A key that cannot sign for SMART; the message says why."""


@functools.lru_cache(maxsize=32)
def import_private_pem(pem: str) -> jwk.Key:
    """An RSA or EC private key from PEM.

    Cached by content: importing validates the key, tens of milliseconds for RSA, and a
    connection signs an assertion for every token request. The cache lives in the memory of
    the process that decrypted the PEM anyway; a new key is a new entry.
    """
    for key_type in (jwk.RSAKey, jwk.ECKey):
        try:
            return key_type.import_key(pem)
        except Exception:  # noqa: S112 - not this type; try the next
            continue
    raise UnusableKey("private key: not an RSA or EC PEM private key")


def signing_key(pem: str) -> tuple[jwk.Key, str]:
    """The key and the algorithm it signs with; refuses public and unsuitable keys."""
    key = import_private_pem(pem)
    if not key.is_private:
        raise UnusableKey("private key: a public key was given")
    alg = KEY_ALGORITHMS.get(key.key_type)
    if alg is None or (key.key_type == "EC" and key.as_dict().get("crv") != "P-384"):
        raise UnusableKey("private key: RSA (RS384) or EC P-384 (ES384) only")
    return key, alg
