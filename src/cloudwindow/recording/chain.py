"""The hash chain over a recording's chunks (pure functions, no I/O).

    h_-1 = SHA256("cloudwindow-recording-v1:" || recording id)        (the genesis)
    h_n  = SHA256(h_{n-1} || SHA256(chunk_n) || n as 8 bytes big-endian)

Every link commits to all the chunks before it, their order and the recording, so the
head stored with the recording proves that the assembled file is exactly what the
agent's browser uploaded: changing, dropping, reordering or adding a chunk changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # every WebM (Matroska) file starts with it


def genesis(recording_id: int) -> str:
    return hashlib.sha256(f"cloudwindow-recording-v1:{recording_id}".encode()).hexdigest()


def link(previous: str, chunk_sha256: str, seq: int) -> str:
    """h_seq from h_{seq-1} (hex) and the chunk's SHA-256 (hex)."""
    data = bytes.fromhex(previous) + bytes.fromhex(chunk_sha256) + seq.to_bytes(8, "big")
    return hashlib.sha256(data).hexdigest()


def head(recording_id: int, chunk_hashes: Iterable[str]) -> str:
    """The chain head over chunks 0, 1, … given their SHA-256s in order."""
    h = genesis(recording_id)
    for seq, digest in enumerate(chunk_hashes):
        h = link(h, digest, seq)
    return h


@dataclass(frozen=True)
class StoredChunk:
    seq: int
    size: int
    sha256: str
    chain_hash: str | None


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int  # chunks whose bytes were checked
    first_bad: int | None  # the first chunk that does not match, if any
    reason: str  # "" | chunk-hash | chain-link | chain-head | size | missing-file
    computed_head: str


def check(
    recording_id: int, stored: list[StoredChunk], actual_sha256: list[str], stored_head: str
) -> ChainCheck:
    """Compare the chain recorded at upload time with one recomputed from the bytes on
    disk (``actual_sha256[i]`` is the SHA-256 of chunk i as read back now)."""
    h = genesis(recording_id)
    for seq, (row, digest) in enumerate(zip(stored, actual_sha256, strict=True)):
        if row.seq != seq:
            return ChainCheck(False, seq, seq, "missing-chunk", h)
        if digest != row.sha256:
            return ChainCheck(False, seq + 1, seq, "chunk-hash", h)
        h = link(h, digest, seq)
        if row.chain_hash is not None and row.chain_hash != h:
            return ChainCheck(False, seq + 1, seq, "chain-link", h)
    if h != stored_head:
        return ChainCheck(False, len(stored), None, "chain-head", h)
    return ChainCheck(True, len(stored), None, "", h)
