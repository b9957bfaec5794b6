"""Telling the citizen about their case: SMS through a gateway, and the kiosk receipt.

A ``notifications`` row is written in the transaction of the change it reports
(``queued``), so a rolled-back change sends nothing; after the commit it is handed to
the SMS gateway and marked ``sent`` or ``failed``. The gateway is chosen by
``settings.sms_provider``; ``log`` (the default) writes each message — with the number
masked, never in clear — to ``<data_dir>/sms/outbox.jsonl`` and the application log.
A real provider is another class with the same ``send`` and one more branch in
``gateway_for``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.cases.deadlines import CHINA
from cloudwindow.cases.models import Case, Notification
from cloudwindow.cases.schemas import CaseRow, CaseView, Receipt
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.logs import get_logger
from cloudwindow.privacy import keyring_for
from cloudwindow.services import Services

log = get_logger(__name__)
PHONE_PURPOSE = "case.applicant_phone"  # the applicant phone's ciphertext (cases.phone_cipher)


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    ref: str = ""
    error: str = ""


class SmsGateway(Protocol):
    name: str

    async def send(self, phone: str, text: str) -> SmsResult: ...


class LogSmsGateway:
    """Ships now: appends each message (number masked) as a JSON line to a file."""

    name = "log"

    def __init__(self, folder: Path) -> None:
        self.path = folder / "outbox.jsonl"

    async def send(self, phone: str, text: str) -> SmsResult:
        from cloudwindow.privacy import mask_phone

        ref = "log-" + secrets.token_hex(6)
        line = json.dumps(
            {"at": utcnow().isoformat(), "to": mask_phone(phone), "text": text, "ref": ref},
            ensure_ascii=False,
        )

        def write() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

        await asyncio.to_thread(write)
        log.info("sms-sent", provider=self.name, to=mask_phone(phone), ref=ref)
        return SmsResult(ok=True, ref=ref)


def gateway_for(settings: Settings) -> SmsGateway:
    """The configured SMS provider (``settings.sms_provider``)."""
    # Only "log" exists today; the setting is a Literal, so anything else fails at startup.
    return LogSmsGateway(settings.data_dir / "sms")


# Texts ---------------------------------------------------------------------------------------
def _sign(settings: Settings) -> str:
    return f"【{settings.sms_signature}】"


def accepted_text(settings: Settings, case: Case, item_name: str) -> str:
    due = case.due_date.isoformat() if case.due_date else ""
    return (
        f"{_sign(settings)}您的{item_name}申请已受理，办件编号{case.number}，"
        f"承诺{due}前办结。可凭办件编号和手机号查询进度。"
    )


def returned_text(settings: Settings, case: Case, missing: Sequence[str]) -> str:
    return (
        f"{_sign(settings)}您的办件{case.number}需要补正：{'；'.join(missing)}。"
        "请携带材料到就近的云窗口办理。"
    )


def concluded_text(settings: Settings, case: Case, item_name: str) -> str:
    return f"{_sign(settings)}您的办件{case.number}（{item_name}）已办结。"


def rejected_text(settings: Settings, case: Case, item_name: str, reason: str) -> str:
    return f"{_sign(settings)}您的办件{case.number}（{item_name}）未予许可，原因：{reason}。"


def queue_sms(session: AsyncSession, case: Case, kind: str, text: str) -> Notification:
    """Write the message for sending after the commit (see ``send_queued``)."""
    note = Notification(
        case_id=case.id,
        kind=kind,
        channel="sms",
        phone_masked=case.phone_masked,
        text=text,
        state="queued",
        created_at=utcnow(),
    )
    session.add(note)
    return note


async def send_queued(services: Services, view: CaseView) -> CaseView:
    """Send the queued messages of the case (after its change committed) and return its
    view with their outcome. A failure is recorded on the row (``failed``, with the
    error) and never undoes the change."""
    outcomes: dict[int, tuple[str, datetime | None]] = {}
    gateway = gateway_for(services.settings)
    keys = keyring_for(services.settings)
    async with services.db.read() as session:
        rows = (
            await session.execute(
                select(Notification.id, Notification.text, Case.phone_cipher)
                .join(Case, Case.id == Notification.case_id)
                .where(Notification.case_id == view.id, Notification.state == "queued")
                .order_by(Notification.id)
            )
        ).all()
    for note_id, text, cipher in rows:
        try:
            if not cipher:
                result = SmsResult(ok=False, error="no phone number")
            else:
                result = await gateway.send(keys.decrypt(cipher, PHONE_PURPOSE), text)
        except Exception as exc:  # a provider outage must not fail the request
            log.exception("sms-failed", notification=note_id)
            result = SmsResult(ok=False, error=type(exc).__name__)
        async with services.db.transaction() as session:
            note = await session.get(Notification, note_id)
            if note is None or note.state != "queued":
                continue
            note.attempts += 1
            note.provider = gateway.name
            note.provider_ref = result.ref
            note.error = result.error[:300]
            note.state = "sent" if result.ok else "failed"
            note.sent_at = utcnow() if result.ok else None
            outcomes[note.id] = (note.state, note.sent_at)
    notes = [
        n.model_copy(update={"state": outcomes[n.id][0], "sent_at": outcomes[n.id][1]})
        if n.id in outcomes
        else n
        for n in view.notifications
    ]
    return view.model_copy(update={"notifications": notes})


# Receipt -------------------------------------------------------------------------------------
def receipt_for(settings: Settings, case: Case, item_name: str, row: CaseRow) -> Receipt:
    """受理回执, printed at the kiosk: what was accepted, when it is due, how to look it up."""
    accepted = (
        case.accepted_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if case.accepted_at else ""
    )
    lines = [
        f"办件编号：{case.number}",
        f"办理事项：{item_name}",
        f"受理部门：{row.service_item.department_name}",
        f"受理时间：{accepted}",
        f"承诺办结：{case.due_date.isoformat() if case.due_date else ''}"
        f"（{case.promised_days}个工作日）",
        f"申请人：{case.applicant_masked}",
        f"联系电话：{case.phone_masked}",
        "查询方式：在云窗口柜台或网上办事大厅输入办件编号和手机号码查询办理进度。",
    ]
    title = "受理回执"
    return Receipt(title=title, lines=lines, text="\n".join([title, *lines]))
