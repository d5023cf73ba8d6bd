"""Secrets at rest: AES-256-GCM (NIST SP 800-38D) with each ciphertext bound to its place.

Client secrets, private keys, PKCE verifiers and tokens are stored only as ciphertext. The
associated data names the row and field a ciphertext belongs to (for example
`smartapp.Launch:<uuid>:verifier`), so a ciphertext copied onto another row or into another
column fails to decrypt instead of quietly handing over someone else's secret.

Keys come from TOKEN_ENCRYPTION_KEYS: the first encrypts, all decrypt. Each ciphertext names
its key by a short fingerprint, so rotation is: put a new key first, re-encrypt, drop the old.

Format: `v1.<key fingerprint>.<urlsafe base64 of nonce || ciphertext || tag>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = "v1"
NONCE_BYTES = 12  # 96-bit nonces, random per message (SP 800-38D 8.2.2)


class DecryptionError(Exception):
    """A ciphertext that is malformed, under an unknown key, or not bound to this place."""


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


def binding(model: str, pk: object, field: str) -> str:
    """The associated data for one field of one row."""
    return f"{model}:{pk}:{field}"


class SecretBox:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._keys = {fingerprint(key): AESGCM(key) for key in keys}
        self._current = fingerprint(keys[0])

    def encrypt(self, plaintext: str, *, bound_to: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), bound_to.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self._current}.{body}"

    def decrypt(self, ciphertext: str, *, bound_to: str) -> str:
        try:
            version, key_id, body = ciphertext.split(".", 2)
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, binascii.Error) as exc:
            raise DecryptionError("not a ciphertext") from exc
        aead = self._keys.get(key_id)
        if version != VERSION or aead is None or len(raw) <= NONCE_BYTES:
            raise DecryptionError("unknown format or key")
        try:
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not belong here or was altered") from exc

    def is_current(self, ciphertext: str) -> bool:
        """Whether the ciphertext is already under the first (encrypting) key."""
        return ciphertext.split(".", 2)[1:2] == [self._current]


@cache
def _box_for(keys: tuple[bytes, ...]) -> SecretBox:
    return SecretBox(keys)


def secret_box() -> SecretBox:
    """The box for the configured keys (rebuilt if settings change, as in tests)."""
    return _box_for(tuple(settings.TOKEN_ENCRYPTION_KEYS))
