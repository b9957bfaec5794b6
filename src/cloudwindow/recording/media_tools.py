"""ffmpeg/ffprobe around an assembled recording (both optional at run time).

MediaRecorder writes WebM as a live stream: no duration in the header and no cues, so a
``<video>`` element cannot show the length or seek well. Remuxing with ``-c copy`` (no
re-encoding, seconds for an hour) writes both. Without ffmpeg the raw file is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from cloudwindow.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Probe:
    duration_ms: int | None
    has_video: bool
    has_audio: bool


def ffprobe_for(ffmpeg: str) -> str:
    """ffprobe next to the configured ffmpeg (``/opt/x/ffmpeg`` → ``/opt/x/ffprobe``)."""
    path = Path(ffmpeg)
    return str(path.with_name(path.name.replace("ffmpeg", "ffprobe")))


async def _run(args: list[str], limit_seconds: float) -> tuple[int, bytes]:
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_seconds)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return -1, b""
    if proc.returncode != 0:
        log.warning("media-tool-failed", tool=args[0], stderr=err[-500:].decode(errors="replace"))
    return proc.returncode or 0, out


def _timeout(source: Path) -> float:
    return 30 + source.stat().st_size / (20 * 1024 * 1024)  # generous: copying, not coding


async def remux(ffmpeg: str, source: Path, target: Path) -> bool:
    """Remux ``source`` into ``target`` (WebM, streams copied). False if ffmpeg is missing
    or fails; then ``target`` does not exist."""
    if shutil.which(ffmpeg) is None:
        return False
    tmp = target.with_name(".tmp-" + target.name)
    code, _ = await _run(
        [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(source),
            "-c",
            "copy",
            "-f",
            "webm",
            str(tmp),
        ],
        _timeout(source),
    )
    if code != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        return False
    tmp.replace(target)
    return True


async def probe(ffmpeg: str, path: Path) -> Probe | None:
    """Duration and stream kinds, or None when ffprobe is missing or cannot read it."""
    tool = ffprobe_for(ffmpeg)
    if shutil.which(tool) is None:
        return None
    args = [tool, "-v", "error", "-show_entries", "format=duration:stream=codec_type"]
    code, out = await _run([*args, "-of", "json", str(path)], _timeout(path))
    if code != 0:
        return None
    try:
        info = json.loads(out)
        kinds = {s.get("codec_type") for s in info.get("streams", [])}
        raw = info.get("format", {}).get("duration")
        duration = round(float(raw) * 1000) if raw not in (None, "N/A") else None
    except (ValueError, TypeError, AttributeError):
        return None
    return Probe(duration, "video" in kinds, "audio" in kinds)
