"""Sample cases (办件) for the demo district: a few in each interesting state — concluded,
under approval (one of them overdue), returned for correction, rejected, resubmitted —
filed by agent01 in past sessions at the first kiosk, with histories backdated over
the past weeks (every session ended more than a day ago, so today's queue figures and
handle-time estimates are untouched). Every sample applicant's phone is
``SAMPLE_PHONE`` (13800138000), so the lookup page can be tried with any sample case
number (the console's case list shows them).
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import User
from cloudwindow.accounts.principal import Principal
from cloudwindow.cases import actions, deadlines, formstore, notify
from cloudwindow.cases.forms import resident_id_check_char
from cloudwindow.cases.models import Case, CaseApproval, CaseEvent, CaseMaterial, Notification
from cloudwindow.cases.numbers import next_case_number
from cloudwindow.cases.states import CaseState, StepState
from cloudwindow.catalog.models import ServiceItem
from cloudwindow.db import utcnow
from cloudwindow.fleet.models import Terminal
from cloudwindow.queueing.models import Ticket
from cloudwindow.services import Services

SAMPLE_PHONE = "13800138000"
# (item, what happens, days ago accepted)
PLAN: list[tuple[str, str, int]] = [
    ("440118-JF-0001", "concluded", 12),  # 城乡居民基本养老保险待遇申领
    ("440118-GG-0008", "under_approval", 1),  # 社会保障卡个人信息变更
    ("440118-JF-0010", "returned", 3),  # 医疗费用手工报销
    ("440118-GG-0018", "rejected", 8),  # 企业职工基本养老保险关系转移接续
    ("440118-GG-0022", "overdue", 40),  # 基本医疗保险关系转移接续
    ("440118-JF-0005", "resubmitted", 6),  # 工伤医疗费用申领
]
NAMES = ["陈桂英", "李志明", "黄丽华", "刘建国", "钟秀兰", "何伟强"]


def sample_id_number(n: int) -> str:
    first = f"44018319{50 + n:02d}0{1 + n % 9}1{n % 10}{100 + n:03d}"
    return first + resident_id_check_char(first)


def _value(name: str, prop: dict[str, Any], n: int, phone: str) -> Any:
    kind, fmt = prop.get("x-pii"), prop.get("format")
    if "enum" in prop:
        return prop["enum"][0]
    if fmt == "cn-resident-id" or kind == "id_number":
        return sample_id_number(n)
    if fmt == "cn-mobile" or kind == "phone":
        return phone
    if fmt == "cn-uscc":
        return "91440118MA59B8XK2X"
    if fmt == "date":
        return "2026-01-15"
    if kind == "name":
        return NAMES[n % len(NAMES)]
    if kind == "address":
        return f"广州市增城区荔城街道府佑路{10 + n}号"
    if prop.get("type") in ("integer", "number"):
        return max(1, int(prop.get("minimum", 1)))
    if prop.get("type") == "boolean":
        return True
    return "见所附材料"


def _branch_required(schema: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Fields the form's ``if``/``then``/``else`` conditions require for these values."""
    out: list[str] = []
    for cond in schema.get("allOf", []):
        props = cond.get("if", {}).get("properties", {})
        hit = all(values.get(k) == p.get("const") for k, p in props.items() if "const" in p)
        out += cond.get("then" if hit else "else", {}).get("required", [])
    return out


def sample_values(schema: dict[str, Any], n: int = 0, phone: str = SAMPLE_PHONE) -> dict[str, Any]:
    """Valid values for every field a form requires, its conditions included."""
    props = schema.get("properties", {})
    out = {name: _value(name, props[name], n, phone) for name in schema.get("required", [])}
    for name in _branch_required(schema, out):
        out.setdefault(name, _value(name, props[name], n, phone))
    return out


def _still(label: int) -> bytes:
    img = Image.new("RGB", (1200, 900), (245, 243, 235))
    for x in range(100, 1100, 6):
        img.putpixel((x, 200 + label * 40), (30, 30, 30))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


async def _backdate(session: AsyncSession, case: Case, start: datetime) -> None:
    """Spread the case's history over the time since ``start`` (events written now)."""
    await session.flush()
    events = list(
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    )
    for k, e in enumerate(events):
        e.at = start + timedelta(minutes=7 * k)
    for note in await session.scalars(select(Notification).where(Notification.case_id == case.id)):
        note.created_at = note.sent_at = start
        note.state, note.provider = "sent", "log"


