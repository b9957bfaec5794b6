"""Personal data at rest (PIPL): encryption, blind indexes, masking.

- **Encryption**: AES-256-GCM (``cryptography``). A ciphertext is one ASCII string,
  ``cw1.<key id>.<base64url(nonce ‖ ciphertext+tag)>``: the version and the key id let a
  key be rotated (new writes use the current key, old rows still open with the previous
  keys listed in the settings; ``cloudwindow privacy rotate-key`` re-encrypts them all,
  privacy_rotation.py). The purpose ("phone") is authenticated data, so a value
  copied from one column into another does not decrypt.
- **Blind index**: a keyed HMAC-SHA256 of the normalised value, for equality lookups
  ("this phone number's bookings") without storing the clear value. The index key is
  derived from the data key; rotating the data key means re-indexing.
- **Masking**: what every screen and API shows (``138****5678``).

The key comes from ``CLOUDWINDOW_DATA_KEY`` (base64 of 32 bytes). When unset, one is
generated once into ``<data_dir>/keys/data.key`` (mode 0600) and reused, so a demo that
restarts can still read what it stored. Production sets the variable (or mounts the file).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudwindow.config import Settings
from cloudwindow.errors import CloudWindowError

VERSION = "cw1"
KEY_FILE = Path("keys") / "data.key"
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{9,11})$")


class DataKeyInvalid(CloudWindowError):
    error_id = "data-key-invalid"
    status_code = 500
    message_zh = "数据加密密钥配置无效（需为 32 字节的 base64 编码）"
    message_en = "The data encryption key is invalid (base64 of 32 bytes expected)"


class DecryptionFailed(CloudWindowError):
    """The stored value was altered, belongs to another purpose, or its key is gone."""

    error_id = "data-decryption-failed"
    status_code = 500
    message_zh = "加密数据无法解密（数据被篡改或密钥不匹配）"
    message_en = "Encrypted data could not be decrypted (tampered with, or the key does not match)"


def _decode_key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DataKeyInvalid() from exc
    if len(key) != 32:
        raise DataKeyInvalid({"length": len(key)})
    return key


def key_id(key: bytes) -> str:
    """A short, non-secret name of a key (the first 8 hex digits of its SHA-256)."""
    return hashlib.sha256(b"cloudwindow-key-id" + key).hexdigest()[:8]


def load_or_create_key(data_dir: Path) -> bytes:
    """The demo key: read from the data folder, or generated there once (mode 0600)."""
    path = data_dir / KEY_FILE
    if path.exists():
        return _decode_key(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = base64.b64encode(os.urandom(32)).decode()
    try:
        # O_EXCL: two processes starting at once agree on one key (the loser reads it).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _decode_key(path.read_text())
    with os.fdopen(fd, "w") as fh:
        fh.write(encoded + "\n")
    return _decode_key(encoded)


@dataclass
class Keyring:
    """The current data key (encrypts) and earlier ones (still decrypt)."""

    current: bytes
    previous: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {key_id(k): k for k in [*self.previous, self.current]}
        self._current_id = key_id(self.current)
        self._index_keys = [
            hmac.new(k, b"cloudwindow-blind-index", "sha256").digest()
            for k in [self.current, *self.previous]
        ]
        self._index_key = self._index_keys[0]

    @classmethod
    def from_config(cls, data_key: str | None, previous: list[str], data_dir: Path) -> Keyring:
        current = _decode_key(data_key) if data_key else load_or_create_key(data_dir)
        return cls(current, [_decode_key(k) for k in previous])

    @property
    def current_id(self) -> str:
        """The id of the key new tokens are sealed with (``cw1.<id>.…``)."""
        return self._current_id

    def encrypt(self, clear: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.current).encrypt(nonce, clear.encode(), purpose.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self._current_id}.{body}"

    def decrypt(self, token: str, purpose: str) -> str:
        try:
            version, kid, body = token.split(".", 2)
            key = self._by_id[kid]
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, KeyError, binascii.Error) as exc:
            raise DecryptionFailed({"reason": "format"}) from exc
        if version != VERSION or len(raw) < 12 + 16:
            raise DecryptionFailed({"reason": "format"})
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionFailed({"reason": "tampered"}) from exc

    def blind_index(self, clear: str, purpose: str) -> str:
        """Equal inputs (same purpose) give equal indexes; nothing else can be read from it."""
        msg = purpose.encode() + b"\x00" + clear.encode()
        return hmac.new(self._index_key, msg, "sha256").hexdigest()[:40]

    def blind_indexes(self, clear: str, purpose: str) -> list[str]:
        """What to look a value up by: its index under the current key, then under each
        previous key — while a key rotation runs, rows it has not re-indexed yet still
        match (privacy_rotation.py). Just one entry when there is no previous key."""
        msg = purpose.encode() + b"\x00" + clear.encode()
        return [hmac.new(k, msg, "sha256").hexdigest()[:40] for k in self._index_keys]


def token_key_id(token: str) -> str:
    """The key id a token was sealed with ("" if it is not a token): rotation skips
    tokens already under the current key (privacy_rotation.py)."""
    parts = token.split(".", 2)
    return parts[1] if len(parts) == 3 and parts[0] == VERSION else ""


def normalize_phone(raw: str) -> str | None:
    """Digits of a mainland mobile (11 digits, 1[3-9]…) or landline with area code
    (0…, 10–12 digits); spaces, dashes and a +86 prefix are dropped. None if invalid."""
    digits = re.sub(r"[\s\-()]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits if _PHONE.match(digits) else None


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; short or odd values keep only their last two digits."""
    if len(phone) >= 8:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(0, len(phone) - 2) + phone[-2:]


@lru_cache(maxsize=8)
def _keyring(data_key: str | None, previous: tuple[str, ...], data_dir: Path) -> Keyring:
    return Keyring.from_config(data_key, list(previous), data_dir)


def keyring_for(settings: Settings) -> Keyring:
    """The keyring of these settings, loaded (or the demo key generated) on first use."""
    return _keyring(settings.data_key, tuple(settings.data_keys_previous), settings.data_dir)
