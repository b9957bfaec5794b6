"""申请人签名: the citizen's signature from the kiosk's signature pad, on the case.

The agent asks the kiosk for a signature (device relay, ``signature_pad.capture``); the
PNG comes back encrypted in the command's result. Attaching it copies the image onto the
case, encrypted again for that case (purpose ``signature_purpose``): the case's record
keeps it however long device commands are kept, and a ciphertext copied to another case
does not open. Allowed while the case can change (draft, returned for correction), for
the working agent, with a succeeded signature of the agent's own from the case's session.
Attaching again replaces the image; the history (``case_events`` kind ``signature``) and
the audit log keep every attach. Every read of the image is audited. The acceptance
receipt shows it (trust/documents.py).

Key rotation: ``case_signatures.image_cipher`` is in ``privacy_rotation.registry()``
(re-sealed for its case under the new key; tests/integration/test_key_rotation.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from datetime import datetime
from typing import Annotated

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import User
from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases.actions import (
    add_event,
    emit_case_updated,
    load_case_for_work,
    served_ticket,
    touch,
)
from cloudwindow.cases.errors import (
    CaseNotFound,
    SignatureCommandNotFound,
    SignatureCommandUnusable,
    SignatureFromAnotherSession,
    SignatureImageInvalid,
    SignatureNotAllowed,
    SignatureNotFound,
)
from cloudwindow.cases.models import Case, CaseSignature
from cloudwindow.cases.queries import state_label
from cloudwindow.cases.schemas import UserRef
from cloudwindow.cases.states import CASE_EDITABLE
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.devices.actions import RESULT_PURPOSE
from cloudwindow.devices.models import DeviceCommand
from cloudwindow.devices.rules import MAX_SIGNATURE_BYTES, CommandState
from cloudwindow.privacy import keyring_for
from cloudwindow.realtime.outbox import unit_of_work
from cloudwindow.schemas import InputModel
from cloudwindow.services import Services

SIGNATURE_DEVICE = "signature_pad"
MAX_SIDE = 4000  # pixels: a pad gives a few hundred; more is not a signature
CommandId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


def signature_purpose(case_id: int) -> str:
    """The purpose the case's signature is sealed for (bound to the case)."""
    return f"case-signature.{case_id}"


# Shapes --------------------------------------------------------------------------------------
class SignatureAttach(InputModel):
    """A succeeded ``signature_pad.capture`` of mine, from the case's session."""

    command_id: CommandId


class SignatureView(BaseModel):
    """The case's signature, without the image (``GET …/signature`` gives the PNG)."""

    case_id: int
    command_id: str
    width: int
    height: int
    size: int
    sha256: str
    attached_by: UserRef | None
    attached_at: datetime
    replaced_command_id: str | None = None  # on attach: the signature it replaced


class SessionCase(BaseModel):
    id: int
    number: str
    state: str
    state_label: dict[str, str]
    can_attach_signature: bool
    signature: SignatureView | None


class SessionCases(BaseModel):
    """The cases of a session the agent serves, newest first (no personal data)."""

    cases: list[SessionCase]


# Helpers -------------------------------------------------------------------------------------
def check_png(raw: bytes) -> tuple[int, int]:
    """(width, height) of a PNG that decodes whole; else ``case-signature-image-invalid``
    (the receipt must never fail to render over a broken image)."""
    if len(raw) > MAX_SIGNATURE_BYTES or not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise SignatureImageInvalid({"size": len(raw)})
    try:
        with Image.open(io.BytesIO(raw)) as img:
            if img.format != "PNG" or max(img.size) > MAX_SIDE or min(img.size) < 1:
                raise SignatureImageInvalid({"size": list(img.size)})
            img.load()
            return img.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise SignatureImageInvalid() from exc


def open_image(settings: Settings, row: CaseSignature) -> bytes:
    """The PNG of a stored signature (the caller audits the read, or renders it)."""
    token = keyring_for(settings).decrypt(row.image_cipher, signature_purpose(row.case_id))
    return base64.b64decode(token)


async def _of_case(session: AsyncSession, case_id: int) -> CaseSignature | None:
    return await session.scalar(select(CaseSignature).where(CaseSignature.case_id == case_id))


async def _view(
    session: AsyncSession, row: CaseSignature, replaced: str | None = None
) -> SignatureView:
    user = await session.get(User, row.attached_by)
    return SignatureView(
        case_id=row.case_id,
        command_id=row.command_id,
        width=row.width,
        height=row.height,
        size=row.size,
        sha256=row.sha256,
        attached_by=UserRef(id=user.id, display_name=user.display_name) if user else None,
        attached_at=row.attached_at,
        replaced_command_id=replaced,
    )


