"""Site bandwidth budget: per-call video caps and admission (media/budget.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudwindow.media.budget import (
    MIN_VIDEO_KBPS,
    BudgetPolicy,
    Limit,
    SiteLink,
    admits,
    call_caps,
    max_calls,
    seconds_until_free,
    share_kbps,
    site_share,
    split_held,
)

P = BudgetPolicy(headroom=0.8, audio_kbps=48, floor_kbps=300, ceiling_kbps=1500)


@pytest.mark.parametrize(
    ("capacity", "calls", "expected"),
    [
        (2000, 0, 1500),  # no calls: the ceiling
        (2000, 1, 1500),  # 1600 − 48 = 1552 → ceiling
        (2000, 2, 752),  # (1600 − 96) / 2
        (2000, 4, 352),  # (1600 − 192) / 4
        (2000, 5, 272),  # below the floor: what the link gives, not the floor
        (4000, 8, 352),  # (3200 − 384) / 8
        (1000, 20, MIN_VIDEO_KBPS),  # hopelessly over budget: never below the minimum
        (100_000, 3, 1500),
    ],
)
def test_share_per_call(capacity: int, calls: int, expected: int) -> None:
    assert share_kbps(capacity, calls, P) == expected


@pytest.mark.parametrize(
    ("up", "down", "calls", "admitted"),
    [
        (2000, 2000, 0, True),
        (2000, 2000, 3, True),  # 4 calls: (1600 − 192) / 4 = 352 ≥ 300
        (2000, 2000, 4, False),  # 5 calls: 272 < 300
        (4000, 4000, 8, True),  # 9 calls: (3200 − 432) / 9 = 307 ≥ 300
        (4000, 4000, 9, False),  # 10 calls: (3200 − 480) / 10 = 272
        (4000, 1000, 0, True),  # (800 − 48) = 752
        (4000, 1000, 1, True),  # 2 calls on the downlink: (800 − 96) / 2 = 352
        (4000, 1000, 2, False),  # 3 calls on the downlink: (800 − 144) / 3 = 218
        (300, 300, 0, False),  # a link too thin for even one call
    ],
)
def test_admission(up: int, down: int, calls: int, admitted: bool) -> None:
    link = SiteLink(1, up, down, calls)
    assert admits(link, P) is admitted
    assert site_share(link, P).saturated is (not admitted)


def test_max_calls_matches_admission() -> None:
    for up, down in [(2000, 2000), (4000, 4000), (4000, 1000), (10_000, 20_000), (300, 300)]:
        link = SiteLink(1, up, down)
        n = max_calls(link, P)
        assert all(admits(SiteLink(1, up, down, k), P) for k in range(n))
        assert not admits(SiteLink(1, up, down, n), P)


def test_call_cap_is_the_smaller_of_both_ends() -> None:
    # A kiosk in a village on a thin uplink, the agent in a well-connected office.
    kiosk = site_share(SiteLink(1, uplink_kbps=1000, downlink_kbps=8000, calls=2), P)
    office = site_share(SiteLink(2, uplink_kbps=20_000, downlink_kbps=20_000, calls=30), P)
    caps = call_caps(kiosk, office, P)
    assert caps.kiosk_sends.kbps == 352 and caps.kiosk_sends.limit is Limit.UPLINK
    assert caps.kiosk_sends.site_id == 1
    # The agent's video comes down the kiosk's wide downlink; the office uplink shared by
    # 30 calls is the tighter one: (16000 − 1440) / 30 = 485.
    assert caps.agent_sends.kbps == 485 and caps.agent_sends.limit is Limit.UPLINK
    assert caps.agent_sends.site_id == 2
    # The office's downlink carries the kiosk's video too, but 485 > 352.
    # A citizen at home (no site) adds no limit: the other end, or the ceiling, decides.
    alone = call_caps(None, office, P)
    assert alone.kiosk_sends.kbps == 485 and alone.kiosk_sends.limit is Limit.DOWNLINK
    assert call_caps(None, None, P).agent_sends.limit is Limit.CEILING


def test_policy_is_checked() -> None:
    with pytest.raises(ValueError):
        BudgetPolicy(headroom=1.5)
    with pytest.raises(ValueError):
        BudgetPolicy(floor_kbps=800, ceiling_kbps=500)


capacities = st.integers(min_value=0, max_value=200_000)
policies = st.builds(
    BudgetPolicy,
    headroom=st.floats(min_value=0.1, max_value=1.0),
    audio_kbps=st.integers(min_value=0, max_value=128),
    floor_kbps=st.integers(min_value=MIN_VIDEO_KBPS, max_value=1000),
    ceiling_kbps=st.integers(min_value=1000, max_value=4000),
)


@given(capacities, st.integers(min_value=1, max_value=200), policies)
def test_caps_never_exceed_capacity_when_admitted(capacity: int, k: int, p: BudgetPolicy) -> None:
    """Whenever K calls were admitted (each got at least the floor), K calls' video and
    audio together stay within the link — within its headroom, in fact."""
    cap = share_kbps(capacity, k, p)
    if (p.headroom * capacity - k * p.audio_kbps) / k >= p.floor_kbps:
        assert k * (cap + p.audio_kbps) <= p.headroom * capacity + 1e-6 <= capacity + 1e-6
        assert cap >= p.floor_kbps  # the floor is respected for admitted calls
    assert MIN_VIDEO_KBPS <= cap <= p.ceiling_kbps


@given(capacities, st.integers(min_value=0, max_value=200), policies)
def test_caps_fall_monotonically_with_more_calls(capacity: int, k: int, p: BudgetPolicy) -> None:
    assert share_kbps(capacity, k + 1, p) <= share_kbps(capacity, k, p)


@given(capacities, capacities, st.integers(min_value=0, max_value=200), policies)
def test_admitting_one_more_keeps_everyone_above_the_floor(
    up: int, down: int, k: int, p: BudgetPolicy
) -> None:
    link = SiteLink(1, up, down, k)
    if admits(link, p):
        after = site_share(SiteLink(1, up, down, k + 1), p)
        assert after.uplink_kbps >= p.floor_kbps and after.downlink_kbps >= p.floor_kbps
        # and the caps of all K+1 calls still fit on both links
        assert (k + 1) * (after.uplink_kbps + p.audio_kbps) <= up
        assert (k + 1) * (after.downlink_kbps + p.audio_kbps) <= down
    # Admission is monotonic too: a site that refuses K more calls refuses K + 1.
    if not admits(link, p):
        assert not admits(SiteLink(1, up, down, k + 1), p)


@given(capacities, capacities, policies)
def test_max_calls_is_the_admission_limit(up: int, down: int, p: BudgetPolicy) -> None:
    n = max_calls(SiteLink(1, up, down), p)
    if n > 0:
        assert admits(SiteLink(1, up, down, n - 1), p)
    assert not admits(SiteLink(1, up, down, n), p)


def test_routing_input_without_held_sites() -> None:
    tickets = [("A001", 1), ("A002", 2), ("A003", None), ("A004", 1), ("A005", 3)]
    offerable, held = split_held(tickets, lambda t: t[1], {1, 3})
    assert [t[0] for t in offerable] == ["A002", "A003"]  # a web citizen (no site) is never held
    assert [t[0] for t in held] == ["A001", "A004", "A005"]
    assert split_held(tickets, lambda t: t[1], set()) == (tickets, [])


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        ([], 30),
        ([(100, 300), (250, 300)], 50),  # the call nearest its expected end
        ([(900, 300)], 30),  # overdue calls: soon, but never "now"
        ([(0, 600), (60, 600)], 540),
    ],
)
def test_expected_time_until_a_held_site_has_room(
    calls: list[tuple[float, float]], expected: float
) -> None:
    assert seconds_until_free(calls) == expected
