"""Reads of cases: views (masked or clear), lists, metrics, readiness for acceptance.

Personal data (docs/cases.md §Form data): fields marked ``x-pii`` live encrypted in
``cases.pii`` — each ciphertext bound to its case and field (the purpose), so a value
copied into another case or field does not open — and masked in ``cases.data``. A clear
view is built only by callers that have written the audit row for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from cloudwindow.accounts.models import User
from cloudwindow.cases import deadlines, forms
from cloudwindow.cases.models import (
    ApprovalStep,
    Case,
    CaseApproval,
    CaseEvent,
    CaseMaterial,
    FormVersion,
    Notification,
)
from cloudwindow.cases.schemas import (
    ApprovalView,
    CaseMetrics,
    CasePage,
    CaseRow,
    CaseView,
    Correction,
    EventView,
    FieldProblem,
    FormRef,
    ItemRef,
    MaterialView,
    NotificationView,
    RecordingRef,
    RequiredMaterial,
    StepRef,
    UserRef,
)
from cloudwindow.cases.states import (
    CASE_RUNNING,
    STATE_LABELS,
    CaseState,
    MaterialStatus,
    StepState,
)
from cloudwindow.catalog.models import Department, ServiceItem
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.pagination import PageParams
from cloudwindow.privacy import keyring_for, mask_phone
from cloudwindow.queueing.models import Ticket
from cloudwindow.recording.models import Recording

PHONE_INDEX = "case.phone"  # purpose of the applicant phone's blind index (lookup)
DEFAULT_STEP_NAME = "审批"


# Personal data -------------------------------------------------------------------------------
def pii_purpose(case_id: int, name: str) -> str:
    return f"case.{case_id}.{name}"


def mask_value(kind: str, value: str) -> str:
    """What screens show of a personal-data value (PIPL: masked on screen)."""
    if not value:
        return ""
    if kind == "phone":
        return mask_phone(value)
    if kind == "id_number":
        return value[:4] + "*" * max(0, len(value) - 8) + value[-4:] if len(value) > 8 else "****"
    if kind == "name":
        return value[0] + "*" * max(1, len(value) - 1)
    return value[:6] + "****"  # address


def clear_data(
    settings: Settings, case: Case, names: Iterable[str] | None = None
) -> dict[str, Any]:
    """The form values in clear (personal data decrypted); only ``names`` if given."""
    keys = keyring_for(settings)
    wanted = set(names) if names is not None else None
    out = {k: v for k, v in case.data.items() if wanted is None or k in wanted}
    for name, token in case.pii.items():
        if wanted is None or name in wanted:
            out[name] = keys.decrypt(token, pii_purpose(case.id, name))
    return out


def china_today() -> date:
    return deadlines.china_date(utcnow())


def china_day_start(day: date) -> datetime:
    """The UTC instant a China-local day begins."""
    return datetime.combine(day, time(0), deadlines.CHINA)


# Readiness for acceptance ------------------------------------------------------------------
@dataclass
class Readiness:
    """Why a case can't be accepted (or resubmitted) yet: each list empty = that check ok."""

    errors: list[forms.FieldError] = field(default_factory=list)
    phone_missing: bool = False
    missing_materials: list[dict[str, Any]] = field(default_factory=list)
    confirmed: bool = False

    @property
    def blockers(self) -> list[str]:
        out = []
        if self.errors:
            out.append("case-form-invalid")
        if self.phone_missing:
            out.append("case-phone-missing")
        if self.missing_materials:
            out.append("case-materials-missing")
        if not self.confirmed:
            out.append("case-not-confirmed")
        return out


def material_statuses(
    required: Sequence[Mapping[str, Any]], materials: Sequence[CaseMaterial]
) -> list[RequiredMaterial]:
    """Each material the item asks for, with the best status among the files given for it
    (one accepted file satisfies it)."""
    by_code: dict[str, set[str]] = {}
    for m in materials:
        by_code.setdefault(m.material_code, set()).add(m.status)
    out = []
    for r in required:
        seen = by_code.get(str(r["code"]), set())
        status = next(
            (
                s
                for s in (MaterialStatus.ACCEPTED, MaterialStatus.PENDING, MaterialStatus.REJECTED)
                if s in seen
            ),
            "missing",
        )
        out.append(
            RequiredMaterial(
                code=str(r["code"]),
                name=str(r["name"]),
                required=bool(r.get("required", True)),
                note=str(r.get("note", "")),
                status=str(status),
            )
        )
    return out


