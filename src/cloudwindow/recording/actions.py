"""Every write to recordings, one transaction each (house rule 2).

Upload protocol (agent's browser, ``web/src/lib/recorder.ts``): ``do_start_recording``,
then ``do_put_chunk`` for chunks 0, 1, 2 … (idempotent; any order until finish; a
resuming recorder asks ``get_upload_status`` where to continue), then
``do_finish_recording``. Finishing assembles the chunks into one file; a recording that
is finished with gaps, or never finished (``do_sweep_stale_recordings``), is flagged
incomplete and its contiguous part is still assembled — never silently lost. Late chunks
may still complete a flagged recording. ``do_purge_expired_recordings`` enforces the
retention period. Playback goes through short-lived grants, each one audited.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import String, cast, delete, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record as audit
from cloudwindow.db import utcnow
from cloudwindow.errors import RuleViolation
from cloudwindow.logs import get_logger
from cloudwindow.media.models import MediaSession, MediaState
from cloudwindow.queueing.models import Ticket
from cloudwindow.queueing.states import TicketState
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.recording import chain, media_tools
from cloudwindow.recording.errors import (
    ChunkConflict,
    ChunkCountMismatch,
    ChunkTooLarge,
    EmptyChunk,
    GrantInvalid,
    NotWebM,
    NotYourSession,
    RecordingClosed,
    RecordingNotFound,
    RecordingNotPlayable,
    RecordingPurged,
    RecordingTooLarge,
)
from cloudwindow.recording.models import Recording, RecordingChunk, RecordingGrant, RecordingState
from cloudwindow.recording.queries import missing_chunks, prefix_chunks, recording_out
from cloudwindow.recording.schemas import (
    ChunkAck,
    PlaybackGrant,
    RecordingFinish,
    RecordingOut,
    RecordingStart,
    UploadStatus,
    VerifyReport,
)
from cloudwindow.recording.storage import RecordingFiles, sha256_file
from cloudwindow.services import Services

log = get_logger(__name__)
SUPERVISORS = "role:supervisor"


def files_of(services: Services) -> RecordingFiles:
    return RecordingFiles(services.settings.data_dir)


async def _load(
    session: AsyncSession, recording_id: int, *, agent: Principal | None = None, lock: bool = False
) -> Recording:
    """The recording, locked for update if asked; an agent only ever sees their own."""
    stmt = select(Recording).where(Recording.id == recording_id)
    if lock:
        stmt = stmt.with_for_update()
    rec = await session.scalar(stmt)
    if rec is None or (agent is not None and (agent.kind != "user" or rec.agent_id != agent.id)):
        raise RecordingNotFound({"recording_id": recording_id})
    return rec


# Agent: start, chunks, status, finish --------------------------------------------------


async def do_start_recording(
    services: Services, principal: Principal, body: RecordingStart
) -> tuple[RecordingOut, bool]:
    """Open a recording of the session the agent is serving now. Returns it and whether
    it is new (a resent start with the same ``client_key`` returns the first one)."""
    for attempt in (1, 2):
        try:
            async with unit_of_work(services) as (session, _):
                if body.client_key:
                    known = await session.scalar(
                        select(Recording).where(
                            Recording.agent_id == principal.id,
                            Recording.client_key == body.client_key,
                        )
                    )
                    if known is not None and principal.kind == "user":
                        return recording_out(known), False
                ticket = await session.get(Ticket, body.ticket_id)
                if (
                    ticket is None
                    or principal.kind != "user"
                    or ticket.agent_id != principal.id
                    or ticket.state != TicketState.IN_SESSION.value
                ):
                    raise NotYourSession({"ticket_id": body.ticket_id})
                rec = Recording(
                    ticket_id=ticket.id,
                    media_session_id=body.media_session_id,
                    agent_id=principal.id,
                    site_id=ticket.site_id,
                    terminal_id=ticket.terminal_id,
                    client_key=body.client_key,
                    mime_type=body.mime_type,
                    state=RecordingState.RECORDING.value,
                    chain_head="0" * 64,
                )
                session.add(rec)
                await session.flush()
                rec.chain_head = chain.genesis(rec.id)
                audit(
                    session,
                    principal,
                    "recording.start",
                    "recording",
                    rec.id,
                    {"ticket_id": ticket.id, "media_session_id": body.media_session_id},
                )
                return recording_out(rec), True
        except IntegrityError:
            if attempt == 2:
                raise
            # The same client_key raced in from a resend; the next round returns that row.
    raise AssertionError("unreachable")


async def do_put_chunk(
    services: Services, principal: Principal, recording_id: int, seq: int, data: bytes
) -> ChunkAck:
    """Store chunk ``seq``. The same bytes again: OK, nothing changes. Other bytes for a
    chunk already stored: ``recording-chunk-conflict``. Extends the hash chain as far as
    the chunks are contiguous."""
    settings = services.settings
    if not data:
        raise EmptyChunk()
    if len(data) > settings.recording_max_chunk_bytes:
        raise ChunkTooLarge(settings.recording_max_chunk_bytes)
    if seq >= settings.recording_max_chunks:
        raise RuleViolation(
            "recording-chunk-index-out-of-range",
            "分片序号超出范围",
            "The chunk index is out of range",
            {"seq": seq, "max_chunks": settings.recording_max_chunks},
        )
    digest = hashlib.sha256(data).hexdigest()
    files = files_of(services)
    async with unit_of_work(services) as (session, _):
        rec = await _load(session, recording_id, agent=principal, lock=True)
        stored = await session.get(RecordingChunk, (rec.id, seq))
        if stored is not None:
            if stored.sha256 != digest:
                raise ChunkConflict(seq, stored.sha256, digest)
            return ChunkAck(
                recording_id=rec.id,
                seq=seq,
                duplicate=True,
                contiguous=rec.contiguous,
                chain_head=rec.chain_head,
            )
        if rec.state == RecordingState.PURGED.value:
            raise RecordingPurged()
        # A flagged (incomplete) recording still takes chunks: late data can complete it.
        if rec.state == RecordingState.FINISHED.value or (
            rec.declared_chunks is not None and seq >= rec.declared_chunks
        ):
            raise RecordingClosed(rec.state)
        # Chromium's first MediaRecorder blob can be a single byte (0x1A), the rest of
        # the header following in chunk 1: chunk 0 must start with the magic or be a
        # prefix of it.
        if seq == 0 and not chain.EBML_MAGIC.startswith(data[: len(chain.EBML_MAGIC)]):
            raise NotWebM()
        if rec.bytes_total + len(data) > settings.recording_max_bytes:
            raise RecordingTooLarge(settings.recording_max_bytes)
        # The row lock (PostgreSQL) or the write lock (SQLite) is held: no other writer of
        # this recording's files. The database row, not the file, says a chunk exists.
        await asyncio.to_thread(files.write_chunk, rec.id, seq, data)
        session.add(RecordingChunk(recording_id=rec.id, seq=seq, size=len(data), sha256=digest))
        rec.chunk_count += 1
        rec.max_seq = max(rec.max_seq, seq)
        rec.bytes_total += len(data)
        rec.last_chunk_at = utcnow()
        await session.flush()
        await _advance_chain(session, rec)
        return ChunkAck(
            recording_id=rec.id,
            seq=seq,
            duplicate=False,
            contiguous=rec.contiguous,
            chain_head=rec.chain_head,
        )


async def _advance_chain(session: AsyncSession, rec: Recording) -> None:
    """Link every chunk that now follows the contiguous prefix into the chain."""
    rows = await session.scalars(
        select(RecordingChunk)
        .where(RecordingChunk.recording_id == rec.id, RecordingChunk.seq >= rec.contiguous)
        .order_by(RecordingChunk.seq)
    )
    head = rec.chain_head
    for row in rows:
        if row.seq != rec.contiguous:
            break
        head = chain.link(head, row.sha256, row.seq)
        row.chain_hash = head
        rec.contiguous += 1
    rec.chain_head = head


async def get_upload_status(
    services: Services, principal: Principal, recording_id: int
) -> UploadStatus:
    async with services.db.read() as session:
        rec = await _load(session, recording_id, agent=principal)
        return UploadStatus(
            recording_id=rec.id,
            state=rec.state,
            contiguous=rec.contiguous,
            received=rec.chunk_count,
            max_seq=rec.max_seq,
            missing=await missing_chunks(session, rec),
            bytes_total=rec.bytes_total,
            chain_head=rec.chain_head,
        )


async def do_finish_recording(
    services: Services, principal: Principal, recording_id: int, body: RecordingFinish
) -> RecordingOut:
    """The recorder stopped after sending ``chunk_count`` chunks. Complete: assembled and
    ``finished``. Gaps: the contiguous part is assembled and the recording is flagged
    ``incomplete`` (late chunks and a second finish may still complete it)."""
    async with services.db.read() as session:
        rec = await _load(session, recording_id, agent=principal)
    if rec.state == RecordingState.PURGED.value:
        raise RecordingPurged()
    if rec.state == RecordingState.FINISHED.value and rec.declared_chunks == body.chunk_count:
        return recording_out(rec)  # a resent finish
    if rec.state == RecordingState.FINISHED.value:
        raise RecordingClosed(rec.state)
    if body.chunk_count <= rec.max_seq:
        raise ChunkCountMismatch(body.chunk_count, rec.max_seq)
    return await close_recording(services, principal, rec.id, body.chunk_count, body.duration_ms)


async def close_recording(
    services: Services,
    actor: Principal | None,
    recording_id: int,
    declared: int | None,
    client_duration_ms: int | None = None,
    reason: str = "not-finished",
) -> RecordingOut:
    """Assemble what is contiguous and settle the state: ``finished`` when every declared
    chunk is there, else ``incomplete`` (``gaps`` if a count was declared, else
    ``reason``). Files first, then one transaction; a chunk that lands meanwhile makes it
    assemble again."""
    files = files_of(services)
    settings = services.settings
    for _ in range(5):
        async with services.db.read() as session:
            rec = await _load(session, recording_id)
            chunks = await prefix_chunks(session, rec)
        contiguous = rec.contiguous
        sizes = [c.size for c in chunks]
        playback: dict[str, object] = {}
        if sizes:
            digests = await asyncio.to_thread(files.assemble_raw, rec.id, sizes)
            if digests != [c.sha256 for c in chunks]:
                log.error("recording-chunk-files-differ", recording_id=rec.id)
            raw = files.raw_path(rec.id)
            remuxed = await media_tools.remux(
                settings.recording_ffmpeg, raw, files.play_path(rec.id)
            )
            path = files.playback_file(rec.id, remuxed)
            probe = await media_tools.probe(settings.recording_ffmpeg, path)
            playback = {
                "remuxed": remuxed,
                "file_bytes": path.stat().st_size,
                "file_sha256": await asyncio.to_thread(sha256_file, path),
                "duration_ms": probe.duration_ms if probe else client_duration_ms,
                "has_video": probe.has_video if probe else None,
                "has_audio": probe.has_audio if probe else None,
            }
        async with unit_of_work(services) as (session, out):
            rec = await _load(session, recording_id, lock=True)
            if rec.contiguous != contiguous:
                continue  # a chunk arrived while assembling: assemble again
            if rec.state == RecordingState.PURGED.value:
                raise RecordingPurged()
            for key, value in playback.items():
                setattr(rec, key, value)
            if declared is not None:
                rec.declared_chunks = declared
            complete = rec.contiguous > 0 and rec.contiguous == rec.declared_chunks
            rec.finished_at = utcnow()
            if complete:
                rec.state, rec.incomplete_reason = RecordingState.FINISHED.value, ""
            else:
                rec.state = RecordingState.INCOMPLETE.value
                rec.incomplete_reason = (
                    "empty"
                    if rec.contiguous == 0 and rec.max_seq < 0
                    else "gaps"
                    if rec.declared_chunks is not None
                    else reason
                )
                _flag(out, rec)
            audit(
                session,
                actor,
                "recording.finish" if complete else "recording.flag-incomplete",
                "recording",
                rec.id,
                {
                    "contiguous": rec.contiguous,
                    "declared": rec.declared_chunks,
                    "reason": rec.incomplete_reason,
                    "chain_head": rec.chain_head,
                },
            )
            view = recording_out(rec)
        if complete:
            await asyncio.to_thread(files.delete_chunks, recording_id)  # raw.webm holds them
        return view
    raise RuleViolation(
        "recording-busy", "录像仍在接收分片，请稍后再试", "Chunks are still arriving; try again"
    )


def _flag(out: Outbox, rec: Recording) -> None:
    """Tell supervisors at once that a recording is incomplete (also shown in its list)."""
    out.emit(
        SUPERVISORS,
        "recording.incomplete",
        {
            "recording_id": rec.id,
            "ticket_id": rec.ticket_id,
            "agent_id": rec.agent_id,
            "reason": rec.incomplete_reason,
            "contiguous": rec.contiguous,
        },
    )


# Jobs: sweep and purge ------------------------------------------------------------------


async def do_sweep_stale_recordings(services: Services, now: datetime | None = None) -> int:
    """Flag recordings that stopped without a finish (browser closed, network gone,
    session ended) and have been silent for ``recording_stale_minutes``."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=services.settings.recording_stale_minutes)
    last = func.coalesce(Recording.last_chunk_at, Recording.started_at)
    async with services.db.read() as session:
        ids = list(
            await session.scalars(
                select(Recording.id)
                .where(Recording.state == RecordingState.RECORDING.value, last < cutoff)
                .order_by(Recording.id)
                .limit(100)
            )
        )
    for rid in ids:
        try:
            await close_recording(services, None, rid, None, reason="not-finished")
        except Exception:  # one bad recording must not stop the others
            log.exception("recording-sweep-failed", recording_id=rid)
    return len(ids)


