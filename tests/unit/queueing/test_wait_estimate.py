"""Wait estimate shown to a citizen, and the handle-time mean it is computed from."""

from __future__ import annotations

import heapq
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudwindow.queueing.rules import HandleTimeStats, expected_wait_seconds


@pytest.mark.parametrize(
    ("position", "agents", "handle", "expected"),
    [
        (0, 3, 300.0, 0.0),  # being served / called: no wait
        (-2, 3, 300.0, 0.0),
        (0, 0, 300.0, 0.0),
        (1, 1, 300.0, 300.0),
        (1, 3, 300.0, 100.0),  # first of three parallel departures
        (3, 2, 300.0, 450.0),
        (10, 5, 0.0, 0.0),
        (1, 0, 300.0, math.inf),  # nobody serves the group: "no agent available"
        (7, -1, 300.0, math.inf),
    ],
)
def test_expected_wait_table(position: int, agents: int, handle: float, expected: float) -> None:
    assert expected_wait_seconds(position, agents, handle) == pytest.approx(expected)


def test_expected_wait_rejects_negative_handle() -> None:
    with pytest.raises(ValueError):
        expected_wait_seconds(1, 1, -1.0)


@given(
    st.integers(1, 500),
    st.integers(1, 50),
    st.floats(1.0, 3600.0),
)
def test_expected_wait_grows_with_position_and_falls_with_agents(
    position: int, agents: int, handle: float
) -> None:
    w = expected_wait_seconds(position, agents, handle)
    assert expected_wait_seconds(position + 1, agents, handle) > w
    assert expected_wait_seconds(position, agents + 1, handle) < w
    # linear: doubling both the queue and the agents leaves the wait unchanged
    assert expected_wait_seconds(2 * position, 2 * agents, handle) == pytest.approx(w)


@pytest.mark.parametrize(("position", "agents"), [(1, 1), (4, 3), (12, 5)])
def test_expected_wait_matches_simulated_busy_mmn(position: int, agents: int) -> None:
    # n busy agents with exponential handle times; each departure takes the next ticket.
    # The mean time until our ticket (at `position`) is taken is position·h/n.
    rng = random.Random(position * 100 + agents)
    h = 300.0
    runs = 20_000
    total = 0.0
    for _ in range(runs):
        ends = [rng.expovariate(1 / h) for _ in range(agents)]
        heapq.heapify(ends)
        t = 0.0
        for _ in range(position):
            t = heapq.heappop(ends)
            heapq.heappush(ends, t + rng.expovariate(1 / h))
        total += t
    assert total / runs == pytest.approx(expected_wait_seconds(position, agents, h), rel=0.03)


@pytest.mark.parametrize(
    ("position", "agents", "free", "wrap", "expected"),
    [
        (1, 3, 1, 0.0, 0.0),  # a ready agent takes the first ticket at once
        (2, 3, 2, 60.0, 0.0),
        (3, 3, 2, 0.0, 100.0),  # one ahead of the free agents: one departure of three
        (1, 1, 0, 60.0, 360.0),  # the agent also wraps up before taking the next
        (4, 2, 0, 30.0, 660.0),
        (5, 0, 0, 30.0, math.inf),
    ],
)
def test_expected_wait_counts_free_agents_and_wrap_up(
    position: int, agents: int, free: int, wrap: float, expected: float
) -> None:
    got = expected_wait_seconds(position, agents, 300.0, free_agents=free, wrap_up_seconds=wrap)
    assert got == pytest.approx(expected)


def test_expected_wait_rejects_negative_wrap_up() -> None:
    with pytest.raises(ValueError):
        expected_wait_seconds(1, 1, 300.0, wrap_up_seconds=-1.0)


# ---- HandleTimeStats --------------------------------------------------------------------


def test_prior_until_first_sample_then_the_sample() -> None:
    s = HandleTimeStats()
    assert s.mean == 300.0 and s.samples == 0
    s.update(120.0)
    assert s.mean == 120.0 and s.samples == 1
    assert HandleTimeStats(prior_seconds=45.0).mean == 45.0


@pytest.mark.parametrize(
    ("half_life", "samples", "expected"),
    [
        (1.0, [100.0, 200.0], (0.5 * 100 + 200) / 1.5),  # one sample back weighs half
        (2.0, [100.0, 200.0, 300.0], (0.5 * 100 + 2**-0.5 * 200 + 300) / (1.5 + 2**-0.5)),
        (10.0, [60.0] * 40, 60.0),
    ],
)
def test_weights_halve_every_half_life(
    half_life: float, samples: list[float], expected: float
) -> None:
    s = HandleTimeStats(half_life=half_life)
    for x in samples:
        s.update(x)
    assert s.mean == pytest.approx(expected)


def test_after_one_half_life_a_level_shift_is_half_absorbed() -> None:
    s = HandleTimeStats(half_life=50)
    for _ in range(10_000):
        s.update(100.0)
    for _ in range(50):
        s.update(300.0)
    assert s.mean == pytest.approx(200.0, rel=1e-6)


@given(st.lists(st.floats(0.0, 7200.0), min_size=1, max_size=200), st.floats(0.5, 500.0))
def test_mean_stays_within_the_samples(samples: list[float], half_life: float) -> None:
    s = HandleTimeStats(half_life=half_life)
    for x in samples:
        s.update(x)
    assert min(samples) - 1e-9 <= s.mean <= max(samples) + 1e-9
    assert s.samples == len(samples)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_rejects_bad_samples(bad: float) -> None:
    with pytest.raises(ValueError):
        HandleTimeStats().update(bad)


@pytest.mark.parametrize(("half_life", "prior"), [(0.0, 300.0), (-1.0, 300.0), (10.0, -5.0)])
def test_rejects_bad_configuration(half_life: float, prior: float) -> None:
    with pytest.raises(ValueError):
        HandleTimeStats(half_life=half_life, prior_seconds=prior)