def readiness(
    case: Case,
    schema: Mapping[str, Any],
    clear: Mapping[str, Any],
    materials: Sequence[CaseMaterial],
) -> Readiness:
    statuses = material_statuses(case.required_materials, materials)
    return Readiness(
        errors=forms.validate(schema, forms.normalize(schema, clear)),
        phone_missing=case.phone_index is None,
        missing_materials=[
            {"code": s.code, "name": s.name, "status": s.status}
            for s in statuses
            if s.required and s.status != MaterialStatus.ACCEPTED
        ],
        # Still true after a return for correction if nothing changed since the citizen
        # confirmed at acceptance; any edit clears it (apply_edits).
        confirmed=case.confirmed_rev is not None and case.confirmed_rev == case.rev,
    )


# Deadlines -----------------------------------------------------------------------------------
def deadline_fields(
    case: Case,
    today: date,
    memo: dict[date, tuple[int, deadlines.DeadlineStatus]] | None = None,
) -> dict[str, Any]:
    """The case's working-day clock as of ``today``. ``memo`` (due date → days left,
    status) serves a page of cases: they share due dates, and each count walks the
    calendar day by day (a year-old overdue case: 365 calendar look-ups)."""
    out: dict[str, Any] = {
        "promised_days": case.promised_days,
        "accepted_at": case.accepted_at,
        "due_date": case.due_date,
        "working_days_left": None,
        "overdue": False,
        "due_soon": False,
    }
    if case.due_date is not None and case.state in CASE_RUNNING:
        known = memo.get(case.due_date) if memo is not None else None
        if known is None:
            known = (
                deadlines.working_days_left(case.due_date, today, estimate=True),
                deadlines.deadline_status(case.due_date, today, estimate=True),
            )
            if memo is not None:
                memo[case.due_date] = known
        out["working_days_left"], status = known
        out["overdue"] = status == deadlines.DeadlineStatus.OVERDUE
        out["due_soon"] = status == deadlines.DeadlineStatus.DUE_SOON
    return out


def state_label(state: str) -> dict[str, str]:
    zh, en = STATE_LABELS[CaseState(state)]
    return {"zh-CN": zh, "en": en}


# Views ---------------------------------------------------------------------------------------
@dataclass
class Refs:
    """Names the rows of a page need, loaded in a few queries for the whole page."""

    items: dict[str, ServiceItem]
    departments: dict[str, str]
    users: dict[int, str]
    steps: dict[int, CaseApproval]  # case id → its open (pending) step
    clock: dict[date, tuple[int, deadlines.DeadlineStatus]] = field(default_factory=dict)


async def load_refs(
    session: AsyncSession,
    cases: Sequence[Case],
    approvals: Sequence[CaseApproval] | None = None,
) -> Refs:
    """``approvals``: every step of the (one) case when the caller has them already (a
    detail view): no query for the open step, and their deciders' names come along."""
    codes = {c.service_item_code for c in cases}
    items = (
        {
            i.code: i
            for i in await session.scalars(select(ServiceItem).where(ServiceItem.code.in_(codes)))
        }
        if codes
        else {}
    )
    ids = [c.id for c in cases]
    if approvals is None and ids:
        approvals = list(
            await session.scalars(
                select(CaseApproval).where(
                    CaseApproval.case_id.in_(ids), CaseApproval.state == StepState.PENDING.value
                )
            )
        )
    steps = {a.case_id: a for a in approvals or [] if a.state == StepState.PENDING.value}
    dept_codes = {c.department_code for c in cases} | {s.department_code for s in steps.values()}
    depts = (
        {
            d.code: d.short_name or d.name
            for d in await session.scalars(
                select(Department).where(Department.code.in_(dept_codes))
            )
        }
        if dept_codes
        else {}
    )
    user_ids = {c.agent_id for c in cases} | {
        a.decided_by for a in approvals or [] if a.decided_by is not None
    }  # a list's pending steps have no decider
    users = (
        {
            u.id: u.display_name
            for u in await session.scalars(select(User).where(User.id.in_(user_ids)))
        }
        if user_ids
        else {}
    )
    return Refs(items, depts, users, steps)