async def do_flag_missing_recordings(services: Services, now: datetime | None = None) -> int:
    """Every session is recorded (全程录音录像): a call that ended more than
    ``recording_stale_minutes`` ago without any recording by its agent (the recorder never
    started: blocked, crashed, an old page) gets an incomplete row, ``never-started``,
    flagged to supervisors like any other incomplete recording. Looks back one day."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=services.settings.recording_stale_minutes)
    recorded = (
        select(Recording.id)
        .where(Recording.ticket_id == MediaSession.ticket_id)
        .where(literal("user:", String) + cast(Recording.agent_id, String) == MediaSession.caller)
        .exists()
    )
    async with unit_of_work(services) as (session, out):
        rows = (
            await session.execute(
                select(
                    MediaSession.id,
                    MediaSession.ticket_id,
                    MediaSession.caller,
                    MediaSession.started_at,
                    MediaSession.ended_at,
                    Ticket.site_id,
                    Ticket.terminal_id,
                )
                .join(Ticket, Ticket.id == MediaSession.ticket_id)
                .where(
                    MediaSession.state == MediaState.CLOSED.value,
                    MediaSession.ended_at < cutoff,
                    MediaSession.ended_at >= cutoff - timedelta(days=1),
                    MediaSession.caller.like("user:%"),
                    ~recorded,
                )
                .order_by(MediaSession.id)
                .limit(100)
            )
        ).all()
        for ms_id, ticket_id, caller, started, ended, site_id, terminal_id in rows:
            rec = Recording(
                ticket_id=ticket_id,
                media_session_id=str(ms_id),
                agent_id=int(caller.split(":", 1)[1]),
                site_id=site_id,
                terminal_id=terminal_id,
                client_key=f"never-started-{ms_id}",
                mime_type="",
                state=RecordingState.INCOMPLETE.value,
                incomplete_reason="never-started",
                started_at=started,
                finished_at=ended,
                chain_head="0" * 64,
            )
            session.add(rec)
            await session.flush()
            rec.chain_head = chain.genesis(rec.id)
            audit(
                session,
                None,
                "recording.flag-incomplete",
                "recording",
                rec.id,
                {"media_session_id": ms_id, "reason": "never-started"},
            )
            _flag(out, rec)
    return len(rows)


async def do_purge_expired_recordings(services: Services, now: datetime | None = None) -> int:
    """Delete the files of recordings older than ``recording_retention_days``; the row
    stays, marked ``purged``, with its hashes (and the purge is in the audit log)."""
    now = now or utcnow()
    cutoff = now - timedelta(days=services.settings.recording_retention_days)
    files = files_of(services)
    async with unit_of_work(services) as (session, _):
        recs = list(
            await session.scalars(
                select(Recording)
                .where(
                    Recording.state != RecordingState.PURGED.value, Recording.started_at < cutoff
                )
                .order_by(Recording.id)
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        )
        for rec in recs:
            audit(
                session,
                None,
                "recording.purge",
                "recording",
                rec.id,
                {
                    "state": rec.state,
                    "started_at": rec.started_at,
                    "retention_days": services.settings.recording_retention_days,
                },
            )
            rec.state, rec.purged_at = RecordingState.PURGED.value, now
        if recs:
            await session.execute(
                delete(RecordingGrant).where(RecordingGrant.recording_id.in_([r.id for r in recs]))
            )
    for rec in recs:  # after the commit: a failed commit leaves the files in place
        await asyncio.to_thread(files.delete_all, rec.id)
    return len(recs)


# Supervisors: verify and play back ------------------------------------------------------


async def do_verify_recording(
    services: Services, actor: Principal | None, recording_id: int
) -> VerifyReport:
    """Recompute the hash chain from the bytes on disk and the playback file's SHA-256;
    store and audit the outcome."""
    files = files_of(services)
    async with services.db.read() as session:
        rec = await _load(session, recording_id)
        chunks = await prefix_chunks(session, rec)
    if rec.state == RecordingState.PURGED.value:
        raise RecordingPurged()
    stored = [chain.StoredChunk(c.seq, c.size, c.sha256, c.chain_hash) for c in chunks]

    def read_back() -> tuple[list[str], bool | None]:
        digests = [
            hashlib.sha256(data).hexdigest()
            for data in files.iter_chunks(rec.id, [c.size for c in chunks])
        ]
        file_ok = None
        if rec.file_sha256 is not None:
            path = files.playback_file(rec.id, rec.remuxed)
            file_ok = path.exists() and sha256_file(path) == rec.file_sha256
        return digests, file_ok

    try:
        digests, file_ok = await asyncio.to_thread(read_back)
        result = chain.check(rec.id, stored, digests, rec.chain_head)
    except (FileNotFoundError, ValueError):
        digests, file_ok = [], None
        result = chain.ChainCheck(False, 0, None, "missing-file", "")
    reason = result.reason or ("" if file_ok is not False else "file-hash")
    ok = result.ok and file_ok is not False
    now = utcnow()
    async with unit_of_work(services) as (session, _):
        row = await _load(session, recording_id, lock=True)
        row.verified_at, row.verified_ok = now, ok
        audit(
            session,
            actor,
            "recording.verify",
            "recording",
            rec.id,
            {"ok": ok, "reason": reason, "first_bad_chunk": result.first_bad},
        )
    return VerifyReport(
        recording_id=rec.id,
        ok=ok,
        checked_chunks=result.checked,
        first_bad_chunk=result.first_bad,
        reason=reason,
        chain_head=rec.chain_head,
        computed_head=result.computed_head,
        file_ok=file_ok,
        verified_at=now,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def do_grant_playback(
    services: Services, principal: Principal, recording_id: int, purpose: str
) -> PlaybackGrant:
    """A link for ``<video src>`` (or a download) that needs no bearer header; the grant
    itself is the audited playback or download."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=services.settings.recording_grant_seconds)
    async with unit_of_work(services) as (session, _):
        rec = await _load(session, recording_id)
        if rec.state == RecordingState.PURGED.value:
            raise RecordingPurged()
        if rec.file_sha256 is None:
            raise RecordingNotPlayable()
        session.add(
            RecordingGrant(
                token_hash=_token_hash(token),
                recording_id=rec.id,
                user_id=principal.id,
                purpose=purpose,
                expires_at=expires,
            )
        )
        audit(
            session,
            principal,
            f"recording.{purpose}",
            "recording",
            rec.id,
            {"ticket_id": rec.ticket_id, "expires_at": expires},
        )
    return PlaybackGrant(
        url=f"/api/recordings/{recording_id}/media?grant={token}", expires_at=expires
    )


async def check_grant(services: Services, recording_id: int, token: str) -> tuple[Recording, str]:
    """The recording and the grant's purpose, if ``token`` is a live grant for it."""
    async with services.db.read() as session:
        grant = await session.get(RecordingGrant, _token_hash(token))
        if grant is None or grant.recording_id != recording_id or grant.expires_at < utcnow():
            raise GrantInvalid()
        rec = await _load(session, recording_id)
    if rec.state == RecordingState.PURGED.value:
        raise RecordingPurged()
    if rec.file_sha256 is None:
        raise RecordingNotPlayable()
    return rec, grant.purpose


async def record_media_fetch(
    services: Services, rec: Recording, token: str, purpose: str, client_ip: str
) -> None:
    """A fetch of the recording's bytes through a grant, in the audit log (PIPL: every
    download is recorded, not only the grant). The grant's holder is the actor."""
    async with services.db.transaction() as session:
        grant = await session.get(RecordingGrant, _token_hash(token))
        holder = Principal(
            kind="user", id=grant.user_id if grant else 0, name="", client_ip=client_ip
        )
        audit(
            session,
            holder,
            "recording.fetch",
            "recording",
            rec.id,
            {"ticket_id": rec.ticket_id, "purpose": purpose},
        )
