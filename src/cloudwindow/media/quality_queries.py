"""Reads of quality telemetry and the site budget for supervisors (quality_api.py).

Windows of samples are summed by the database per frame rate (``FpsBucket``), then
summarised by media/quality.py, so a site's day of samples never loads row by row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import User
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.fleet.models import Site, Terminal
from cloudwindow.media.budget import SiteLink, max_calls
from cloudwindow.media.caps import budget_policy, live_calls, site_holds, site_shares
from cloudwindow.media.models import MediaSession
from cloudwindow.media.quality import FpsBucket, QualitySummary, summarize
from cloudwindow.media.quality_schemas import (
    AlertView,
    CallQuality,
    LatestSample,
    QualityFigures,
    QualityHistory,
    QualityLive,
    SideQuality,
    SiteBudget,
    SiteQuality,
)
from cloudwindow.media.telemetry_models import QualityAlert, QualitySample
from cloudwindow.queueing.models import Ticket

LIVE_WINDOW = timedelta(seconds=60)
S = QualitySample


def figures(summary: QualitySummary) -> QualityFigures:
    return QualityFigures(
        seconds=summary.seconds,
        samples=summary.samples,
        freeze_count=summary.freeze_count,
        freeze_ratio=summary.freeze_ratio,
        low_fps_share=summary.low_fps_share,
        p10_fps=summary.p10_fps,
        mean_fps=round(summary.mean_fps, 2) if summary.mean_fps is not None else None,
        jitter_buffer_ms=(
            round(summary.jitter_buffer_ms, 1) if summary.jitter_buffer_ms is not None else None
        ),
    )


async def _buckets(
    session: AsyncSession, keys: tuple[Any, ...], *where: ColumnElement[bool]
) -> dict[tuple[Any, ...], list[FpsBucket]]:
    """Samples with received video summed per ``keys`` and frame rate."""
    has_jb = S.jitter_buffer_ms.is_not(None)
    rows = await session.execute(
        select(
            *keys,
            S.in_fps,
            func.sum(S.dt_ms),
            func.sum(S.freeze_ms),
            func.sum(S.freeze_count),
            func.sum(case((has_jb, S.jitter_buffer_ms * S.dt_ms), else_=0.0)),
            func.sum(case((has_jb, S.dt_ms), else_=0)),
            func.count(),
        )
        .where(S.in_fps.is_not(None), *where)
        .group_by(*keys, S.in_fps)
    )
    out: dict[tuple[Any, ...], list[FpsBucket]] = defaultdict(list)
    n = len(keys)
    for row in rows:
        key, (fps, dt, fz, fc, jb, jb_dt, count) = tuple(row[:n]), row[n:]
        out[key].append(
            FpsBucket(
                fps=int(fps),
                seconds=(dt or 0) / 1000,
                freeze_ms=int(fz or 0),
                freeze_count=int(fc or 0),
                jb_ms_seconds=float(jb or 0) / 1000,
                jb_seconds=(jb_dt or 0) / 1000,
                samples=int(count),
            )
        )
    return out


async def _latest(session: AsyncSession, session_ids: Collection[int]) -> dict[tuple[int, str], S]:
    if not session_ids:
        return {}
    newest = (
        select(func.max(S.id))
        .where(S.session_id.in_(session_ids))
        .group_by(S.session_id, S.side)
        .scalar_subquery()
    )
    rows = await session.scalars(select(S).where(S.id.in_(newest)))
    return {(r.session_id, r.side): r for r in rows}


def _latest_view(r: S | None) -> LatestSample | None:
    if r is None:
        return None
    return LatestSample(
        t=r.t,
        in_fps=r.in_fps,
        in_width=r.in_width,
        in_height=r.in_height,
        in_kbps=r.in_kbps,
        out_kbps=r.out_kbps,
        out_fps=r.out_fps,
        limitation=r.limitation,
        rtt_ms=r.rtt_ms,
        loss=r.loss,
    )


async def _names(session: AsyncSession, keys: Collection[str]) -> dict[str, str]:
    """Display names of recipient keys: users by display name, kiosks by name."""
    users = [int(k[5:]) for k in keys if k.startswith("user:") and k[5:].isdigit()]
    devices = [int(k[7:]) for k in keys if k.startswith("device:") and k[7:].isdigit()]
    out: dict[str, str] = {}
    if users:
        for uid, name in await session.execute(
            select(User.id, User.display_name).where(User.id.in_(users))
        ):
            out[f"user:{uid}"] = name
    if devices:
        for tid, name in await session.execute(
            select(Terminal.id, Terminal.name).where(Terminal.id.in_(devices))
        ):
            out[f"device:{tid}"] = name
    return out


async def _ticket_numbers(session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids)))
    return {tid: number for tid, number in rows}


async def _calls(
    session: AsyncSession,
    rows: list[MediaSession],
    sites: dict[int, tuple[int | None, int | None]],
    since: datetime,
    until: datetime | None = None,
) -> list[CallQuality]:
    """Quality of each call's two ends over [since, until)."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    where = [S.session_id.in_(ids), S.t >= since]
    if until is not None:
        where.append(S.t < until)
    buckets = await _buckets(session, (S.session_id, S.side), *where)
    latest = await _latest(session, ids)
    alerts: dict[tuple[int, str], list[str]] = {
        (a.session_id, a.side): a.reasons
        for a in await session.scalars(
            select(QualityAlert).where(
                QualityAlert.session_id.in_(ids), QualityAlert.cleared_at.is_(None)
            )
        )
    }
    numbers = await _ticket_numbers(session, {r.ticket_id for r in rows})
    names = await _names(session, {r.caller for r in rows} | {r.callee for r in rows})
    out = []
    for r in rows:
        citizen_site, agent_site = sites.get(r.id, (None, None))
        out.append(
            CallQuality(
                session_id=r.id,
                ticket_id=r.ticket_id,
                ticket_number=numbers.get(r.ticket_id, ""),
                state=r.state,
                started_at=r.started_at,
                ended_at=r.ended_at,
                agent_name=names.get(r.caller, r.caller),
                citizen_name=names.get(r.callee, r.callee),
                citizen_site_id=citizen_site,
                agent_site_id=agent_site,
                sides=[
                    SideQuality(
                        side=side,
                        site_id=agent_site if side == "agent" else citizen_site,
                        latest=_latest_view(latest.get((r.id, side))),
                        figures=figures(summarize(buckets.get((r.id, side), []))),
                        alert=alerts.get((r.id, side)),
                    )
                    for side in ("agent", "citizen")
                ],
            )
        )
    return out