def case_row(case: Case, refs: Refs, today: date, approval_id: int | None = None) -> CaseRow:
    item = refs.items.get(case.service_item_code)
    step = refs.steps.get(case.id)
    return CaseRow(
        id=case.id,
        number=case.number,
        state=case.state,
        state_label=state_label(case.state),
        service_item=ItemRef(
            code=case.service_item_code,
            name=item.name if item else case.service_item_code,
            department_code=case.department_code,
            department_name=refs.departments.get(case.department_code, case.department_code),
        ),
        applicant_masked=case.applicant_masked,
        phone_masked=case.phone_masked,
        agent=UserRef(id=case.agent_id, display_name=refs.users.get(case.agent_id, "")),
        round=case.round,
        current_step=StepRef(
            step=step.step,
            name=step.name,
            department_code=step.department_code,
            department_name=refs.departments.get(step.department_code, step.department_code),
        )
        if step
        else None,
        approval_id=approval_id,
        created_at=case.created_at,
        updated_at=case.updated_at,
        **deadline_fields(case, today, refs.clock),
    )


async def case_view(
    session: AsyncSession,
    settings: Settings,
    case: Case,
    *,
    clear: bool,
    with_recordings: bool = False,
) -> CaseView:
    """The whole case. ``clear``: personal data in clear — the caller audits that read."""
    today = china_today()
    form = await session.get(FormVersion, case.form_version_id)
    schema = form.schema if form else {}
    materials = list(
        await session.scalars(
            select(CaseMaterial).where(CaseMaterial.case_id == case.id).order_by(CaseMaterial.id)
        )
    )
    approvals = list(
        await session.scalars(
            select(CaseApproval)
            .where(CaseApproval.case_id == case.id)
            .order_by(CaseApproval.round, CaseApproval.step)
        )
    )
    events = list(
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    )
    notes = list(
        await session.scalars(
            select(Notification).where(Notification.case_id == case.id).order_by(Notification.id)
        )
    )
    refs = await load_refs(session, [case], approvals)
    names = refs.users
    ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
    recordings: list[RecordingRef] = []
    if with_recordings and case.ticket_id:
        recordings = [
            RecordingRef(id=r.id, state=r.state, started_at=r.started_at)
            for r in await session.scalars(
                select(Recording)
                .where(Recording.ticket_id == case.ticket_id)
                .order_by(Recording.id)
            )
        ]
    full = clear_data(settings, case)
    ready = readiness(case, schema, full, materials)
    row = case_row(case, refs, today)
    correction = (
        Correction(
            reason=str(case.correction.get("reason", "")),
            missing=list(case.correction.get("missing", [])),
            at=case.correction.get("at"),
        )
        if case.correction
        else None
    )
    from cloudwindow.cases.notify import receipt_for  # notify imports this module

    item = refs.items.get(case.service_item_code)
    return CaseView(
        **row.model_dump(),
        form_version_id=case.form_version_id,
        form=FormRef(id=form.id, version=form.version, schema_=form.schema, layout=form.layout)
        if form
        else None,
        data=full if clear else dict(case.data),
        data_clear=clear,
        rev=case.rev,
        field_revs=dict(case.field_revs),
        confirmed_rev=case.confirmed_rev,
        confirmed_at=case.confirmed_at,
        confirmed=ready.confirmed,
        validation=[FieldProblem(**e.as_dict()) for e in ready.errors],
        ticket_id=case.ticket_id,
        ticket_number=ticket.number if ticket else None,
        required_materials=material_statuses(case.required_materials, materials),
        materials=[MaterialView.model_validate(m, from_attributes=True) for m in materials],
        can_accept=case.state == CaseState.DRAFT and not ready.blockers,
        accept_blockers=ready.blockers
        if case.state in (CaseState.DRAFT, CaseState.RETURNED)
        else [],
        approvals=[
            ApprovalView(
                id=a.id,
                round=a.round,
                step=a.step,
                name=a.name,
                department_code=a.department_code,
                state=a.state,
                decided_by=UserRef(id=a.decided_by, display_name=names.get(a.decided_by, ""))
                if a.decided_by is not None
                else None,
                decided_at=a.decided_at,
                reason=a.reason,
                missing=list(a.missing),
            )
            for a in approvals
        ],
        correction=correction,
        outcome_reason=case.outcome_reason,
        concluded_at=case.concluded_at,
        events=[EventView.model_validate(e, from_attributes=True) for e in events],
        notifications=[NotificationView.model_validate(n, from_attributes=True) for n in notes],
        recordings=recordings,
        receipt=receipt_for(settings, case, item.name if item else case.service_item_code, row)
        if case.accepted_at
        else None,
        version=case.version,
    )


