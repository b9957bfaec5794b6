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

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Row, Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cloudwindow import refcache
from cloudwindow.accounts.models import User
from cloudwindow.cases import deadlines, forms
from cloudwindow.cases.errors import ApproverWithoutDepartment
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
    CaseView,
    Correction,
    EventView,
    FieldProblem,
    FormRef,
    MaterialView,
    NotificationView,
    RecordingRef,
    RequiredMaterial,
    UserRef,
)
from cloudwindow.cases.states import (
    CASE_RUNNING,
    STATE_LABELS,
    CaseState,
    MaterialStatus,
    StepState,
)
from cloudwindow.catalog.models import ServiceItem
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
    case: CaseLike,
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
# What a row reads of its case: an ORM ``Case`` (a detail view) or a row of ROW_COLUMNS
# (a list page: no ORM objects, no form data, ciphertexts or material snapshot).
CaseLike = Case | Row[Any]
StepTriple = tuple[int, str, str]  # the open step: (step, name, department code)


@dataclass
class Refs:
    """Names the rows of a page show, from the per-process reference cache
    (``refcache``: no query when warm)."""

    items: dict[str, str]  # service item code → name
    departments: dict[str, str]  # department code → short name
    users: dict[int, str]  # user id → display name
    clock: dict[date, tuple[int, deadlines.DeadlineStatus]] = field(default_factory=dict)


async def load_refs(
    session: AsyncSession,
    cases: Sequence[CaseLike],
    steps: Iterable[StepTriple | None] = (),
    users: Iterable[int] = (),
) -> Refs:
    """The names ``cases`` (with their open ``steps``, and ``users`` such as deciders)
    need."""
    depts = {c.department_code for c in cases} | {s[2] for s in steps if s is not None}
    return Refs(
        items=await refcache.item_names(session, {c.service_item_code for c in cases}),
        departments=await refcache.department_names(session, depts),
        users=await refcache.user_names(session, {c.agent_id for c in cases} | set(users)),
    )


def case_row(
    case: CaseLike,
    step: StepTriple | None,
    refs: Refs,
    today: date,
    approval_id: int | None = None,
) -> dict[str, Any]:
    """A ``CaseRow`` as plain data (a page validates all its rows at once)."""
    dept = case.department_code
    return {
        "id": case.id,
        "number": case.number,
        "state": case.state,
        "state_label": state_label(case.state),
        "service_item": {
            "code": case.service_item_code,
            "name": refs.items.get(case.service_item_code, case.service_item_code),
            "department_code": dept,
            "department_name": refs.departments.get(dept, dept),
        },
        "applicant_masked": case.applicant_masked,
        "phone_masked": case.phone_masked,
        "agent": {"id": case.agent_id, "display_name": refs.users.get(case.agent_id, "")},
        "round": case.round,
        "current_step": {
            "step": step[0],
            "name": step[1],
            "department_code": step[2],
            "department_name": refs.departments.get(step[2], step[2]),
        }
        if step is not None
        else None,
        "approval_id": approval_id,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        **deadline_fields(case, today, refs.clock),
    }


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
    # the open step: the last pending one (one per case; the old code's dict kept the last)
    open_step = next(
        ((a.step, a.name, a.department_code) for a in reversed(approvals) if a.state == PENDING),
        None,
    )
    refs = await load_refs(
        session, [case], [open_step], (a.decided_by for a in approvals if a.decided_by)
    )
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
    row = case_row(case, open_step, refs, today)
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

    view = CaseView(
        **row,
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
        version=case.version,
    )
    if case.accepted_at:
        view.receipt = receipt_for(settings, case, view.service_item.name, view)
    return view


# Lists ---------------------------------------------------------------------------------------
# A list counts its matches up to this many (a page of 50 → 200 pages): counting every one
# of 100,000 cases on each page view costs more than the page itself (docs/benchmarks.md).
TOTAL_CAP = 10_000
_CASE_NUMBER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
PENDING = StepState.PENDING.value

