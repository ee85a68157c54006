"""Field-level encryption at rest: Fernet tokens under keys from FIELD_ENCRYPTION_KEYS.

FIELD_ENCRYPTION_KEYS is a list of Fernet keys, newest first. MultiFernet
encrypts with the first and decrypts with any, so a new key can be put in
front, every value re-encrypted with `manage.py rotate_field_keys`, and the
old key dropped afterwards. Nothing here is hand-made cryptography: Fernet is
AES-128-CBC with an HMAC-SHA256 over the whole token, so a wrong key or a
tampered value fails loudly instead of decrypting to garbage.

This module is imported by crm/settings.py, so it must not touch Django
settings at import time.
"""

import base64
import functools
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "DecryptionError",
    "decrypt",
    "development_key",
    "encrypt",
    "is_current",
    "parse_keys",
    "rotate",
]


class DecryptionError(ImproperlyConfigured):
    """A stored value no key in FIELD_ENCRYPTION_KEYS can open (wrong or dropped key, or a tampered value)."""


def parse_keys(raw: str) -> list[str]:
    """Return the comma-separated Fernet keys in `raw`, newest first; raise ValueError on a malformed one."""
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise ValueError("no key")
    for key in keys:
        Fernet(key)  # raises ValueError unless it is 32 url-safe base64-encoded bytes
    return keys


def development_key(secret_key: str) -> str:
    """Derive a Fernet key from SECRET_KEY, for DEBUG runs on a laptop only."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"clearview-crm field encryption (development only)"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived).decode()


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    # Keyed on the key list itself, so override_settings in tests and a changed setting both take effect.
    return MultiFernet([Fernet(key) for key in keys])


def _keys(keys: Sequence[str] | None) -> tuple[str, ...]:
    if keys is None:
        from django.conf import settings

        keys = settings.FIELD_ENCRYPTION_KEYS
    return tuple(keys)


def _current(keys: Sequence[str] | None = None) -> MultiFernet:
    return _fernet(_keys(keys))


def encrypt(text: str, keys: Sequence[str] | None = None) -> str:
    """Return `text` as a Fernet token under the newest key."""
    return _current(keys).encrypt(text.encode()).decode("ascii")


def decrypt(token: str, keys: Sequence[str] | None = None, *, what: str = "an encrypted value") -> str:
    """Return the text inside `token`, trying every key; raise DecryptionError if none opens it."""
    try:
        return _current(keys).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise DecryptionError(
            f"Cannot decrypt {what}: no key in FIELD_ENCRYPTION_KEYS opens it "
            "(a key dropped before rotate_field_keys finished, a wrong key, or a value that is not a Fernet token)."
        ) from exc


def is_current(token: str, keys: Sequence[str] | None = None) -> bool:
    """Tell whether `token` is already encrypted under the newest key."""
    try:
        _fernet(_keys(keys)[:1]).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True


def rotate(token: str, keys: Sequence[str] | None = None, *, what: str = "an encrypted value") -> str:
    """Return `token` re-encrypted under the newest key (it may be under any key of the list)."""
    try:
        return _current(keys).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise DecryptionError(
            f"Cannot rotate {what}: no key in FIELD_ENCRYPTION_KEYS opens it (was an old key dropped too early?)."
        ) from exc