async def _alerts(session: AsyncSession, limit: int = 50) -> list[AlertView]:
    """Open alerts, then the most recently raised cleared ones."""
    rows = list(
        await session.scalars(
            select(QualityAlert)
            .order_by(QualityAlert.cleared_at.is_not(None), QualityAlert.raised_at.desc())
            .limit(limit)
        )
    )
    numbers = await _ticket_numbers(session, {a.ticket_id for a in rows})
    return [
        AlertView(
            id=a.id,
            session_id=a.session_id,
            ticket_id=a.ticket_id,
            ticket_number=numbers.get(a.ticket_id, ""),
            side=a.side,
            site_id=a.site_id,
            reasons=a.reasons,
            raised_at=a.raised_at,
            cleared_at=a.cleared_at,
        )
        for a in rows
    ]


async def live(session: AsyncSession, settings: Settings) -> QualityLive:
    """Sites with live calls (and saturated ones) with their caps, live calls with the
    last minute's quality, and alerts."""
    policy = budget_policy(settings)
    calls = await live_calls(session)
    shares = await site_shares(session, calls, policy)
    holds = await site_holds(session, policy, calls, shares)
    site_rows = list(
        await session.scalars(select(Site).where(Site.id.in_(set(shares) | set(holds))))
    )
    sites = []
    for site in sorted(
        site_rows, key=lambda s: (-shares[s.id].calls if s.id in shares else 0, s.code)
    ):
        share = shares.get(site.id)
        link = SiteLink(site.id, site.uplink_kbps, site.downlink_kbps)
        hold = holds.get(site.id)
        sites.append(
            SiteBudget(
                site_id=site.id,
                code=site.code,
                name=site.name,
                type=site.type,
                uplink_kbps=site.uplink_kbps,
                downlink_kbps=site.downlink_kbps,
                live_calls=share.calls if share else 0,
                max_calls=max_calls(link, policy),
                uplink_cap_kbps=share.uplink_kbps if share else policy.ceiling_kbps,
                downlink_cap_kbps=share.downlink_kbps if share else policy.ceiling_kbps,
                saturated=hold is not None,
                expected_free_seconds=hold.expected_seconds if hold else None,
            )
        )
    rows = (
        list(
            await session.scalars(
                select(MediaSession)
                .where(MediaSession.id.in_([c.session_id for c in calls]))
                .order_by(MediaSession.started_at)
            )
        )
        if calls
        else []
    )
    call_sites = {c.session_id: (c.kiosk_site_id, c.agent_site_id) for c in calls}
    return QualityLive(
        floor_kbps=policy.floor_kbps,
        ceiling_kbps=policy.ceiling_kbps,
        sites=sites,
        calls=await _calls(session, rows, call_sites, utcnow() - LIVE_WINDOW),
        alerts=await _alerts(session),
    )


