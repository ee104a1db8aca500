"""The station key: a secret kept outside the database, in a file readable by its owner only.

It keys the audit chain (HMAC-SHA256: whoever can write the database but has not the key
cannot recompute the chain) and seals personal data at rest (AES-256-GCM from the
``cryptography`` package: the insurer journal's messages) and makes ID numbers findable
without keeping them (:meth:`StationKey.tag`). Counters sharing one PostgreSQL database
share one key: the database records the key's id (:attr:`StationKey.key_id`), so a counter
with another key is told so instead of writing a chain nobody can verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cashier.errors import CashierError
from cashier.messages import say

KEY_BYTES = 32
_SEALED = "enc1:"


class StationKeyError(CashierError):
    """The station key is missing, unreadable or not the database's."""


@dataclass(frozen=True)
class StationKey:
    secret: bytes
    path: Path

    def _derive(self, purpose: str) -> bytes:
        return hmac.new(self.secret, f"cashier:{purpose}".encode(), hashlib.sha256).digest()

    @property
    def key_id(self) -> str:
        """Names the key without revealing it (recorded in the database)."""
        return self._derive("key-id").hex()[:16]

    def mac(self, body: bytes) -> str:
        return hmac.new(self._derive("audit"), body, hashlib.sha256).hexdigest()

    def tag(self, value: str) -> str:
        """A keyed digest of ``value`` (an ID number): equal values, equal tags; the value
        cannot be had back, nor guessed from the 18-digit space without the key."""
        return hmac.new(self._derive("tag"), value.encode(), hashlib.sha256).hexdigest()

    def seal(self, text: str) -> str:
        """``text`` encrypted and authenticated (AES-256-GCM), as ASCII for a text column."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._derive("seal")).encrypt(nonce, text.encode("utf-8"), None)
        return _SEALED + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str) -> str:
        """What :meth:`seal` sealed; text stored before sealing began comes back as it is."""
        if not stored.startswith(_SEALED):
            return stored
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        raw = base64.b64decode(stored.removeprefix(_SEALED))
        try:
            plain = AESGCM(self._derive("seal")).decrypt(raw[:12], raw[12:], None)
        except InvalidTag:
            raise StationKeyError(say("store.keys.wrong_key")) from None
        return plain.decode("utf-8")


def load_key(path: Path, *, create: bool) -> StationKey:
    """Read the key file; with ``create``, make one (mode 0600) when there is none."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            raise StationKeyError(say("store.keys.missing", path=path)) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_bytes(KEY_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secret.hex() + "\n")
        return StationKey(secret, path)
    except (OSError, UnicodeDecodeError) as exc:
        raise StationKeyError(say("store.keys.unreadable", path=path, exc=exc)) from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != KEY_BYTES:
        raise StationKeyError(say("store.keys.damaged", path=path))
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)  # a key others can read is no secret: taken back at once
    return StationKey(secret, path)


_current: StationKey | None = None


def use(key: StationKey | None) -> None:
    """The key of the open station (set by ``open_station``, like the database)."""
    global _current
    _current = key


def current() -> StationKey:
    if _current is None:
        raise StationKeyError(say("store.keys.not_loaded"))
    return _current


def current_or_none() -> StationKey | None:
    return _current
