"""Reads of identity verification, for this package and for others (licences: the
session's verified ID number and the citizen's consent; docs/identity.md §For other
modules)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.cases.models import Case
from cloudwindow.cases.queries import china_today
from cloudwindow.config import Settings
from cloudwindow.identity.models import Consent, FaceCheck, IdCardRead
from cloudwindow.identity.rules import PURPOSES, is_expired
from cloudwindow.identity.schemas import ConsentOut, FaceCheckOut, IdCardReadOut
from cloudwindow.privacy import Keyring, keyring_for

# Purposes of the AES-GCM tokens and blind index (privacy.py): a token copied from one
# column into another does not decrypt.
CARD_PURPOSE = "identity.card"
ID_NUMBER_PURPOSE = "identity.id_number"
ID_NUMBER_INDEX = "identity.id_number"  # shared with other tables indexing ID numbers
T = TypeVar("T", IdCardRead, FaceCheck)


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the session's citizen is, for server-side use only: the ID number is in clear
    and must never be sent to a browser or a log (callers audit their use of it)."""

    ticket_id: int
    id_card_read_id: int
    name: str
    id_number: str
    birth_date: date
    valid_until: date | None
    expired: bool
    face_verified: bool  # the latest face check matched, or the agent overrode it
    face_check_id: int | None
    face_outcome: str | None
    overridden: bool
    consents: frozenset[str] = field(default_factory=frozenset)  # purposes granted now


def settings_of(session: AsyncSession) -> Settings:
    """The settings of the app whose Database opened this session (``Services`` puts
    them in every session's ``info``)."""
    settings = session.info.get("settings")
    if not isinstance(settings, Settings):
        raise RuntimeError("session has no settings: open it through Services.db")
    return settings


def keys_of(session: AsyncSession) -> Keyring:
    return keyring_for(settings_of(session))


def card_view(row: IdCardRead, today: date) -> IdCardReadOut:
    return IdCardReadOut(
        id=row.id,
        ticket_id=row.ticket_id,
        name_masked=row.name_masked,
        id_number_masked=row.id_number_masked,
        valid_until=row.valid_until,
        expired=is_expired(row.valid_until, today),
        created_at=row.created_at,
    )


def consent_view(row: Consent) -> ConsentOut:
    return ConsentOut(
        id=row.id,
        ticket_id=row.ticket_id,
        purpose=row.purpose,
        granted=row.granted,
        text_version=row.text_version,
        created_at=row.created_at,
    )


def is_verified(row: FaceCheck) -> bool:
    return row.outcome == "match" or row.overridden_at is not None


def check_view(row: FaceCheck) -> FaceCheckOut:
    return FaceCheckOut(
        id=row.id,
        ticket_id=row.ticket_id,
        case_id=row.case_id,
        id_card_read_id=row.id_card_read_id,
        outcome=row.outcome,
        side=row.side,
        score=row.score,
        threshold=row.threshold,
        card_expired=row.card_expired,
        has_live_photo=row.live_key is not None,
        overridden=row.overridden_at is not None,
        override_reason=row.override_reason,
        overridden_at=row.overridden_at,
        verified=is_verified(row),
        elapsed_ms=row.elapsed_ms,
        created_at=row.created_at,
    )


async def _latest(session: AsyncSession, model: type[T], ticket_id: int) -> T | None:
    column: Any = model.ticket_id
    ident: Any = model.id
    return await session.scalar(
        select(model).where(column == ticket_id).order_by(ident.desc()).limit(1)
    )


async def latest_card(session: AsyncSession, ticket_id: int) -> IdCardRead | None:
    return await _latest(session, IdCardRead, ticket_id)


async def latest_check(session: AsyncSession, ticket_id: int) -> FaceCheck | None:
    return await _latest(session, FaceCheck, ticket_id)


async def latest_consents(session: AsyncSession, ticket_id: int) -> dict[str, Consent]:
    """The latest answer per purpose (a later "no" withdraws an earlier "yes")."""
    out: dict[str, Consent] = {}
    for purpose in PURPOSES:
        row = await session.scalar(
            select(Consent)
            .where(Consent.ticket_id == ticket_id, Consent.purpose == purpose)
            .order_by(Consent.id.desc())
            .limit(1)
        )
        if row is not None:
            out[purpose] = row
    return out


async def has_consent(session: AsyncSession, ticket_id: int, purpose: str) -> bool:
    """Did the citizen of this session agree to ``purpose`` (and not withdraw it since)?"""
    row = await session.scalar(
        select(Consent.granted)
        .where(Consent.ticket_id == ticket_id, Consent.purpose == purpose)
        .order_by(Consent.id.desc())
        .limit(1)
    )
    return bool(row)


async def case_of_ticket(session: AsyncSession, ticket_id: int) -> int | None:
    """The newest case opened in this session, if any."""
    found = await session.scalar(
        select(Case.id).where(Case.ticket_id == ticket_id).order_by(Case.id.desc()).limit(1)
    )
    return int(found) if found is not None else None


def open_card(keys: Keyring, row: IdCardRead) -> tuple[dict[str, Any], str]:
    """The card's fields and its ID number, in clear (callers audit the read)."""
    card = json.loads(keys.decrypt(row.card_enc, CARD_PURPOSE))
    return card, keys.decrypt(row.id_number_enc, ID_NUMBER_PURPOSE)


async def current_identity(
    session: AsyncSession, ticket_id: int, settings: Settings | None = None
) -> VerifiedIdentity | None:
    """The citizen of this session as the latest ID card read says, with the face check's
    verdict and the consents given; None when no card was read. The ID number is in
    clear: server-side use only, and the caller writes its use to the audit log."""
    row = await latest_card(session, ticket_id)
    if row is None:
        return None
    keys = keyring_for(settings) if settings is not None else keys_of(session)
    card, number = open_card(keys, row)
    check = await latest_check(session, ticket_id)
    consents = await latest_consents(session, ticket_id)
    verified = check is not None and check.id_card_read_id == row.id and is_verified(check)
    return VerifiedIdentity(
        ticket_id=ticket_id,
        id_card_read_id=row.id,
        name=str(card["name"]),
        id_number=number,
        birth_date=date.fromisoformat(card["birth_date"]),
        valid_until=row.valid_until,
        expired=is_expired(row.valid_until, china_today()),
        face_verified=verified,
        face_check_id=check.id if check else None,
        face_outcome=check.outcome if check else None,
        overridden=bool(check and check.overridden_at is not None),
        consents=frozenset(p for p, c in consents.items() if c.granted),
    )