async def history(
    session: AsyncSession,
    since: datetime,
    until: datetime,
    site_id: int | None = None,
    call_limit: int = 200,
) -> QualityHistory:
    """Quality per site and per call over [since, until): per site, the video received
    at the site and the video it sent (received at the other end)."""
    in_window = (S.t >= since, S.t < until)
    by_site: dict[int, list[FpsBucket]] = defaultdict(list)
    for col in (S.site_id, S.peer_site_id):
        where = [*in_window, col.is_not(None)]
        if site_id is not None:
            where.append(col == site_id)
        for (sid,), buckets in (await _buckets(session, (col,), *where)).items():
            by_site[sid].extend(buckets)
    counts: dict[int, set[int]] = defaultdict(set)
    for col in (S.site_id, S.peer_site_id):
        for sid, sess in await session.execute(
            select(col, S.session_id).where(*in_window, col.is_not(None)).distinct()
        ):
            if sid is not None:
                counts[sid].add(sess)
    site_rows = (
        {s.id: s for s in await session.scalars(select(Site).where(Site.id.in_(by_site)))}
        if by_site
        else {}
    )
    sites = [
        SiteQuality(
            site_id=sid,
            code=site_rows[sid].code,
            name=site_rows[sid].name,
            calls=len(counts[sid]),
            figures=figures(summarize(by_site[sid])),
        )
        for sid in sorted(by_site, key=lambda i: site_rows[i].code)
        if sid in site_rows
    ]
    session_ids = select(S.session_id).where(*in_window)
    if site_id is not None:
        session_ids = session_ids.where(or_(S.site_id == site_id, S.peer_site_id == site_id))
    rows = list(
        await session.scalars(
            select(MediaSession)
            .where(MediaSession.id.in_(session_ids.distinct()))
            .order_by(MediaSession.started_at.desc())
            .limit(call_limit)
        )
    )
    call_sites: dict[int, tuple[int | None, int | None]] = {}
    for sess, side, site in await session.execute(
        select(S.session_id, S.side, func.max(S.site_id))
        .where(S.session_id.in_([r.id for r in rows]))
        .group_by(S.session_id, S.side)
    ):
        citizen, agent = call_sites.get(sess, (None, None))
        call_sites[sess] = (site, agent) if side == "citizen" else (citizen, site)
    return QualityHistory(
        since=since,
        until=until,
        sites=sites,
        calls=await _calls(session, rows, call_sites, since, until),
    )