# Lists ---------------------------------------------------------------------------------------
# A list counts its matches up to this many (a page of 50 → 200 pages): counting every one
# of 100,000 cases on each page view costs more than the page itself (docs/benchmarks.md).
TOTAL_CAP = 10_000
_CASE_NUMBER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")

# The columns a list row (case_row) reads; the form data, ciphertexts and material
# snapshot stay in the database (raiseload: a row that needs more fails loudly).
ROW_COLUMNS = load_only(
    Case.id,
    Case.number,
    Case.state,
    Case.service_item_code,
    Case.department_code,
    Case.applicant_masked,
    Case.phone_masked,
    Case.agent_id,
    Case.round,
    Case.promised_days,
    Case.accepted_at,
    Case.due_date,
    Case.created_at,
    Case.updated_at,
    raiseload=True,
)


@dataclass
class CaseFilter:
    state: CaseState | None = None
    service_item_code: str | None = None
    department_code: str | None = None
    overdue: bool | None = None
    q: str | None = None  # case number prefix
    agent_id: int | None = None


def number_prefix(q: str) -> Any:
    """``number LIKE 'CW2026%'``. A prefix made only of case-number characters is sent
    as a literal, so PostgreSQL plans it with the prefix index (a bound parameter hides
    the prefix from a generic plan); anything else is escaped (and matches nothing)."""
    prefix = q.strip().upper()
    if prefix and set(prefix) <= _CASE_NUMBER:
        return Case.number.like(literal(prefix + "%", literal_execute=True))
    return Case.number.startswith(prefix, autoescape=True)


def filtered(stmt: Select[Any], f: CaseFilter, today: date) -> Select[Any]:
    if f.state is not None:
        stmt = stmt.where(Case.state == f.state.value)
    if f.service_item_code:
        stmt = stmt.where(Case.service_item_code == f.service_item_code)
    if f.department_code:
        stmt = stmt.where(Case.department_code == f.department_code)
    if f.agent_id is not None:
        stmt = stmt.where(Case.agent_id == f.agent_id)
    if f.q:
        stmt = stmt.where(number_prefix(f.q))
    if f.overdue is not None:
        late = Case.state.in_([s.value for s in CASE_RUNNING]) & (Case.due_date < today)
        stmt = stmt.where(late if f.overdue else ~late | Case.due_date.is_(None))
    return stmt


async def page_total(
    session: AsyncSession, ids: Select[Any], params: PageParams, shown: int
) -> tuple[int, bool]:
    """(total, exact) of a list whose id query is ``ids`` (one column, unordered), when
    its page ``params`` has ``shown`` rows: a short non-empty page is the last one, so
    the total needs no query; otherwise matches are counted up to TOTAL_CAP."""
    offset = (params.page - 1) * params.page_size
    if 0 < shown < params.page_size:
        return offset + shown, True
    capped = ids.limit(TOTAL_CAP + 1).subquery()
    n = int(await session.scalar(select(func.count()).select_from(capped)) or 0)
    return min(n, TOTAL_CAP), n <= TOTAL_CAP


def paged(stmt: Select[Any], params: PageParams) -> Select[Any]:
    return stmt.limit(params.page_size).offset((params.page - 1) * params.page_size)


