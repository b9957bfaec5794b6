"""Every write of identity verification, one transaction each (docs/identity.md).

- The kiosk posts the ID card it read (``do_read_id_card``): fields encrypted, the photo
  an encrypted file; the agent hears of it, masked.
- The agent asks for a face check (``do_request_face_check``): the kiosk shows the
  consent text (if not given yet) and the camera.
- The kiosk records the citizen's answer (``do_record_consent``) and sends a still
  (``do_face_check``): compared on the face engine's pool, the result stored with the
  still (encrypted) against the ticket and its case; both ends hear of it.
- The agent may override a failed check with a reason (``do_override``), audited.
- Photos are opened for the serving agent only, audited (``open_card_photo``,
  ``open_live_photo``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases.assist_actions import do_set_field
from cloudwindow.cases.errors import CaseNotFound
from cloudwindow.cases.forms import is_resident_id
from cloudwindow.cases.models import Case, FormVersion
from cloudwindow.cases.queries import china_today
from cloudwindow.db import utcnow
from cloudwindow.identity import errors
from cloudwindow.identity.faces import (
    MODEL_NAME,
    Comparison,
    FaceImageCorrupt,
    Outcome,
    decode,
    engine_for,
)
from cloudwindow.identity.models import Consent, FaceCheck, IdCardRead
from cloudwindow.identity.queries import (
    CARD_PURPOSE,
    ID_NUMBER_INDEX,
    ID_NUMBER_PURPOSE,
    card_view,
    case_of_ticket,
    check_view,
    consent_view,
    current_identity,
    has_consent,
    latest_card,
    latest_check,
    latest_consents,
)
from cloudwindow.identity.rules import consent_text, is_expired, mask_id_number, mask_name
from cloudwindow.identity.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentTextOut,
    FaceCheckOut,
    FaceCheckRequested,
    FillCaseOut,
    IdCardCreated,
    IdCardIn,
    IdentityState,
)
from cloudwindow.privacy import Keyring, keyring_for
from cloudwindow.queueing.models import Ticket
from cloudwindow.queueing.states import TicketState
from cloudwindow.realtime.outbox import unit_of_work
from cloudwindow.services import Services

OVERRIDE_MIN_CHARS = 4
# The applicant fields a verified card fills on the case form (cases/forms.py).
CARD_FIELDS = {"applicant_name": "name", "id_number": "id_number"}


# Sessions --------------------------------------------------------------------------------
async def _live_ticket(session: AsyncSession, who: Principal) -> Ticket:
    """The ticket the caller is in a live session on (a kiosk: its own ticket; an agent:
    the one it serves); ``identity-not-in-session`` if none."""
    column = Ticket.owner == who.ident if who.kind == "device" else Ticket.agent_id == who.id
    ticket = await session.scalar(
        select(Ticket)
        .where(column, Ticket.state == TicketState.IN_SESSION.value)
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    if ticket is None:
        raise errors.IdentityNotInSession()
    return ticket


kiosk_ticket = agent_ticket = _live_ticket


def _agent_key(ticket: Ticket) -> str:
    return f"user:{ticket.agent_id}"


# Photos ----------------------------------------------------------------------------------
def _photo_purpose(key: str) -> str:
    return f"identity.photo.{key}"


def seal_photo(keys: Keyring, key: str, data: bytes) -> bytes:
    """A photo as stored: AES-GCM over its base64, bound to its storage key."""
    return keys.encrypt(base64.b64encode(data).decode(), _photo_purpose(key)).encode()


def open_photo(keys: Keyring, key: str, blob: bytes) -> bytes:
    return base64.b64decode(keys.decrypt(blob.decode(), _photo_purpose(key)))


def _store(services: Services, key: str, data: bytes) -> None:
    services.files.write(key, seal_photo(keyring_for(services.settings), key, data))


def _read(services: Services, key: str) -> bytes:
    try:
        blob = services.files.read(key)
    except (OSError, ValueError) as exc:
        raise errors.FaceImageMissing({"key": "missing"}) from exc
    return open_photo(keyring_for(services.settings), key, blob)


def _remove(services: Services, key: str) -> None:
    """Delete a stored file whose row was never written (nothing half-written)."""
    with contextlib.suppress(OSError, ValueError):
        (Path(services.files.root) / key).resolve().unlink(missing_ok=True)


# ID card ---------------------------------------------------------------------------------
def check_card(card: IdCardIn) -> bytes:
    """The card's photo bytes if the card is coherent; a typed error otherwise."""
    if not is_resident_id(card.id_number):
        raise errors.IdNumberInvalid()
    if card.id_number[6:14] != card.birth_date.strftime("%Y%m%d"):
        raise errors.IdNumberInvalid({"reason": "birth date differs from the ID number"})
    until = card.valid_until
    if isinstance(until, date) and until < card.valid_from:
        raise errors.IdCardDatesInvalid()
    try:
        photo = base64.b64decode(card.photo, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.IdCardPhotoCorrupt({"reason": "not base64"}) from exc
    try:
        decode(photo)
    except FaceImageCorrupt as exc:
        raise errors.IdCardPhotoCorrupt(exc.details) from exc
    return photo


async def do_read_id_card(services: Services, who: Principal, card: IdCardIn) -> IdCardCreated:
    """Store the card the kiosk of a live session read; tell the serving agent (masked)."""
    photo = await asyncio.to_thread(check_card, card)
    keys = keyring_for(services.settings)
    async with services.db.read() as session:
        await kiosk_ticket(session, who)  # refuse before writing any file
    key = f"identity/cards/{uuid.uuid4().hex}.bin"
    await asyncio.to_thread(_store, services, key, photo)
    valid_until = card.valid_until if isinstance(card.valid_until, date) else None
    fields = {
        "name": card.name,
        "sex": card.sex,
        "ethnicity": card.ethnicity,
        "birth_date": card.birth_date.isoformat(),
        "address": card.address,
        "issuer": card.issuer,
        "valid_from": card.valid_from.isoformat(),
        "valid_until": card.valid_until if valid_until is None else valid_until.isoformat(),
    }
    try:
        async with unit_of_work(services) as (session, out):
            ticket = await kiosk_ticket(session, who)
            row = IdCardRead(
                ticket_id=ticket.id,
                read_by=who.ident,
                card_enc=keys.encrypt(json.dumps(fields, ensure_ascii=False), CARD_PURPOSE),
                id_number_enc=keys.encrypt(card.id_number, ID_NUMBER_PURPOSE),
                id_number_index=keys.blind_index(card.id_number, ID_NUMBER_INDEX),
                name_masked=mask_name(card.name),
                id_number_masked=mask_id_number(card.id_number),
                valid_until=valid_until,
                photo_key=key,
                photo_sha256=hashlib.sha256(photo).hexdigest(),
            )
            session.add(row)
            await session.flush()
            view = card_view(row, china_today())
            out.emit(
                _agent_key(ticket),
                "identity.id_card_read",
                {"ticket_id": ticket.id, "id_card": view.model_dump(mode="json")},
            )
            record(
                session,
                who,
                "identity.id_card.read",
                "id_card_read",
                row.id,
                {"ticket_id": ticket.id, "id_number": view.id_number_masked,
                 "expired": view.expired},
            )  # fmt: skip
            return IdCardCreated(**view.model_dump(), birth_date=card.birth_date)
    except BaseException:
        _remove(services, key)
        raise


# Consent ---------------------------------------------------------------------------------
def text_out(purpose: str) -> ConsentTextOut:
    text = consent_text(purpose)  # type: ignore[arg-type]
    return ConsentTextOut(
        purpose=text.purpose,
        version=text.version,
        title_zh=text.title_zh,
        title_en=text.title_en,
        points_zh=list(text.points_zh),
        points_en=list(text.points_en),
    )


async def do_record_consent(services: Services, who: Principal, body: ConsentIn) -> ConsentOut:
    """The citizen's answer on the kiosk, with the version of the text it answered."""
    text = consent_text(body.purpose)
    if body.text_version is not None and body.text_version != text.version:
        raise errors.ConsentTextOutdated({"current": text.version})
    async with unit_of_work(services) as (session, out):
        ticket = await kiosk_ticket(session, who)
        row = Consent(
            ticket_id=ticket.id,
            purpose=body.purpose,
            granted=body.granted,
            text_version=text.version,
            text_sha256=text.sha256,
            given_by=who.ident,
        )
        session.add(row)
        await session.flush()
        view = consent_view(row)
        out.emit(
            _agent_key(ticket),
            "identity.consent_recorded",
            {"ticket_id": ticket.id, "consent": view.model_dump(mode="json")},
        )
        record(
            session,
            who,
            "identity.consent",
            "consent",
            row.id,
            {"ticket_id": ticket.id, "purpose": row.purpose, "granted": row.granted,
             "text_version": row.text_version},
        )  # fmt: skip
        return view


# Face check ------------------------------------------------------------------------------
async def do_request_face_check(services: Services, who: Principal) -> FaceCheckRequested:
    """The agent asks the session's kiosk for a face check: it shows the consent text
    (unless already given) and then the camera. Needs an ID card read first."""
    async with unit_of_work(services) as (session, out):
        ticket = await agent_ticket(session, who)
        if await latest_card(session, ticket.id) is None:
            raise errors.NoIdCardRead()
        given = await has_consent(session, ticket.id, "face_check")
        data = FaceCheckRequested(
            ticket_id=ticket.id,
            consent_needed=not given,
            consent=text_out("face_check"),
            requested_by=who.ident,
        )
        out.emit(ticket.owner, "identity.face_check_requested", data.model_dump(mode="json"))
        record(session, who, "identity.face_check.request", "ticket", ticket.id, {})
        return data


async def do_face_check(services: Services, who: Principal, still: bytes) -> FaceCheckOut:
    """Compare the kiosk's still with the session's ID card photo. Without a card read or
    without consent the check is recorded as ``no_id_card`` / ``no_consent`` and the still
    is discarded unread; a corrupt still is refused (``face-image-corrupt``) and nothing is
    written. Otherwise the still is stored encrypted with the outcome."""
    settings = services.settings
    if len(still) > settings.face_image_max_bytes:
        raise errors.FaceImageTooLarge(settings.face_image_max_bytes)
    async with services.db.read() as session:
        ticket = await kiosk_ticket(session, who)
        card = await latest_card(session, ticket.id)
        consented = await has_consent(session, ticket.id, "face_check")
    comparison: Comparison | None = None
    live_key: str | None = None
    if card is not None and consented:
        if card.photo_key is None:
            raise errors.FaceImageMissing({"id_card_read_id": card.id})
        portrait = await asyncio.to_thread(_read, services, card.photo_key)
        engine = engine_for(settings.face_workers)
        comparison = await engine.run(
            engine.compare, portrait, still, settings.face_match_threshold
        )
        live_key = f"identity/live/{uuid.uuid4().hex}.bin"
        await asyncio.to_thread(_store, services, live_key, still)
    outcome = (
        Outcome.NO_ID_CARD if card is None
        else Outcome.NO_CONSENT if comparison is None
        else comparison.outcome
    )  # fmt: skip
    try:
        async with unit_of_work(services) as (session, out):
            ticket = await kiosk_ticket(session, who)
            expired = card is not None and is_expired(card.valid_until, china_today())
            row = FaceCheck(
                ticket_id=ticket.id,
                case_id=await case_of_ticket(session, ticket.id),
                id_card_read_id=card.id if card else None,
                outcome=outcome.value,
                side=comparison.side if comparison else None,
                score=comparison.score if comparison else None,
                threshold=settings.face_match_threshold,
                model=MODEL_NAME,
                elapsed_ms=comparison.elapsed_ms if comparison else 0,
                card_expired=expired,
                live_key=live_key,
                live_sha256=hashlib.sha256(still).hexdigest() if live_key else None,
                checked_by=who.ident,
            )
            session.add(row)
            await session.flush()
            view = check_view(row)
            data = {"ticket_id": ticket.id, "face_check": view.model_dump(mode="json")}
            for key in (_agent_key(ticket), ticket.owner):
                out.emit(key, "identity.face_checked", data)
            record(
                session,
                who,
                "identity.face_check",
                "face_check",
                row.id,
                {"ticket_id": ticket.id, "case_id": row.case_id, "outcome": row.outcome,
                 "score": row.score, "threshold": row.threshold},
            )  # fmt: skip
            return view
    except BaseException:
        if live_key:
            _remove(services, live_key)
        raise


async def do_override(
    services: Services, who: Principal, check_id: int, reason: str
) -> FaceCheckOut:
    """The agent accepts the citizen's identity although the check did not match (the
    agent compared face and card on video, say): a reason is required, and audited."""
    reason = reason.strip()
    if len(reason) < OVERRIDE_MIN_CHARS:
        raise errors.OverrideReasonRequired()
    async with unit_of_work(services) as (session, out):
        ticket = await agent_ticket(session, who)
        row = await session.get(FaceCheck, check_id, with_for_update=True)
        if row is None or row.ticket_id != ticket.id:
            raise errors.FaceCheckNotFound({"face_check_id": check_id})
        if row.outcome == Outcome.MATCH.value or row.overridden_at is not None:
            raise errors.OverrideNotNeeded()
        if row.id_card_read_id is None:
            raise errors.NoIdCardRead()
        row.override_by = who.id
        row.override_reason = reason
        row.overridden_at = utcnow()
        await session.flush()
        view = check_view(row)
        data = {"ticket_id": ticket.id, "face_check": view.model_dump(mode="json")}
        for key in (_agent_key(ticket), ticket.owner):
            out.emit(key, "identity.face_check_overridden", data)
        record(
            session,
            who,
            "identity.face_check.override",
            "face_check",
            row.id,
            {"ticket_id": ticket.id, "case_id": row.case_id, "outcome": row.outcome,
             "score": row.score, "reason": reason},
        )  # fmt: skip
        return view


# Reads for the agent ---------------------------------------------------------------------
async def get_state(services: Services, who: Principal) -> IdentityState:
    """The identity panel of the session the agent serves (masked only)."""
    async with services.db.read() as session:
        ticket = await agent_ticket(session, who)
        card = await latest_card(session, ticket.id)
        check = await latest_check(session, ticket.id)
        consents = await latest_consents(session, ticket.id)
        check_out = check_view(check) if check else None
        return IdentityState(
            ticket_id=ticket.id,
            id_card=card_view(card, china_today()) if card else None,
            consents={p: consent_view(c) for p, c in consents.items()},
            face_check=check_out,
            verified=bool(
                card and check_out and check_out.verified and check_out.id_card_read_id == card.id
            ),
        )


async def open_card_photo(services: Services, who: Principal, read_id: int) -> bytes:
    """The ID card photo, for the agent serving its session; the read is audited."""
    async with services.db.transaction() as session:
        ticket = await agent_ticket(session, who)
        row = await session.get(IdCardRead, read_id)
        if row is None or row.ticket_id != ticket.id:
            raise errors.IdCardReadNotFound({"id_card_read_id": read_id})
        if row.photo_key is None:
            raise errors.FaceImageMissing({"id_card_read_id": row.id})
        data = await asyncio.to_thread(_read, services, row.photo_key)
        record(
            session, who, "identity.photo.read", "id_card_read", row.id,
            {"ticket_id": ticket.id, "photo": "id_card"},
        )  # fmt: skip
        return data


async def open_live_photo(services: Services, who: Principal, check_id: int) -> bytes:
    """The kiosk still of a face check, for the agent serving its session; audited."""
    async with services.db.transaction() as session:
        ticket = await agent_ticket(session, who)
        row = await session.get(FaceCheck, check_id)
        if row is None or row.ticket_id != ticket.id:
            raise errors.FaceCheckNotFound({"face_check_id": check_id})
        if row.live_key is None:
            raise errors.FaceImageMissing()
        data = await asyncio.to_thread(_read, services, row.live_key)
        record(
            session, who, "identity.photo.read", "face_check", row.id,
            {"ticket_id": ticket.id, "photo": "live"},
        )  # fmt: skip
        return data


async def do_fill_case(services: Services, who: Principal, case_id: int | None) -> FillCaseOut:
    """Copy the applicant's name and ID number from the session's card into the case form,
    server-side (the form shows them to both participants, as if typed). Audited."""
    async with services.db.transaction() as session:
        ticket = await agent_ticket(session, who)
        if case_id is None:
            case_id = await case_of_ticket(session, ticket.id)
        case = await session.get(Case, case_id) if case_id is not None else None
        if case is None or case_id is None or case.ticket_id != ticket.id:
            raise CaseNotFound({"case_id": case_id})
        form = await session.get(FormVersion, case.form_version_id)
        props = (form.schema if form else {}).get("properties", {})
        names = [n for n in CARD_FIELDS if n in props]
        if not names:
            raise errors.CaseFieldMissing()
        identity = await current_identity(session, ticket.id, services.settings)
        if identity is None:
            raise errors.NoIdCardRead()
        revs = dict(case.field_revs)
        record(
            session, who, "identity.card.copy_to_case", "case", case.id,
            {"ticket_id": ticket.id, "id_card_read_id": identity.id_card_read_id,
             "fields": names},
        )  # fmt: skip
    values = {"applicant_name": identity.name, "id_number": identity.id_number}
    for name in names:
        await do_set_field(services, who, case_id, name, values[name], revs.get(name, 0))
    return FillCaseOut(case_id=case_id, filled=names)


# Retention -------------------------------------------------------------------------------
async def do_purge_expired_photos(services: Services, now: datetime | None = None) -> int:
    """Delete the photos (card photos and kiosk stills) of sessions that opened no case,
    once older than ``face_photo_retention_days`` — what the consent text promises. The
    rows stay (outcome, score, hashes), their keys cleared; each purge is audited. Photos
    of sessions with a case are kept with the case file."""
    now = now or utcnow()
    cutoff = now - timedelta(days=services.settings.face_photo_retention_days)
    no_case = ~exists().where(Case.ticket_id == IdCardRead.ticket_id)
    keys: list[str] = []
    async with services.db.transaction() as session:
        reads = list(
            await session.scalars(
                select(IdCardRead)
                .where(IdCardRead.photo_key.is_not(None), IdCardRead.created_at < cutoff, no_case)
                .order_by(IdCardRead.id)
                .limit(500)
            )
        )
        checks = list(
            await session.scalars(
                select(FaceCheck)
                .where(
                    FaceCheck.live_key.is_not(None),
                    FaceCheck.created_at < cutoff,
                    FaceCheck.case_id.is_(None),
                    ~exists().where(Case.ticket_id == FaceCheck.ticket_id),
                )
                .order_by(FaceCheck.id)
                .limit(500)
            )
        )
        for read in reads:
            assert read.photo_key is not None
            keys.append(read.photo_key)
            read.photo_key = None
            record(session, None, "identity.photo.purge", "id_card_read", read.id,
                   {"ticket_id": read.ticket_id, "photo": "id_card",
                    "retention_days": services.settings.face_photo_retention_days})  # fmt: skip
        for check in checks:
            assert check.live_key is not None
            keys.append(check.live_key)
            check.live_key = None
            record(session, None, "identity.photo.purge", "face_check", check.id,
                   {"ticket_id": check.ticket_id, "photo": "live",
                    "retention_days": services.settings.face_photo_retention_days})  # fmt: skip
    for key in keys:  # after the commit: a failed commit leaves the files in place
        await asyncio.to_thread(_remove, services, key)
    return len(keys)