# The columns a list row (case_row) reads, and the case's open step (outer join).
ROW_COLUMNS = (
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
)
OPEN_STEP = aliased(CaseApproval, name="open_step")
STEP_COLUMNS = (
    OPEN_STEP.step.label("open_step"),
    OPEN_STEP.name.label("open_step_name"),
    OPEN_STEP.department_code.label("open_step_department"),
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


def capped_count(ids: Select[Any]) -> Select[Any]:
    """How many rows ``ids`` (one column, unordered) has, counting at most TOTAL_CAP + 1."""
    capped = ids.correlate(None).limit(TOTAL_CAP + 1).subquery()
    return select(func.count()).select_from(capped)


def paged(stmt: Select[Any], params: PageParams) -> Select[Any]:
    return stmt.limit(params.page_size).offset((params.page - 1) * params.page_size)


async def fetch_list(
    session: AsyncSession,
    rows: Select[*tuple[Any, ...]],
    ids: Select[Any],
    params: PageParams,
) -> tuple[Sequence[Row[Any]], int, bool]:
    """One statement for a page: ``rows`` (the page's rows, their order) with the capped
    count of ``ids`` (the list's id query, unordered) riding along as a column that is
    computed once. Returns (rows, total, exact). A short non-empty page is the last
    one (its total is exact whatever the cap); an empty page past the first needs the
    count on its own."""
    found = (
        await session.execute(rows.add_columns(capped_count(ids).scalar_subquery().label("n")))
    ).all()
    offset = (params.page - 1) * params.page_size
    if 0 < len(found) < params.page_size:
        return found, offset + len(found), True
    if found:
        n = int(found[0].n)
    elif params.page == 1:
        n = 0
    else:
        n = int(await session.scalar(capped_count(ids)) or 0)
    return found, min(n, TOTAL_CAP), n <= TOTAL_CAP


def open_step_of(row: Row[Any]) -> StepTriple | None:
    if row.open_step is None:
        return None
    return (row.open_step, row.open_step_name, row.open_step_department)


def unique_cases(rows: Sequence[Row[Any]], key: str = "id") -> list[Row[Any]]:
    """The rows once each (a case has one pending step, but the outer join would repeat a
    case that had two)."""
    seen: set[int] = set()
    out = []
    for r in rows:
        k = getattr(r, key)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


async def page_of(
    session: AsyncSession,
    rows: Sequence[Row[Any]],
    total: int,
    exact: bool,
    params: PageParams,
    approval_ids: bool = False,
) -> CasePage:
    today = china_today()
    steps = [open_step_of(r) for r in rows]
    refs = await load_refs(session, rows, steps)
    items = [
        case_row(r, step, refs, today, r.approval_id if approval_ids else None)
        for r, step in zip(rows, steps, strict=True)
    ]
    return CASE_PAGE.validate_python(
        {
            "items": items,
            "total": total,
            "total_exact": exact,
            "page": params.page,
            "page_size": params.page_size,
        }
    )


CASE_PAGE = TypeAdapter(CasePage)


async def list_cases(session: AsyncSession, f: CaseFilter, params: PageParams) -> CasePage:
    """One statement: the page's ids first (an index-only scan, however deep the page),
    then only their rows' columns and open steps, and the capped count."""
    today = china_today()
    ids = paged(filtered(select(Case.id), f, today).order_by(Case.id.desc()), params)
    rows = (
        select(*ROW_COLUMNS, *STEP_COLUMNS)
        .outerjoin(OPEN_STEP, (OPEN_STEP.case_id == Case.id) & (OPEN_STEP.state == PENDING))
        .where(Case.id.in_(ids.correlate(None).scalar_subquery()))
        .order_by(Case.id.desc())
    )
    found, total, exact = await fetch_list(
        session, rows, filtered(select(Case.id), f, today), params
    )
    return await page_of(session, unique_cases(found), total, exact, params)


async def approver_department(session: AsyncSession, user_id: int) -> str:
    """The approver's department (``users.department_code``), read in the list's own
    session; none → 422 ``approver-without-department``."""
    department = await session.scalar(select(User.department_code).where(User.id == user_id))
    if not department:
        raise ApproverWithoutDepartment()
    return str(department)


async def list_approvals(
    session: AsyncSession,
    user_id: int,
    scope: str,
    overdue: bool | None,
    params: PageParams,
) -> CasePage:
    """Pending: steps of the approver's department waiting for a decision, oldest first.
    Decided: the steps this approver decided, newest first."""
    today = china_today()
    where: list[ColumnElement[bool]]
    order: list[ColumnElement[Any]]
    department = await approver_department(session, user_id)
    if scope == "decided":
        where = [CaseApproval.decided_by == user_id]
        order = [CaseApproval.decided_at.desc(), CaseApproval.id.desc()]
    else:
        where = [CaseApproval.department_code == department, CaseApproval.state == PENDING]
        order = [CaseApproval.id.asc()]

    def steps_of(stmt: Select[Any]) -> Select[Any]:
        stmt = stmt.where(*where)
        if overdue is not None:  # the case's deadline: join only when filtering on it
            stmt = filtered(
                stmt.join(Case, Case.id == CaseApproval.case_id), CaseFilter(overdue=overdue), today
            )
        return stmt

    # the page's step ids alone first: an index-only scan of (department, state, id) —
    # with the whole rows the planner walked the primary key past every other step.
    ids = paged(steps_of(select(CaseApproval.id)).order_by(*order), params)
    rows = (
        select(CaseApproval.id.label("approval_id"), *ROW_COLUMNS, *STEP_COLUMNS)
        .join(Case, Case.id == CaseApproval.case_id)
        .outerjoin(OPEN_STEP, (OPEN_STEP.case_id == Case.id) & (OPEN_STEP.state == PENDING))
        .where(CaseApproval.id.in_(ids.correlate(None).scalar_subquery()))
        .order_by(*order)
    )
    found, total, exact = await fetch_list(session, rows, steps_of(select(CaseApproval.id)), params)
    return await page_of(
        session, unique_cases(found, "approval_id"), total, exact, params, approval_ids=True
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