async def load_sample_cases(session: AsyncSession, services: Services) -> int:
    """Insert the sample cases (in the caller's transaction); returns how many."""
    settings = services.settings
    agent = await session.scalar(select(User).where(User.username == "agent01"))
    terminal = await session.scalar(select(Terminal).order_by(Terminal.id).limit(1))
    if agent is None or terminal is None:
        return 0
    who = Principal(kind="user", id=agent.id, name=agent.display_name, roles=("agent",))
    approvers = {
        u.department_code: Principal(kind="user", id=u.id, name=u.display_name)
        for u in await session.scalars(select(User).where(User.department_code.is_not(None)))
    }
    now = utcnow()
    made = 0
    for n, (code, fate, days_ago) in enumerate(PLAN):
        item = await session.get(ServiceItem, code)
        if item is None:
            continue
        start = now - timedelta(days=days_ago, hours=2)
        ticket = Ticket(
            number=f"S{n + 1:03d}", service_item_code=code,
            skill_group_code=item.skill_group_code, owner=f"device:{terminal.id}",
            source="kiosk", terminal_id=terminal.id, site_id=terminal.site_id, rank=2,
            priority="normal", state="completed", agent_id=agent.id, enqueued_at=start,
            answered_at=start, ended_at=start + timedelta(minutes=25), created_at=start,
        )  # fmt: skip
        session.add(ticket)
        form = await formstore.ensure_current_form(session, item)
        case = Case(
            number=await next_case_number(session, start),
            service_item_code=code, department_code=item.department_code,
            form_version_id=form.id, state=CaseState.DRAFT.value, data={}, pii={}, rev=0,
            field_revs={}, ticket_id=None, agent_id=agent.id,
            required_materials=actions.required_of(item), promised_days=item.promised_days,
            round=0, version=1, created_at=start, updated_at=start,
        )  # fmt: skip
        session.add(case)
        await session.flush()
        case.ticket_id = ticket.id
        actions.add_event(session, case, "opened", who, item.name, {"ticket_id": ticket.id})
        actions.apply_edits(settings, case, form.schema, sample_values(form.schema, n))
        case.confirmed_rev, case.confirmed_at = case.rev, start
        case.confirmed_by = f"device:{terminal.id}"
        for m in case.required_materials:
            if not m["required"]:
                continue
            data = _still(made)
            key = f"materials/{case.id}/sample-{m['code']}.jpg"
            services.files.write(key, data)
            session.add(
                CaseMaterial(
                    case_id=case.id, material_code=m["code"], name=m["name"], source="capture",
                    storage_key=key, content_type="image/jpeg", size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    meta={"width": 1200, "height": 900}, status="accepted",
                    added_by=f"device:{terminal.id}", decided_by=agent.id, decided_at=start,
                    created_at=start,
                )
            )  # fmt: skip
        case.accepted_at = start + timedelta(minutes=20)
        case.due_date = deadlines.due_date(
            deadlines.china_date(case.accepted_at), case.promised_days, estimate=True
        )
        actions.move_case(session, case, CaseState.ACCEPTED, who, "受理")
        await actions.start_round(session, case)
        text = notify.accepted_text(settings, case, item.name)
        actions.notify_citizen(session, case, "accepted", text, who)
        approver = approvers.get(item.department_code) or who
        await _decide_sample(session, services, case, item, (who, approver), fate, start)
        await _backdate(session, case, start)
        made += 1
    return made


async def _decide_sample(
    session: AsyncSession,
    services: Services,
    case: Case,
    item: ServiceItem,
    people: tuple[Principal, Principal],
    fate: str,
    start: datetime,
) -> None:
    settings = services.settings
    agent, approver = people

    async def step() -> CaseApproval:
        await session.flush()
        row = await session.scalar(
            select(CaseApproval).where(
                CaseApproval.case_id == case.id, CaseApproval.state == StepState.PENDING.value
            )
        )
        assert row is not None
        return row

    if fate in ("under_approval", "overdue"):
        return
    decided = start + timedelta(days=2)
    first = await step()
    first.decided_by, first.decided_at = approver.id, decided
    if fate == "concluded":
        first.state = StepState.APPROVED.value
        case.concluded_at = start + timedelta(days=6)
        case.current_step = None
        actions.move_case(session, case, CaseState.CONCLUDED, approver, "准予许可")
        text = notify.concluded_text(settings, case, item.name)
        actions.notify_citizen(session, case, "concluded", text, approver)
        return
    if fate == "rejected":
        reason = "申请人不符合关系转移接续条件（转出地尚未终止参保）"
        first.state, first.reason = StepState.REJECTED.value, reason
        case.concluded_at, case.outcome_reason, case.current_step = decided, reason, None
        actions.move_case(session, case, CaseState.REJECTED, approver, reason)
        text = notify.rejected_text(settings, case, item.name, reason)
        actions.notify_citizen(session, case, "rejected", text, approver)
        return
    missing = ["医疗费用原始票据（第2张不清晰）", "费用明细清单"]
    reason = "票据影像不清晰，请补交"
    first.state, first.reason, first.missing = StepState.RETURNED.value, reason, missing
    case.current_step = None
    case.correction = {
        "reason": reason, "missing": missing, "by": approver.id,
        "at": decided.isoformat(), "rev": case.rev,
    }  # fmt: skip
    actions.move_case(session, case, CaseState.RETURNED, approver, reason, {"missing": missing})
    text = notify.returned_text(settings, case, missing)
    actions.notify_citizen(session, case, "returned", text, approver)
    if fate == "resubmitted":
        actions.move_case(session, case, CaseState.RESUBMITTED, agent, "已补交材料")
        case.correction = None
        await actions.start_round(session, case)
