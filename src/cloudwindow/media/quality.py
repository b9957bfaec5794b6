"""Video quality derived from ``media.stats`` samples: pure functions, no I/O.

Why not just count freezes: under load Chromium mostly lowers the frame rate and the
resolution rather than freezing (its freeze detector fires only on a gap of ~3 frame
intervals or more), so a call at 6 fps can show ``freezeCount`` 0. The measures here
catch that stutter too:

- **freeze ratio**: seconds frozen / seconds of video received;
- **low-fps share**: share of seconds received at under 15 fps;
- **p10 fps**: the frame rate that 90 % of the seconds were at or above;
- **mean jitter-buffer delay** (ms per frame), the delay the receiver adds to smooth
  out late packets — it grows before a link starts dropping.

Every measure is weighted by time (a sample covers ``dt`` seconds). Samples without
received video (camera off, not yet connected) are left out. The same summary works on
samples and on per-fps buckets the database sums up (``FpsBucket``), so a site's day of
samples is summarised without loading them (see quality_queries.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LOW_FPS = 15


@dataclass(frozen=True)
class Sample:
    """What one end received over ``dt`` seconds."""

    dt: float
    fps: int | None  # whole frames per second; None: no video received
    freeze_ms: int = 0
    freeze_count: int = 0
    jitter_buffer_ms: float | None = None


@dataclass(frozen=True)
class FpsBucket:
    """Samples at one frame rate, summed: ``seconds``, freezes, jitter-buffer delay
    weighted by seconds (``jb_ms_seconds`` / ``jb_seconds``)."""

    fps: int
    seconds: float
    freeze_ms: int = 0
    freeze_count: int = 0
    jb_ms_seconds: float = 0.0
    jb_seconds: float = 0.0
    samples: int = 1


@dataclass(frozen=True)
class QualitySummary:
    seconds: float  # of received video
    samples: int
    freeze_count: int
    freeze_ratio: float | None
    low_fps_share: float | None  # share of seconds under 15 fps
    p10_fps: int | None
    mean_fps: float | None
    jitter_buffer_ms: float | None


@dataclass(frozen=True)
class Thresholds:
    """When a live call counts as degraded (docs/protocol.md §Media quality)."""

    min_fps: int = LOW_FPS  # under this for `window` seconds …
    window: float = 10.0  # … seconds of samples every rule looks at
    max_freeze_ratio: float = 0.02
    max_jitter_buffer_ms: float = 150.0


def buckets_of(samples: Iterable[Sample]) -> list[FpsBucket]:
    out: dict[int, FpsBucket] = {}
    for s in samples:
        if s.fps is None or s.dt <= 0:
            continue
        b = out.get(s.fps)
        jb = s.jitter_buffer_ms
        add = FpsBucket(
            fps=s.fps,
            seconds=s.dt,
            freeze_ms=s.freeze_ms,
            freeze_count=s.freeze_count,
            jb_ms_seconds=jb * s.dt if jb is not None else 0.0,
            jb_seconds=s.dt if jb is not None else 0.0,
        )
        out[s.fps] = add if b is None else merge(b, add)
    return sorted(out.values(), key=lambda b: b.fps)


def merge(a: FpsBucket, b: FpsBucket) -> FpsBucket:
    return FpsBucket(
        fps=a.fps,
        seconds=a.seconds + b.seconds,
        freeze_ms=a.freeze_ms + b.freeze_ms,
        freeze_count=a.freeze_count + b.freeze_count,
        jb_ms_seconds=a.jb_ms_seconds + b.jb_ms_seconds,
        jb_seconds=a.jb_seconds + b.jb_seconds,
        samples=a.samples + b.samples,
    )


def weighted_percentile(buckets: Sequence[FpsBucket], q: float) -> int | None:
    """The lowest fps at which at least share ``q`` of the seconds lie at or below it."""
    total = sum(b.seconds for b in buckets)
    if total <= 0:
        return None
    seen = 0.0
    for b in sorted(buckets, key=lambda b: b.fps):
        seen += b.seconds
        if seen >= q * total - 1e-9:
            return b.fps
    return max(b.fps for b in buckets)


def summarize(buckets: Sequence[FpsBucket]) -> QualitySummary:
    seconds = sum(b.seconds for b in buckets)
    if seconds <= 0:
        return QualitySummary(0.0, sum(b.samples for b in buckets), 0, None, None, None, None, None)
    frozen = sum(b.freeze_ms for b in buckets) / 1000
    jb_seconds = sum(b.jb_seconds for b in buckets)
    return QualitySummary(
        seconds=round(seconds, 3),
        samples=sum(b.samples for b in buckets),
        freeze_count=sum(b.freeze_count for b in buckets),
        freeze_ratio=min(1.0, frozen / seconds),
        low_fps_share=sum(b.seconds for b in buckets if b.fps < LOW_FPS) / seconds,
        p10_fps=weighted_percentile(buckets, 0.10),
        mean_fps=sum(b.fps * b.seconds for b in buckets) / seconds,
        jitter_buffer_ms=(
            sum(b.jb_ms_seconds for b in buckets) / jb_seconds if jb_seconds > 0 else None
        ),
    )


def summarize_samples(samples: Iterable[Sample]) -> QualitySummary:
    return summarize(buckets_of(samples))


# Alerts on live calls --------------------------------------------------------------------


def trailing(samples: Sequence[Sample], seconds: float) -> list[Sample] | None:
    """The newest samples with received video covering at least ``seconds`` (oldest
    first), or None while there is not that much yet. ``samples`` are oldest first."""
    out: list[Sample] = []
    covered = 0.0
    for s in reversed(samples):
        if s.fps is None:
            continue
        out.append(s)
        covered += s.dt
        if covered >= seconds - 1e-6:
            return out[::-1]
    return None


def degraded_reasons(samples: Sequence[Sample], th: Thresholds) -> list[str]:
    """Why the last ``th.window`` seconds count as degraded (empty: they don't):
    ``low_fps`` — every sample under ``min_fps`` (frame rate fell, with or without
    freezes); ``freezes`` — freeze ratio above ``max_freeze_ratio``; ``jitter_buffer`` —
    mean jitter-buffer delay above ``max_jitter_buffer_ms``."""
    window = trailing(samples, th.window)
    if window is None:
        return []
    summary = summarize_samples(window)
    reasons = []
    if all(s.fps is not None and s.fps < th.min_fps for s in window):
        reasons.append("low_fps")
    if summary.freeze_ratio is not None and summary.freeze_ratio > th.max_freeze_ratio:
        reasons.append("freezes")
    if summary.jitter_buffer_ms is not None and summary.jitter_buffer_ms > th.max_jitter_buffer_ms:
        reasons.append("jitter_buffer")
    return reasons


def recovered(samples: Sequence[Sample], th: Thresholds) -> bool:
    """A degraded call counts as recovered only after a whole window in which every
    sample was good (no flapping between raised and cleared on the border)."""
    window = trailing(samples, th.window)
    if window is None:
        return False
    return all(
        s.fps is not None
        and s.fps >= th.min_fps
        and s.freeze_ms == 0
        and (s.jitter_buffer_ms is None or s.jitter_buffer_ms <= th.max_jitter_buffer_ms)
        for s in window
    )


@dataclass(frozen=True)
class AlertChange:
    raise_: bool  # True: raise with `reasons`; False: clear
    reasons: list[str]


def alert_change(active: bool, samples: Sequence[Sample], th: Thresholds) -> AlertChange | None:
    """What to do about a call side's alert after a new sample: raise, clear, or nothing."""
    if not active:
        reasons = degraded_reasons(samples, th)
        return AlertChange(True, reasons) if reasons else None
    return AlertChange(False, []) if recovered(samples, th) else None
