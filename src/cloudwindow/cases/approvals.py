"""Cloud approval (云端批): per-item chains of steps, rounds of steps per case, decisions.

A round starts at acceptance (and again at each resubmission): one ``case_approvals`` row
per step of the item's chain — the first ``pending`` (on its department's list), the
others ``waiting``. Approving a step opens the next; approving the last concludes the
case (办结). Rejecting (不予许可) or returning for correction (退回补正) ends the round
at once; its later steps are ``cancelled``.

Decisions are idempotent and safe under concurrency: the case row is locked first, then
the step; a step already decided is never decided again. The approver who decided it
and repeats the same decision gets the same answer (a retried click, a lost reply);
anyone else gets ``approval-already-decided`` saying who decided what — so two
approvers clicking at once get one decision and one clear error.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import User
from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases import notify
from cloudwindow.cases.actions import (
    add_event,
    clear_view,
    emit_case_updated,
    lock_case,
    move_case,
    notify_citizen,
    touch,
)
from cloudwindow.cases.errors import (
    ApprovalAlreadyDecided,
    ApprovalReasonRequired,
    ApprovalStepNotPending,
    CaseNotFound,
)
from cloudwindow.cases.models import ApprovalStep, Case, CaseApproval
from cloudwindow.cases.queries import approver_department, chain_of
from cloudwindow.cases.schemas import (
    ApprovalDecision,
    CaseView,
    ChainIn,
    ChainStepView,
    ChainView,
)
from cloudwindow.cases.states import DECISION_STEP_STATE, CaseState, Decision, StepState
from cloudwindow.catalog.models import Department, ServiceItem
from cloudwindow.crud import check_ref
from cloudwindow.db import utcnow
from cloudwindow.errors import NotFound
from cloudwindow.licences.registry import issue_case_licence
from cloudwindow.realtime.outbox import unit_of_work
from cloudwindow.services import Services
from cloudwindow.trust.documents import issue_decision


# Chains --------------------------------------------------------------------------------------
async def _chain_view(session: AsyncSession, item: ServiceItem) -> ChainView:
    steps = await chain_of(session, item)
    custom = await session.scalar(
        select(ApprovalStep.id).where(ApprovalStep.service_item_code == item.code).limit(1)
    )
    names = {
        d.code: d.short_name or d.name
        for d in await session.scalars(
            select(Department).where(Department.code.in_({c for c, _ in steps}))
        )
    }
    return ChainView(
        service_item_code=item.code,
        default=custom is None,
        steps=[
            ChainStepView(position=n, department_code=c, department_name=names.get(c, c), name=s)
            for n, (c, s) in enumerate(steps, start=1)
        ],
    )


async def _item(session: AsyncSession, code: str) -> ServiceItem:
    item = await session.get(ServiceItem, code)
    if item is None:
        raise NotFound("Service item", "事项", code)
    return item


async def get_chain(services: Services, code: str) -> ChainView:
    async with services.db.read() as session:
        return await _chain_view(session, await _item(session, code))


async def do_set_chain(
    services: Services, principal: Principal, code: str, body: ChainIn
) -> ChainView:
    """Replace an item's chain (``[]``: back to the default). Rounds already started keep
    their steps."""
    async with services.db.transaction() as session:
        item = await _item(session, code)
        for n, step in enumerate(body.steps):
            await check_ref(
                session, Department, step.department_code, f"steps.{n}.department_code",
                "department", "部门",
            )  # fmt: skip
        await session.execute(delete(ApprovalStep).where(ApprovalStep.service_item_code == code))
        for n, step in enumerate(body.steps, start=1):
            session.add(
                ApprovalStep(
                    service_item_code=code,
                    position=n,
                    department_code=step.department_code,
                    name=step.name,
                )
            )
        await session.flush()
        record(
            session, principal, "approval_chain.set", "service_item", code,
            {"steps": [s.model_dump() for s in body.steps]},
        )  # fmt: skip
        return await _chain_view(session, item)


# Decisions -----------------------------------------------------------------------------------
async def department_of(services: Services, principal: Principal) -> str:
    async with services.db.read() as session:
        return await approver_department(session, principal.id)


async def _lock_step(session: AsyncSession, approval_id: int) -> CaseApproval | None:
    return await session.scalar(
        select(CaseApproval)
        .where(CaseApproval.id == approval_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


async def may_see(session: AsyncSession, case_id: int, department: str) -> bool:
    """An approver sees a case once a step of their department exists in it."""
    found = await session.scalar(
        select(CaseApproval.id)
        .where(CaseApproval.case_id == case_id, CaseApproval.department_code == department)
        .limit(1)
    )
    return found is not None


async def get_for_approver(services: Services, principal: Principal, case_id: int) -> CaseView:
    async with services.db.transaction() as session:  # one session (docs/benchmarks.md)
        department = await approver_department(session, principal.id)
        case = await session.get(Case, case_id)
        if case is None or not await may_see(session, case_id, department):
            raise CaseNotFound({"case_id": case_id})
        return await clear_view(
            session, services.settings, principal, case, "approve", with_recordings=True
        )


def _check_body(body: ApprovalDecision) -> None:
    if body.decision == Decision.REJECT and not body.reason:
        raise ApprovalReasonRequired(body.decision.value)
    if body.decision == Decision.RETURN and (not body.reason or not body.missing):
        raise ApprovalReasonRequired(body.decision.value)


async def do_decide(
    services: Services, principal: Principal, case_id: int, body: ApprovalDecision
) -> CaseView:
    """Decide one approval step: approve, reject (reason) or return (reason, missing)."""
    _check_body(body)
    department = await department_of(services, principal)
    notify_case = False
    async with unit_of_work(services) as (session, out):
        case = await lock_case(session, case_id)  # the case first, always, then the step
        step = await _lock_step(session, body.approval_id)
        if (
            case is None
            or step is None
            or step.case_id != case.id
            or step.department_code != department
        ):
            raise CaseNotFound({"case_id": case_id, "approval_id": body.approval_id})
        target = DECISION_STEP_STATE[body.decision]
        if step.decided_by is not None:
            if step.decided_by == principal.id and step.state == target.value:
                return await clear_view(session, services.settings, principal, case, "approve")
            by = await session.get(User, step.decided_by)
            raise ApprovalAlreadyDecided(
                step.id, step.state, step.decided_by, by.display_name if by else "", step.decided_at
            )
        if step.state != StepState.PENDING or case.state != CaseState.UNDER_APPROVAL:
            raise ApprovalStepNotPending(step.id, step.state)
        now = utcnow()
        step.state, step.decided_by, step.decided_at = target.value, principal.id, now
        step.reason = body.reason
        step.missing = list(body.missing) if body.decision == Decision.RETURN else []
        later = list(
            await session.scalars(
                select(CaseApproval)
                .where(
                    CaseApproval.case_id == case.id,
                    CaseApproval.round == step.round,
                    CaseApproval.step > step.step,
                )
                .order_by(CaseApproval.step)
            )
        )
        item = await session.get(ServiceItem, case.service_item_code)
        item_name = item.name if item else case.service_item_code
        details = {"approval_id": step.id, "round": step.round, "step": step.step}
        settings = services.settings
        if body.decision == Decision.APPROVE and later:
            nxt = later[0]
            nxt.state = StepState.PENDING.value
            case.current_step = nxt.step
            add_event(
                session, case, "approval", principal, f"{step.name}：同意",
                {**details, "decision": "approve", "next_step": nxt.step},
            )  # fmt: skip
            touch(case)
        else:
            for s in later:
                s.state = StepState.CANCELLED.value
            case.current_step = None
            if body.decision == Decision.APPROVE:
                case.concluded_at = now
                move_case(
                    session,
                    case,
                    CaseState.CONCLUDED,
                    principal,
                    body.reason or "准予许可",
                    details,
                )
                text = notify.concluded_text(settings, case, item_name)
            elif body.decision == Decision.REJECT:
                case.concluded_at = now
                case.outcome_reason = body.reason
                move_case(session, case, CaseState.REJECTED, principal, body.reason, details)
                text = notify.rejected_text(settings, case, item_name, body.reason)
            else:
                case.correction = {
                    "reason": body.reason,
                    "missing": list(body.missing),
                    "by": principal.id,
                    "at": now.isoformat(),
                    "rev": case.rev,
                }
                move_case(
                    session, case, CaseState.RETURNED, principal, body.reason,
                    {**details, "missing": list(body.missing)},
                )  # fmt: skip
                text = notify.returned_text(settings, case, body.missing)
            notify_citizen(session, case, case.state, text, principal)
            if case.state != CaseState.RETURNED:  # 办结通知书 / 不予许可决定书 (trust/)
                document = await issue_decision(services, session, case)
                # 电子证照 for an item that issues one (licences/), the document as its file
                await issue_case_licence(settings, session, case, document)
            notify_case = True
        await emit_case_updated(session, out, case)
        view = await clear_view(session, settings, principal, case, "approve")
    return await notify.send_queued(services, view) if notify_case else view
