"""Site bandwidth budget and admission (ARCHITECTURE §4): pure functions, no I/O.

Every site (点位: a kiosk location or an agent office) has an uplink and a downlink of
known capacity. Each live call with an end at a site sends one video up that link and
receives one video down it: a kiosk site sends the kiosk's video up and receives the
agent's video down; an agent office the opposite. With ``K`` live calls at a site, each
call's video gets an equal share of what is left of the link after audio::

    video per call = (headroom · C − K · audio) / K        clamped to [min_video, ceiling]

and a call's cap in one direction is the smaller of the sender's uplink share and the
receiver's downlink share. One more call is *admitted* at a site only if, with it, every
call there still gets at least the quality floor in both directions; otherwise routing
holds the ticket instead of degrading everyone (the seed's failure: "video stutters when
many users are online at once").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")

# No encoder produces watchable video below this; a cap is never set lower. Only a site
# that is already over budget (capacity lowered, or calls admitted elsewhere) gets it.
MIN_VIDEO_KBPS = 50


@dataclass(frozen=True)
class BudgetPolicy:
    headroom: float = 0.8  # share of a link's capacity the calls may use
    audio_kbps: int = 48  # per call and direction
    floor_kbps: int = 300  # the quality floor: least video a call must get
    ceiling_kbps: int = 1500  # most video a call gets, however idle the link

    def __post_init__(self) -> None:
        if not 0 < self.headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        if self.audio_kbps < 0 or self.floor_kbps < MIN_VIDEO_KBPS:
            raise ValueError("audio must be ≥ 0 and the floor at least MIN_VIDEO_KBPS")
        if self.ceiling_kbps < self.floor_kbps:
            raise ValueError("ceiling must not be below the floor")


@dataclass(frozen=True)
class SiteLink:
    """A site's link capacity (kbit/s) and the number of live calls using it."""

    site_id: int
    uplink_kbps: int
    downlink_kbps: int
    calls: int = 0


class Limit(StrEnum):
    """What set a cap: the ceiling, or which link of which end."""

    CEILING = "ceiling"
    UPLINK = "uplink"  # the sender's site uplink
    DOWNLINK = "downlink"  # the receiver's site downlink


def share_kbps(capacity_kbps: int, calls: int, policy: BudgetPolicy) -> int:
    """Video kbit/s each of ``calls`` calls gets on a link of ``capacity_kbps``.

    Never above the ceiling; never below ``MIN_VIDEO_KBPS`` (a link that cannot even give
    that is over budget, and admission exists to keep sites out of that state)."""
    if calls <= 0:
        return policy.ceiling_kbps
    raw = (policy.headroom * capacity_kbps - calls * policy.audio_kbps) / calls
    return int(max(MIN_VIDEO_KBPS, min(policy.ceiling_kbps, raw)))


def _raw_share(capacity_kbps: int, calls: int, policy: BudgetPolicy) -> float:
    return (policy.headroom * capacity_kbps - calls * policy.audio_kbps) / calls


@dataclass(frozen=True)
class SiteShare:
    """What each call at a site may send up (uplink) and receive down (downlink)."""

    site_id: int
    calls: int
    uplink_kbps: int
    downlink_kbps: int
    saturated: bool  # one more call would push calls below the floor


def site_share(link: SiteLink, policy: BudgetPolicy) -> SiteShare:
    return SiteShare(
        site_id=link.site_id,
        calls=link.calls,
        uplink_kbps=share_kbps(link.uplink_kbps, link.calls, policy),
        downlink_kbps=share_kbps(link.downlink_kbps, link.calls, policy),
        saturated=not admits(link, policy),
    )


def admits(link: SiteLink, policy: BudgetPolicy) -> bool:
    """Whether one more call fits at this site with every call at or above the floor,
    in both directions."""
    k = link.calls + 1
    return (
        min(_raw_share(link.uplink_kbps, k, policy), _raw_share(link.downlink_kbps, k, policy))
        >= policy.floor_kbps
    )


def max_calls(link: SiteLink, policy: BudgetPolicy) -> int:
    """How many calls the site carries at the floor (its admission limit)."""
    capacity = min(link.uplink_kbps, link.downlink_kbps)
    return max(0, int(policy.headroom * capacity // (policy.floor_kbps + policy.audio_kbps)))


@dataclass(frozen=True)
class Cap:
    """The most video one end may send: ``kbps``, and what set it."""

    kbps: int
    limit: Limit
    site_id: int | None  # the site whose link set it (None: the ceiling)


def stream_cap(sender: SiteShare | None, receiver: SiteShare | None, policy: BudgetPolicy) -> Cap:
    """The cap of one video stream: the sender's uplink share and the receiver's downlink
    share, whichever is smaller. An end with no site (a citizen at home) adds no limit."""
    best = Cap(policy.ceiling_kbps, Limit.CEILING, None)
    if sender is not None and sender.uplink_kbps < best.kbps:
        best = Cap(sender.uplink_kbps, Limit.UPLINK, sender.site_id)
    if receiver is not None and receiver.downlink_kbps < best.kbps:
        best = Cap(receiver.downlink_kbps, Limit.DOWNLINK, receiver.site_id)
    return best


@dataclass(frozen=True)
class CallCaps:
    """Both video streams of a call: what the kiosk sends, what the agent sends."""

    kiosk_sends: Cap
    agent_sends: Cap


def call_caps(kiosk: SiteShare | None, agent: SiteShare | None, policy: BudgetPolicy) -> CallCaps:
    return CallCaps(
        kiosk_sends=stream_cap(kiosk, agent, policy),
        agent_sends=stream_cap(agent, kiosk, policy),
    )


# Admission in routing ---------------------------------------------------------------------


def seconds_until_free(calls: Sequence[tuple[float, float]], minimum: float = 30.0) -> float:
    """When a saturated site is expected to have room: the soonest end of one of its
    calls, each ``(elapsed, mean handle)`` seconds, never less than ``minimum``."""
    if not calls:
        return minimum
    return max(minimum, min(mean - elapsed for elapsed, mean in calls))


def split_held(
    items: Iterable[T], site_of: Callable[[T], int | None], held: Collection[int]
) -> tuple[list[T], list[T]]:
    """Routing input without the items (tickets, or ready agents) whose site is
    saturated: ``(offerable, held)``, order kept. Items with no site are never held."""
    offerable: list[T] = []
    kept: list[T] = []
    for item in items:
        site = site_of(item)
        (kept if site is not None and site in held else offerable).append(item)
    return offerable, kept
