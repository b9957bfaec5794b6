"""privacy.py: AES-256-GCM at rest, key file for the demo, blind index, masking."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from cloudwindow.privacy import (
    DataKeyInvalid,
    DecryptionFailed,
    Keyring,
    key_id,
    load_or_create_key,
    mask_phone,
    normalize_phone,
    token_key_id,
)


def ring() -> Keyring:
    return Keyring(os.urandom(32))


def test_round_trip_and_format() -> None:
    keys = ring()
    token = keys.encrypt("13812345678", "phone")
    version, kid, _ = token.split(".", 2)
    assert version == "cw1" and kid == key_id(keys.current)
    assert "13812345678" not in token
    assert keys.decrypt(token, "phone") == "13812345678"
    # A fresh nonce each time: equal numbers do not give equal ciphertexts.
    assert keys.encrypt("13812345678", "phone") != token


@pytest.mark.parametrize("position", [5, 20, -3])
def test_tampered_ciphertext_is_a_clear_error(position: int) -> None:
    keys = ring()
    token = keys.encrypt("13812345678", "phone")
    flipped = "A" if token[position] != "A" else "B"
    bad = token[:position] + flipped + token[position + 1 :]
    with pytest.raises(DecryptionFailed) as err:
        keys.decrypt(bad, "phone")
    assert err.value.error_id == "data-decryption-failed"
    assert "篡改" in err.value.body()["message"]["zh-CN"]


@pytest.mark.parametrize("junk", ["", "cw1", "cw1.deadbeef.", "cw2.x.y", "not a token at all"])
def test_garbage_is_a_clear_error(junk: str) -> None:
    with pytest.raises(DecryptionFailed):
        ring().decrypt(junk, "phone")


def test_purpose_is_bound() -> None:
    keys = ring()
    with pytest.raises(DecryptionFailed):
        keys.decrypt(keys.encrypt("13812345678", "phone"), "id_number")


def test_rotation_keeps_old_rows_readable() -> None:
    old = ring()
    token = old.encrypt("13812345678", "phone")
    rotated = Keyring(os.urandom(32), previous=[old.current])
    assert rotated.decrypt(token, "phone") == "13812345678"
    assert rotated.encrypt("x", "phone").split(".")[1] == key_id(rotated.current)
    with pytest.raises(DecryptionFailed):
        ring().decrypt(token, "phone")  # a keyring without the old key


def test_blind_index_is_keyed_and_deterministic() -> None:
    keys = ring()
    a = keys.blind_index("13812345678", "phone")
    assert a == keys.blind_index("13812345678", "phone")
    assert a != keys.blind_index("13812345679", "phone")
    assert a != keys.blind_index("13812345678", "other")
    assert a != ring().blind_index("13812345678", "phone")  # another key, another index


def test_blind_indexes_cover_the_previous_keys_during_a_rotation() -> None:
    old = ring()
    rotated = Keyring(os.urandom(32), previous=[old.current])
    indexes = rotated.blind_indexes("13812345678", "phone")
    assert indexes == [
        rotated.blind_index("13812345678", "phone"),
        old.blind_index("13812345678", "phone"),  # a row not re-indexed yet still matches
    ]
    assert old.blind_indexes("13812345678", "phone") == [old.blind_index("13812345678", "phone")]


def test_token_key_id() -> None:
    keys = ring()
    assert token_key_id(keys.encrypt("x", "p")) == keys.current_id == key_id(keys.current)
    assert token_key_id("not a token") == token_key_id("cw2.abc.def") == ""


def test_demo_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path)
    path = tmp_path / "keys" / "data.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path) == first  # a restart reads the same key
    keys = Keyring.from_config(None, [], tmp_path)
    assert keys.current == first


def test_configured_key_must_be_32_bytes(tmp_path: Path) -> None:
    good = base64.b64encode(b"k" * 32).decode()
    assert Keyring.from_config(good, [], tmp_path).current == b"k" * 32
    assert not (tmp_path / "keys").exists()  # a configured key writes no file
    for bad in (base64.b64encode(b"short").decode(), "%%%not base64"):
        with pytest.raises(DataKeyInvalid):
            Keyring.from_config(bad, [], tmp_path)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("020-12345678", "02012345678"),
        ("12812345678", None),  # no such mobile prefix
        ("1381234567", None),
        ("abc", None),
        ("", None),
    ],
)
def test_normalize_phone(raw: str, normal: str | None) -> None:
    assert normalize_phone(raw) == normal


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("02012345678") == "020****5678"
    assert mask_phone("123") == "*23"
