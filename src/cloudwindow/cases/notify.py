"""Telling the citizen about their case: SMS through a gateway, and the kiosk receipt.

A ``notifications`` row is written in the transaction of the change it reports
(``queued``), so a rolled-back change sends nothing. After the commit the request that
made the change claims it (``sending``) and hands it to the SMS gateway: ``sent``; or,
if the provider is down or slow, ``queued`` again with a ``next_attempt_at`` that
doubles from ``sms_retry_base_seconds`` (at most an hour), until ``sms_max_attempts``
are spent or the provider refuses the message for good (``failed``). Every node runs the
retry job (``notification_retrier``), which sends what is due: retries, messages whose
request died between the commit and the send (``queued`` since more than a minute), and
claims that lapsed because a node died mid-send. A claim is a conditional UPDATE, so one
attempt is one node's; each message carries a stable key (``cw-sms-<id>``) for the
provider to drop a repeat after a lapsed claim.

The gateway is chosen by ``settings.sms_provider``: ``log`` (the default) writes each
message — number masked, never in clear — to ``<data_dir>/sms/outbox.jsonl`` and the
application log; ``http`` POSTs it to ``sms_http_url`` (docs/cases.md §SMS).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.cases.deadlines import CHINA
from cloudwindow.cases.models import Case, Notification
from cloudwindow.cases.schemas import CaseRow, CaseView, Receipt
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.jobs import PeriodicJob
from cloudwindow.logs import get_logger
from cloudwindow.privacy import keyring_for, mask_phone
from cloudwindow.services import Services

log = get_logger(__name__)
PHONE_PURPOSE = "case.applicant_phone"  # the applicant phone's ciphertext (cases.phone_cipher)
ORPHAN_AFTER = timedelta(minutes=1)  # queued this long after its commit: its request died
CLAIM_FOR = timedelta(minutes=5)  # a send that has not finished by then is tried again
RETRY_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    ref: str = ""
    error: str = ""
    # False: the provider refused this message for good (bad number, rejected text):
    # trying again cannot help.
    retry: bool = True


class SmsGateway(Protocol):
    name: str

    async def send(self, phone: str, text: str, key: str) -> SmsResult: ...


class LogSmsGateway:
    """Ships now: appends each message (number masked) as a JSON line to a file."""

    name = "log"

    def __init__(self, folder: Path) -> None:
        self.path = folder / "outbox.jsonl"

    async def send(self, phone: str, text: str, key: str) -> SmsResult:
        ref = "log-" + secrets.token_hex(6)
        line = json.dumps(
            {
                "at": utcnow().isoformat(),
                "to": mask_phone(phone),
                "text": text,
                "ref": ref,
                "key": key,
            },
            ensure_ascii=False,
        )

        def write() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

        await asyncio.to_thread(write)
        log.info("sms-sent", provider=self.name, to=mask_phone(phone), ref=ref)
        return SmsResult(ok=True, ref=ref)


class HttpSmsGateway:
    """A provider behind HTTP (a carrier's SMS API, or the government's 统一短信平台 through
    a small adapter): ``POST sms_http_url`` with JSON ``{"to", "text", "key"}`` and
    ``Authorization: Bearer <sms_http_token>``. 2xx is sent (``{"id": …}`` is kept as
    the provider's reference); 408, 429, 5xx, timeouts and refused connections are
    retried; any other 4xx is final. The phone number goes to the provider in clear —
    it has to — and nowhere else."""

    name = "http"

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        self.url, self.timeout = url, timeout
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def send(self, phone: str, text: str, key: str) -> SmsResult:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                r = await client.post(
                    self.url, json={"to": phone, "text": text, "key": key}, headers=self.headers
                )
        except httpx.HTTPError as exc:
            return SmsResult(ok=False, error=f"{type(exc).__name__}")
        if r.is_success:
            try:
                ref = str(r.json().get("id", ""))[:100]
            except (ValueError, AttributeError):
                ref = ""
            log.info("sms-sent", provider=self.name, to=mask_phone(phone), ref=ref)
            return SmsResult(ok=True, ref=ref)
        retry = r.status_code in (408, 429) or r.status_code >= 500
        return SmsResult(ok=False, error=f"HTTP {r.status_code}", retry=retry)


def gateway_for(settings: Settings) -> SmsGateway:
    """The configured SMS provider (``settings.sms_provider``)."""
    if settings.sms_provider == "http":
        if not settings.sms_http_url:
            raise ValueError("sms_provider = http needs sms_http_url")
        return HttpSmsGateway(
            settings.sms_http_url, settings.sms_http_token, settings.sms_http_timeout_seconds
        )
    return LogSmsGateway(settings.data_dir / "sms")


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: the base, doubled per attempt, at most 1 h."""
    delay = timedelta(seconds=settings.sms_retry_base_seconds * 2 ** max(0, attempts - 1))
    return min(delay, RETRY_CAP)


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


def due_date_text(settings: Settings, case: Case) -> str:
    due = case.due_date.isoformat() if case.due_date else ""
    return f"{_sign(settings)}您的办件{case.number}因节假日安排调整，承诺办结日期变更为{due}。"


def queue_sms(
    session: AsyncSession, case: Case, kind: str, text: str, *, by_job: bool = False
) -> Notification:
    """Write the message for sending after the commit (see ``send_queued``). ``by_job``:
    no request sends it; the retry job takes it at its next tick (a change that tells
    many citizens at once, which one request should not wait for)."""
    now = utcnow()
    note = Notification(
        case_id=case.id,
        kind=kind,
        channel="sms",
        phone_masked=case.phone_masked,
        text=text,
        state="queued",
        created_at=now,
        # The retry job's if this request dies, or at once if it is the job's to send.
        next_attempt_at=now if by_job else now + ORPHAN_AFTER,
    )
    session.add(note)
    return note


async def _claim(services: Services, note_id: int, *, due_only: bool) -> bool:
    """Take one attempt at the message: one conditional UPDATE, so one node's."""
    now = utcnow()
    can = and_(Notification.state == "queued", Notification.attempts == 0)
    if due_only:
        can = or_(
            and_(
                Notification.state == "queued",
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
            ),
            and_(Notification.state == "sending", Notification.next_attempt_at <= now),
        )
    async with services.db.transaction() as session:
        result = await session.execute(
            update(Notification)
            .where(Notification.id == note_id, can)
            .values(state="sending", next_attempt_at=now + CLAIM_FOR)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


async def _attempt(
    services: Services, gateway: SmsGateway, note_id: int, *, due_only: bool
) -> None:
    """Claim, send and record one attempt. A failure is recorded on the row and never
    undoes the case's change."""
    if not await _claim(services, note_id, due_only=due_only):
        return
    async with services.db.read() as session:
        row = (
            await session.execute(
                select(Notification.text, Case.phone_cipher)
                .join(Case, Case.id == Notification.case_id)
                .where(Notification.id == note_id)
            )
        ).first()
    if row is None:
        return
    text, cipher = row
    try:
        if not cipher:
            result = SmsResult(ok=False, error="no phone number", retry=False)
        else:
            phone = keyring_for(services.settings).decrypt(cipher, PHONE_PURPOSE)
            result = await gateway.send(phone, text, f"cw-sms-{note_id}")
    except Exception as exc:  # a provider outage must not fail the request or the job
        log.exception("sms-failed", notification=note_id)
        result = SmsResult(ok=False, error=type(exc).__name__)
    settings = services.settings
    async with services.db.transaction() as session:
        note = await session.get(Notification, note_id, with_for_update=True)
        if note is None or note.state != "sending":
            return
        now = utcnow()
        note.attempts += 1
        note.provider = gateway.name
        note.provider_ref = result.ref
        note.error = result.error[:300]
        if result.ok:
            note.state, note.sent_at, note.next_attempt_at = "sent", now, None
        elif result.retry and note.attempts < settings.sms_max_attempts:
            note.state = "queued"
            note.next_attempt_at = now + retry_delay(settings, note.attempts)
            log.warning("sms-retry-later", notification=note_id, error=note.error,
                        attempts=note.attempts)  # fmt: skip
        else:
            note.state, note.next_attempt_at = "failed", None
            log.error("sms-gave-up", notification=note_id, error=note.error,
                      attempts=note.attempts)  # fmt: skip


async def send_queued(services: Services, view: CaseView) -> CaseView:
    """Send the queued messages of the case (after its change committed) and return its
    view with their outcome (``sent``, or ``queued`` for a retry, or ``failed``)."""
    gateway = gateway_for(services.settings)
    async with services.db.read() as session:
        ids = list(
            await session.scalars(
                select(Notification.id)
                .where(
                    Notification.case_id == view.id,
                    Notification.state == "queued",
                    Notification.attempts == 0,  # retries are the job's, on their schedule
                )
                .order_by(Notification.id)
            )
        )
    for note_id in ids:
        await _attempt(services, gateway, note_id, due_only=False)
    if not ids:
        return view
    async with services.db.read() as session:
        rows = {
            n.id: n
            for n in await session.scalars(select(Notification).where(Notification.id.in_(ids)))
        }
    notes = [
        n.model_copy(
            update={
                "state": rows[n.id].state,
                "sent_at": rows[n.id].sent_at,
                "attempts": rows[n.id].attempts,
                "error": rows[n.id].error,
                "next_attempt_at": rows[n.id].next_attempt_at,
            }
        )
        if n.id in rows
        else n
        for n in view.notifications
    ]
    return view.model_copy(update={"notifications": notes})


async def do_retry_notifications(services: Services, limit: int = 20) -> int:
    """Send what is due (retries, orphans, lapsed claims); returns how many were tried."""
    now = utcnow()
    async with services.db.read() as session:
        ids = list(
            await session.scalars(
                select(Notification.id)
                .where(
                    Notification.state.in_(("queued", "sending")),
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.next_attempt_at)
                .limit(limit)
            )
        )
    if ids:
        gateway = gateway_for(services.settings)
        for note_id in ids:
            await _attempt(services, gateway, note_id, due_only=True)
    return len(ids)


def notification_retrier(services: Services) -> PeriodicJob:
    """The node's SMS retry job (``do_retry_notifications`` every
    ``sms_retry_tick_seconds``)."""
    return PeriodicJob(
        "sms-retry",
        services.settings.sms_retry_tick_seconds,
        lambda: do_retry_notifications(services),
    )


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
