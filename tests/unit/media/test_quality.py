"""Derived video quality (media/quality.py) over fixed sample tables."""

from __future__ import annotations

import pytest

from cloudwindow.media.quality import (
    FpsBucket,
    Sample,
    Thresholds,
    alert_change,
    buckets_of,
    degraded_reasons,
    recovered,
    summarize,
    summarize_samples,
    weighted_percentile,
)

TH = Thresholds()


def s(fps: int | None, freeze_ms: int = 0, jb: float | None = 40.0, dt: float = 2.0) -> Sample:
    return Sample(
        dt=dt, fps=fps, freeze_ms=freeze_ms, freeze_count=1 if freeze_ms else 0, jitter_buffer_ms=jb
    )


def test_a_smooth_call() -> None:
    q = summarize_samples([s(30)] * 30)
    assert q.seconds == 60 and q.samples == 30
    assert q.freeze_ratio == 0 and q.freeze_count == 0
    assert q.low_fps_share == 0 and q.p10_fps == 30 and q.mean_fps == 30
    assert q.jitter_buffer_ms == pytest.approx(40)


def test_stutter_without_freezes_is_caught() -> None:
    """Chromium under load drops to a low frame rate without counting freezes: the freeze
    ratio says nothing is wrong, the frame-rate measures say it all."""
    q = summarize_samples([s(30)] * 5 + [s(8)] * 15)
    assert q.freeze_count == 0 and q.freeze_ratio == 0
    assert q.low_fps_share == pytest.approx(0.75)
    assert q.p10_fps == 8
    assert degraded_reasons([s(30)] * 5 + [s(8)] * 15, TH) == ["low_fps"]


@pytest.mark.parametrize(
    ("samples", "freeze_ratio", "low_share", "p10", "jb"),
    [
        # 100 s; one 1.5 s freeze: 1.5 %; 10 % of seconds at 12 fps → p10 = 12
        ([s(30)] * 44 + [s(12)] * 5 + [s(25, freeze_ms=1500)], 0.015, 0.10, 12, 40.0),
        # p10 sits on the boundary of the cumulative share: 4 s at 5 fps of 40 s is exactly 10 %
        ([s(5)] * 2 + [s(24)] * 18, 0.0, 0.10, 5, 40.0),
        # time-weighted: a 6 s sample outweighs two 1 s samples
        ([s(10, dt=1), s(10, dt=1), s(30, dt=6, jb=100)], 0.0, 0.25, 10, 85.0),
        # no jitter-buffer figure in any sample
        ([s(20, jb=None)] * 3, 0.0, 0.0, 20, None),
    ],
)
def test_summary_table(
    samples: list[Sample], freeze_ratio: float, low_share: float, p10: int, jb: float | None
) -> None:
    q = summarize_samples(samples)
    assert q.freeze_ratio == pytest.approx(freeze_ratio)
    assert q.low_fps_share == pytest.approx(low_share)
    assert q.p10_fps == p10
    assert q.jitter_buffer_ms == (pytest.approx(jb) if jb is not None else None)


def test_samples_without_video_are_left_out() -> None:
    q = summarize_samples([s(None)] * 10 + [s(20)])
    assert q.seconds == 2 and q.p10_fps == 20
    empty = summarize_samples([s(None)])
    assert empty.seconds == 0 and empty.freeze_ratio is None and empty.p10_fps is None


def test_buckets_sum_like_samples() -> None:
    """What the database sums per fps gives the same summary as the samples."""
    samples = [s(30)] * 7 + [s(9, freeze_ms=400, jb=180)] * 3 + [s(14, jb=None)] * 2
    buckets = buckets_of(samples)
    assert [b.fps for b in buckets] == [9, 14, 30]
    assert buckets[0] == FpsBucket(9, 6.0, 1200, 3, 180 * 6.0, 6.0, 3)
    assert summarize(buckets) == summarize_samples(samples)
    assert weighted_percentile([], 0.1) is None


def test_alert_needs_a_full_window() -> None:
    assert degraded_reasons([s(5)] * 4, TH) == []  # 8 s: not yet
    assert degraded_reasons([s(5)] * 5, TH) == ["low_fps"]  # 10 s under 15 fps
    # one good sample inside the window: not 10 s *in a row* under 15 fps
    assert degraded_reasons([s(5)] * 2 + [s(20)] + [s(5)] * 2, TH) == []


@pytest.mark.parametrize(
    ("window", "reasons"),
    [
        ([s(25, freeze_ms=300)] + [s(25)] * 4, ["freezes"]),  # 3 % frozen
        ([s(25, freeze_ms=150)] + [s(25)] * 4, []),  # 1.5 %
        ([s(25, jb=200)] * 5, ["jitter_buffer"]),
        ([s(25, jb=140)] * 5, []),
        ([s(6, freeze_ms=600, jb=300)] * 5, ["low_fps", "freezes", "jitter_buffer"]),
    ],
)
def test_degradation_reasons(window: list[Sample], reasons: list[str]) -> None:
    assert degraded_reasons([s(30)] * 10 + window, TH) == reasons


def test_raise_then_clear_only_after_a_good_window() -> None:
    bad = [s(30)] * 5 + [s(8)] * 5
    change = alert_change(False, bad, TH)
    assert change is not None and change.raise_ and change.reasons == ["low_fps"]
    assert alert_change(True, bad, TH) is None  # still bad: stays raised, no repeat
    # A mixed window is neither degraded nor recovered: nothing changes either way.
    mixed = bad + [s(20)] * 3
    assert alert_change(True, mixed, TH) is None and alert_change(False, mixed, TH) is None
    good = bad + [s(20)] * 5
    assert recovered(good, TH)
    change = alert_change(True, good, TH)
    assert change is not None and not change.raise_
    assert alert_change(False, good, TH) is None
