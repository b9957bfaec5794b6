"""Shapes of quality telemetry: the ``media.stats`` message (docs/protocol.md §Media
quality) and the supervisor's quality views."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudwindow.media.schemas import SessionId
from cloudwindow.schemas import InputModel

Fps = Field(default=None, ge=0, le=240)
Pixels = Field(default=None, ge=0, le=8192)
Kbps = Field(default=None, ge=0, le=1_000_000)


class Strict(InputModel):
    model_config = ConfigDict(extra="forbid")


class InboundVideo(Strict):
    """The video this end received over the interval (from inbound-rtp, kind video)."""

    fps: float | None = Fps
    w: int | None = Pixels
    h: int | None = Pixels
    kbps: int | None = Kbps
    frames: int | None = Field(default=None, ge=0, le=100_000)  # framesDecoded, in interval
    freezes: int = Field(default=0, ge=0, le=1000)  # freezeCount, in interval
    freeze_ms: int = Field(default=0, ge=0, le=600_000)  # totalFreezesDuration, in interval
    jb_ms: float | None = Field(default=None, ge=0, le=60_000)  # mean jitter-buffer delay
    loss: float | None = Field(default=None, ge=0, le=1)  # packets lost / expected


class OutboundVideo(Strict):
    """The video this end sent (outbound-rtp, kind video)."""

    fps: float | None = Fps
    w: int | None = Pixels
    h: int | None = Pixels
    kbps: int | None = Kbps
    limit: Literal["none", "cpu", "bandwidth", "other"] | None = None


class Connection(Strict):
    """The selected candidate pair."""

    rtt_ms: float | None = Field(default=None, ge=0, le=60_000)
    avail_kbps: int | None = Kbps


class StatsReport(Strict):
    """``media.stats``: one end's summary of the last interval (every ~2 s)."""

    session_id: SessionId
    dt_ms: int = Field(ge=200, le=30_000)  # the interval the figures cover
    inbound: InboundVideo | None = Field(default=None, alias="in")
    outbound: OutboundVideo | None = Field(default=None, alias="out")
    net: Connection | None = None


Side = Literal["agent", "citizen"]


class QualityFigures(BaseModel):
    """Derived quality of received video over a span of samples (media/quality.py)."""

    seconds: float
    samples: int
    freeze_count: int
    freeze_ratio: float | None
    low_fps_share: float | None
    p10_fps: int | None
    mean_fps: float | None
    jitter_buffer_ms: float | None


class LatestSample(BaseModel):
    t: datetime
    in_fps: int | None
    in_width: int | None
    in_height: int | None
    in_kbps: int | None
    out_kbps: int | None
    out_fps: int | None
    limitation: str | None
    rtt_ms: int | None
    loss: float | None


class SideQuality(BaseModel):
    side: Side
    site_id: int | None
    latest: LatestSample | None
    figures: QualityFigures  # over the window asked for (live: the last minute)
    alert: list[str] | None  # reasons of the open alert, if any


class CallQuality(BaseModel):
    session_id: int
    ticket_id: int
    ticket_number: str
    state: str  # open | closed
    started_at: datetime
    ended_at: datetime | None
    agent_name: str
    citizen_name: str
    citizen_site_id: int | None
    agent_site_id: int | None
    sides: list[SideQuality]


class SiteBudget(BaseModel):
    """A site's link, its live calls, the current per-call caps and admission."""

    site_id: int
    code: str
    name: str
    type: str
    uplink_kbps: int
    downlink_kbps: int
    live_calls: int
    max_calls: int  # at the quality floor
    uplink_cap_kbps: int  # video per call, sent from this site
    downlink_cap_kbps: int  # video per call, received at this site
    saturated: bool  # one more call would push calls below the floor: routing holds
    expected_free_seconds: float | None  # when saturated: until a call is expected to end


class SiteQuality(BaseModel):
    site_id: int
    code: str
    name: str
    calls: int  # calls with samples in the window
    figures: QualityFigures


class AlertView(BaseModel):
    id: int
    session_id: int
    ticket_id: int
    ticket_number: str
    side: Side
    site_id: int | None
    reasons: list[str]
    raised_at: datetime
    cleared_at: datetime | None


class QualityLive(BaseModel):
    """The supervisor's live quality board in one read."""

    floor_kbps: int
    ceiling_kbps: int
    sites: list[SiteBudget]  # sites with live calls, and every saturated site
    calls: list[CallQuality]
    alerts: list[AlertView]  # open alerts first, then the latest cleared


class QualityHistory(BaseModel):
    """Past quality over a window: per site and per call."""

    since: datetime
    until: datetime
    sites: list[SiteQuality]
    calls: list[CallQuality]
