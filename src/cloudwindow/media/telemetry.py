"""Writes of quality telemetry (docs/protocol.md §Media quality): store a ``media.stats``
sample, raise or clear the call's quality alert, purge old samples.

Both ends of a call send a summary every ~2 s. Each is checked (an open session, a
participant, a bounded size and rate), stored as one compact row, and the last ~10 s of
that end's samples decide whether the call is degraded (media/quality.py); a change of
that verdict is written as an alert row and told to supervisors (``media.alert``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.db import utcnow
from cloudwindow.errors import CloudWindowError
from cloudwindow.media.caps import agent_site_ids
from cloudwindow.media.errors import MediaSessionClosed, MediaSessionNotFound, NotAParticipant
from cloudwindow.media.models import MediaSession, MediaState
from cloudwindow.media.quality import Sample, Thresholds, alert_change
from cloudwindow.media.quality_schemas import StatsReport
from cloudwindow.media.telemetry_models import QualityAlert, QualitySample
from cloudwindow.queueing.models import Ticket
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.services import Services

SUPERVISORS = "role:supervisor"
THRESHOLDS = Thresholds()
RECENT_SAMPLES = 40  # enough to cover the alert window even at the fastest allowed rate


class StatsTooLarge(CloudWindowError):
    error_id = "media-stats-too-large"
    status_code = 413
    message_zh = "质量统计消息过大，最多 {limit} 字节"
    message_en = "The quality report is too large; at most {limit} bytes"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__({"size_bytes": size, "limit_bytes": limit}, limit=limit)


class StatsRateLimited(CloudWindowError):
    error_id = "media-stats-rate-limited"
    status_code = 429
    message_zh = "质量统计发送过于频繁，本条已丢弃"
    message_en = "Quality reports are sent too often; this one was dropped"


@dataclass
class RateLimiter:
    """A token bucket per sender: ``burst`` reports at once, then one per ``every``
    seconds (half the sampling interval, so a client's timer jitter never trips it)."""

    every: float
    burst: int
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # tokens, at

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, at = self.buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.every)
        if len(self.buckets) > 10_000:  # forget senders idle for a minute
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 60}
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return False
        self.buckets[key] = (tokens - 1, now)
        return True


def check_size(services: Services, data: dict[str, Any]) -> None:
    size = len(json.dumps(data, separators=(",", ":")).encode())
    limit = services.settings.media_stats_max_bytes
    if size > limit:
        raise StatsTooLarge(size, limit)


def _side_of(row: MediaSession | None, who: Principal) -> str:
    if row is None:
        raise MediaSessionNotFound()
    if who.ident == row.caller:
        side = "agent"
    elif who.ident == row.callee:
        side = "citizen"
    else:
        raise NotAParticipant({"session_id": row.id})
    if row.state != MediaState.OPEN:
        raise MediaSessionClosed({"session_id": row.id})
    return side


async def _sites(session: AsyncSession, row: MediaSession) -> tuple[int | None, int | None]:
    """(citizen end's site, agent end's site)."""
    citizen_site = await session.scalar(select(Ticket.site_id).where(Ticket.id == row.ticket_id))
    kind, _, raw = row.caller.partition(":")
    agent_id = int(raw) if kind == "user" and raw.isdigit() else None
    agent_site = (await agent_site_ids(session, [agent_id])).get(agent_id or 0)
    return citizen_site, agent_site


def _floor(value: float | None) -> int | None:
    return int(value) if value is not None else None


async def do_record_stats(services: Services, who: Principal, body: StatsReport) -> dict[str, Any]:
    """Store one end's sample; raise or clear that end's quality alert."""
    async with unit_of_work(services) as (session, out):
        row = await session.get(MediaSession, body.session_id)
        side = _side_of(row, who)
        assert row is not None
        citizen_site, agent_site = await _sites(session, row)
        site, peer = (agent_site, citizen_site) if side == "agent" else (citizen_site, agent_site)
        i, o, n = body.inbound, body.outbound, body.net
        sample = QualitySample(
            session_id=row.id,
            ticket_id=row.ticket_id,
            side=side,
            site_id=site,
            peer_site_id=peer,
            t=utcnow(),
            dt_ms=body.dt_ms,
            in_fps=_floor(i.fps) if i else None,
            in_width=i.w if i else None,
            in_height=i.h if i else None,
            in_kbps=i.kbps if i else None,
            frames_decoded=i.frames if i else None,
            freeze_count=i.freezes if i else 0,
            freeze_ms=min(i.freeze_ms, body.dt_ms) if i else 0,
            jitter_buffer_ms=i.jb_ms if i else None,
            loss=i.loss if i else None,
            out_fps=_floor(o.fps) if o else None,
            out_width=o.w if o else None,
            out_height=o.h if o else None,
            out_kbps=o.kbps if o else None,
            limitation=o.limit if o else None,
            rtt_ms=_floor(n.rtt_ms) if n else None,
            available_kbps=n.avail_kbps if n else None,
        )
        session.add(sample)
        await session.flush()
        alert = await _update_alert(session, out, row, side, site)
    return {"session_id": row.id, "side": side, "alert": alert}


async def _update_alert(
    session: AsyncSession, out: Outbox, row: MediaSession, side: str, site: int | None
) -> list[str] | None:
    """Raise or clear this end's alert from its recent samples; returns the open alert's
    reasons (None: no open alert)."""
    recent = list(
        await session.execute(
            select(
                QualitySample.dt_ms,
                QualitySample.in_fps,
                QualitySample.freeze_ms,
                QualitySample.freeze_count,
                QualitySample.jitter_buffer_ms,
            )
            .where(QualitySample.session_id == row.id, QualitySample.side == side)
            .order_by(QualitySample.id.desc())
            .limit(RECENT_SAMPLES)
        )
    )
    samples = [Sample(dt / 1000, fps, fz, fc, jb) for dt, fps, fz, fc, jb in reversed(recent)]
    open_alert = await session.scalar(
        select(QualityAlert).where(
            QualityAlert.session_id == row.id,
            QualityAlert.side == side,
            QualityAlert.cleared_at.is_(None),
        )
    )
    change = alert_change(open_alert is not None, samples, THRESHOLDS)
    if change is None:
        return open_alert.reasons if open_alert else None
    now = utcnow()
    if change.raise_:
        open_alert = QualityAlert(
            session_id=row.id,
            ticket_id=row.ticket_id,
            side=side,
            site_id=site,
            reasons=change.reasons,
            raised_at=now,
        )
        session.add(open_alert)
        await session.flush()
    else:
        assert open_alert is not None
        open_alert.cleared_at = now
    out.emit(
        SUPERVISORS,
        "media.alert",
        {
            "alert_id": open_alert.id,
            "session_id": row.id,
            "ticket_id": row.ticket_id,
            "side": side,
            "site_id": site,
            "state": "raised" if change.raise_ else "cleared",
            "reasons": open_alert.reasons,
            "raised_at": open_alert.raised_at,
            "cleared_at": open_alert.cleared_at,
        },
        durable=False,
    )
    return change.reasons if change.raise_ else None


async def do_purge_quality(services: Services) -> int:
    """Delete quality samples (and cleared alerts) older than the retention period."""
    before = utcnow() - timedelta(days=services.settings.media_quality_retention_days)
    async with services.db.transaction() as session:
        gone = await session.execute(delete(QualitySample).where(QualitySample.t < before))
        await session.execute(
            delete(QualityAlert).where(
                QualityAlert.cleared_at.is_not(None), QualityAlert.cleared_at < before
            )
        )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]
