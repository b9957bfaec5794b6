"""Recording files under ``<data_dir>/recordings/<id>/`` (blocking I/O: call through
``asyncio.to_thread``)::

    chunks/000000 …   uploaded chunks, as received (deleted once a complete file exists)
    raw.webm          the chunks 0 … contiguous-1 concatenated: what the hash chain covers
    play.webm         raw.webm remuxed by ffmpeg (duration and cues for seeking), or absent

Writes are atomic (temp file + rename), so a crash never leaves half a chunk behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_BLOCK = 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RecordingFiles:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "recordings"

    def folder(self, recording_id: int) -> Path:
        return self.root / str(int(recording_id))

    def chunk_path(self, recording_id: int, seq: int) -> Path:
        return self.folder(recording_id) / "chunks" / f"{int(seq):06d}"

    def raw_path(self, recording_id: int) -> Path:
        return self.folder(recording_id) / "raw.webm"

    def play_path(self, recording_id: int) -> Path:
        return self.folder(recording_id) / "play.webm"

    def playback_file(self, recording_id: int, remuxed: bool) -> Path:
        return self.play_path(recording_id) if remuxed else self.raw_path(recording_id)

    def write_chunk(self, recording_id: int, seq: int, data: bytes) -> None:
        _atomic_write(self.chunk_path(recording_id, seq), data)

    def assemble_raw(self, recording_id: int, sizes: list[int]) -> list[str]:
        """Concatenate chunks 0 … len(sizes)-1 into raw.webm; return each chunk's SHA-256
        as read (the caller compares them with the hashes recorded at upload)."""
        target = self.raw_path(recording_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        digests: list[str] = []
        try:
            with os.fdopen(fd, "wb") as out:
                for data in self.iter_chunks(recording_id, sizes):
                    digests.append(hashlib.sha256(data).hexdigest())
                    out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digests

    def iter_chunks(self, recording_id: int, sizes: list[int]) -> Iterator[bytes]:
        """Chunks 0 … len(sizes)-1 as stored now: each from its chunk file if it is still
        there, else from its place in raw.webm. Raises FileNotFoundError if neither."""
        raw = self.raw_path(recording_id)
        offset = 0
        raw_fh = raw.open("rb") if raw.exists() else None
        try:
            for seq, size in enumerate(sizes):
                path = self.chunk_path(recording_id, seq)
                if path.exists():
                    yield path.read_bytes()
                elif raw_fh is not None:
                    raw_fh.seek(offset)
                    yield raw_fh.read(size)
                else:
                    raise FileNotFoundError(path)
                offset += size
        finally:
            if raw_fh is not None:
                raw_fh.close()

    def delete_chunks(self, recording_id: int) -> None:
        shutil.rmtree(self.folder(recording_id) / "chunks", ignore_errors=True)

    def delete_all(self, recording_id: int) -> None:
        shutil.rmtree(self.folder(recording_id), ignore_errors=True)