def _command_png(settings: Settings, cmd: DeviceCommand) -> bytes:
    secret = json.loads(keyring_for(settings).decrypt(cmd.result_cipher or "", RESULT_PURPOSE))
    try:
        return base64.b64decode(str(secret.get("png", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureImageInvalid() from exc


# Actions -------------------------------------------------------------------------------------
async def do_attach_signature(
    services: Services, who: Principal, case_id: int, body: SignatureAttach
) -> SignatureView:
    """附到办件: the signature of ``body.command_id`` becomes the case's (replacing one
    attached before), recorded in the case's history and the audit log."""
    async with unit_of_work(services) as (session, out):
        case = await load_case_for_work(session, who, case_id)
        if case.state not in CASE_EDITABLE:
            raise SignatureNotAllowed(case.state)
        cmd = await session.get(DeviceCommand, body.command_id)
        if cmd is None or cmd.agent_id != who.id:
            raise SignatureCommandNotFound(body.command_id)
        if cmd.ticket_id != case.ticket_id:
            raise SignatureFromAnotherSession(cmd.id, case.id)
        if (
            cmd.device != SIGNATURE_DEVICE
            or cmd.state != CommandState.SUCCEEDED.value
            or not cmd.result_cipher
        ):
            raise SignatureCommandUnusable(cmd.id, cmd.device, cmd.state)
        png = _command_png(services.settings, cmd)
        width, height = check_png(png)
        sha = hashlib.sha256(png).hexdigest()
        keys = keyring_for(services.settings)
        cipher = keys.encrypt(base64.b64encode(png).decode(), signature_purpose(case.id))
        now = utcnow()
        row = await _of_case(session, case.id)
        replaced = row.command_id if row is not None else None
        if row is None:
            row = CaseSignature(case_id=case.id)
            session.add(row)
        row.command_id, row.image_cipher = cmd.id, cipher
        row.width, row.height, row.size, row.sha256 = width, height, len(png), sha
        row.attached_by, row.attached_at = who.id, now
        touch(case)
        details = {"command_id": cmd.id, "sha256": sha, "width": width, "height": height,
                   "replaced_command_id": replaced}  # fmt: skip
        add_event(session, case, "signature", who, "更换申请人签名" if replaced else "申请人签名",
                  details)  # fmt: skip
        record(session, who, "case.signature.attach", "case", case.id,
               {"number": case.number, "ticket_id": cmd.ticket_id, **details})  # fmt: skip
        await session.flush()
        await emit_case_updated(session, out, case)
        return await _view(session, row, replaced)


async def get_signature_for_reader(
    services: Services, who: Principal, case_id: int
) -> tuple[bytes, SignatureView]:
    """The PNG for supervision and audit (``case.read``); the read is audited in the same
    transaction (no audit, no image)."""
    async with services.db.transaction() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise CaseNotFound({"case_id": case_id})
        row = await _of_case(session, case.id)
        if row is None:
            raise SignatureNotFound(case.id)
        png = open_image(services.settings, row)
        record(session, who, "case.signature.read", "case", case.id,
               {"number": case.number, "sha256": row.sha256, "audience": "reader"})  # fmt: skip
        return png, await _view(session, row)


async def list_session_cases(services: Services, who: Principal, ticket_id: int) -> SessionCases:
    """The cases of a session the agent serves now (``case-ticket-not-served`` else), with
    whether a signature can be attached and the one attached (the device panel)."""
    async with services.db.read() as session:
        ticket = await served_ticket(session, who, ticket_id)
        cases = list(
            await session.scalars(
                select(Case).where(Case.ticket_id == ticket.id).order_by(Case.id.desc())
            )
        )
        rows = {
            r.case_id: r
            for r in await session.scalars(
                select(CaseSignature).where(CaseSignature.case_id.in_([c.id for c in cases]))
            )
        }
        out: list[SessionCase] = []
        for c in cases:
            row = rows.get(c.id)
            out.append(
                SessionCase(
                    id=c.id,
                    number=c.number,
                    state=c.state,
                    state_label=state_label(c.state),
                    can_attach_signature=c.state in CASE_EDITABLE,
                    signature=await _view(session, row) if row is not None else None,
                )
            )
        return SessionCases(cases=out)


async def signature_png_of(session: AsyncSession, settings: Settings, case_id: int) -> bytes | None:
    """The case's signature for a document rendered in the caller's transaction (the
    acceptance receipt); None without one."""
    row = await _of_case(session, case_id)
    return open_image(settings, row) if row is not None else None