async def list_cases(session: AsyncSession, f: CaseFilter, params: PageParams) -> CasePage:
    today = china_today()
    # The page's ids first (an index-only scan, however deep the page), then their rows.
    ids = paged(filtered(select(Case.id), f, today).order_by(Case.id.desc()), params)
    cases = list(
        await session.scalars(
            select(Case)
            .options(ROW_COLUMNS)
            .where(Case.id.in_(ids.scalar_subquery()))
            .order_by(Case.id.desc())
        )
    )
    total, exact = await page_total(
        session, filtered(select(Case.id), f, today), params, len(cases)
    )
    refs = await load_refs(session, cases)
    return CasePage(
        items=[case_row(c, refs, today) for c in cases],
        total=total,
        total_exact=exact,
        page=params.page,
        page_size=params.page_size,
    )


async def list_approvals(
    session: AsyncSession,
    department_code: str,
    user_id: int,
    scope: str,
    overdue: bool | None,
    params: PageParams,
) -> CasePage:
    """Pending: steps of the department waiting for a decision, oldest first. Decided:
    the steps this approver decided, newest first."""
    today = china_today()
    where: list[ColumnElement[bool]]
    order: list[ColumnElement[Any]]
    if scope == "decided":
        where = [CaseApproval.decided_by == user_id]
        order = [CaseApproval.decided_at.desc(), CaseApproval.id.desc()]
    else:
        where = [
            CaseApproval.department_code == department_code,
            CaseApproval.state == StepState.PENDING.value,
        ]
        order = [CaseApproval.id.asc()]

    def steps_of(stmt: Select[Any]) -> Select[Any]:
        stmt = stmt.where(*where)
        if overdue is not None:  # the case's deadline: join only when filtering on it
            stmt = filtered(
                stmt.join(Case, Case.id == CaseApproval.case_id), CaseFilter(overdue=overdue), today
            )
        return stmt

    steps = list(
        await session.scalars(paged(steps_of(select(CaseApproval)).order_by(*order), params))
    )
    total, exact = await page_total(session, steps_of(select(CaseApproval.id)), params, len(steps))
    by_id = (
        {
            c.id: c
            for c in await session.scalars(
                select(Case).options(ROW_COLUMNS).where(Case.id.in_([s.case_id for s in steps]))
            )
        }
        if steps
        else {}
    )
    cases = [by_id[s.case_id] for s in steps]
    refs = await load_refs(session, cases)
    return CasePage(
        items=[case_row(by_id[s.case_id], refs, today, approval_id=s.id) for s in steps],
        total=total,
        total_exact=exact,
        page=params.page,
        page_size=params.page_size,
    )


async def metrics(session: AsyncSession) -> CaseMetrics:
    today = china_today()
    by_state = {
        str(state): int(n)
        for state, n in (
            await session.execute(select(Case.state, func.count()).group_by(Case.state))
        ).all()
    }
    running = [s.value for s in CASE_RUNNING]
    cutoff = deadlines.due_soon_cutoff(today, estimate=True)

    async def count(*where: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)

    start = china_day_start(today)
    end = start + timedelta(days=1)
    return CaseMetrics(
        by_state=by_state,
        running=sum(by_state.get(s, 0) for s in running),
        overdue=await count(Case.state.in_(running), Case.due_date < today),
        due_soon=await count(
            Case.state.in_(running), Case.due_date >= today, Case.due_date <= cutoff
        ),
        accepted_today=await count(Case.accepted_at >= start, Case.accepted_at < end),
        concluded_today=await count(Case.concluded_at >= start, Case.concluded_at < end),
        returned_open=by_state.get(CaseState.RETURNED.value, 0),
    )


# Approval chains ----------------------------------------------------------------------------
async def chain_of(session: AsyncSession, item: ServiceItem) -> list[tuple[str, str]]:
    """(department code, step name) of each step; the default is one step by the item's
    department."""
    rows = list(
        await session.scalars(
            select(ApprovalStep)
            .where(ApprovalStep.service_item_code == item.code)
            .order_by(ApprovalStep.position)
        )
    )
    return [(r.department_code, r.name) for r in rows] or [
        (item.department_code, DEFAULT_STEP_NAME)
    ]
