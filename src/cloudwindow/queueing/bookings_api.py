"""HTTP transport of the callback list (agents, supervisors) and of appointments
(supervisors, administrators). Kiosks book and request over the WebSocket (ws.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.pagination import IdPath, Page, PageParams, page_params
from cloudwindow.queueing import appointments, callbacks
from cloudwindow.queueing.appointments import (
    AppointmentFilter,
    AppointmentView,
    PolicyUpdate,
    PolicyView,
)
from cloudwindow.queueing.callbacks import (
    CallbackFilter,
    CallbackOutcome,
    CallbackPhone,
    CallbackView,
)
from cloudwindow.queueing.states import AppointmentState, CallbackState
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["callbacks and appointments"])
Svc = Annotated[Services, Depends(get_services)]
Paging = Annotated[PageParams, Depends(page_params)]
Caller = Annotated[Principal, Depends(require(Permission.CALLBACK_WORK))]
Monitor = Annotated[Principal, Depends(require(Permission.QUEUE_MONITOR))]
GroupCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
GroupQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]


@router.get("/callbacks", response_model=Page[CallbackView], operation_id="list_callbacks")
async def list_callbacks(
    services: Svc,
    who: Caller,
    paging: Paging,
    state: CallbackState | None = None,
    open_only: bool = True,
    skill_group_code: GroupQuery = None,
) -> Page[CallbackView]:
    """回拨列表: the caller's skill groups (supervisors: all), open requests first.
    Numbers are masked."""
    flt = CallbackFilter(state=state, open_only=open_only, skill_group_code=skill_group_code)
    return await callbacks.get_callbacks(services, who, flt, paging)


@router.get("/callbacks/{callback_id}", response_model=CallbackView, operation_id="get_callback")
async def get_callback(callback_id: IdPath, services: Svc, who: Caller) -> CallbackView:
    return await callbacks.get_callback(services, who, callback_id)


@router.post(
    "/callbacks/{callback_id}/claim", response_model=CallbackView, operation_id="claim_callback"
)
async def claim_callback(callback_id: IdPath, services: Svc, who: Caller) -> CallbackView:
    """Claim one request to call it back (one claimer only; 409 if someone else has it)."""
    return await callbacks.do_claim(services, who, callback_id)


@router.post(
    "/callbacks/{callback_id}/phone",
    response_model=CallbackPhone,
    operation_id="reveal_callback_phone",
)
async def reveal_phone(callback_id: IdPath, services: Svc, who: Caller) -> CallbackPhone:
    """The clear number, to dial: only for the agent who claimed it; every read is
    written to the audit log (``callback.phone.read``)."""
    return await callbacks.do_reveal_phone(services, who, callback_id)


@router.post(
    "/callbacks/{callback_id}/outcome",
    response_model=CallbackView,
    operation_id="record_callback_outcome",
)
async def record_outcome(
    callback_id: IdPath, body: CallbackOutcome, services: Svc, who: Caller
) -> CallbackView:
    """done, or no_answer (tried again later, unreachable after the last attempt)."""
    return await callbacks.do_record_outcome(services, who, callback_id, body)


@router.post(
    "/callbacks/{callback_id}/release",
    response_model=CallbackView,
    operation_id="release_callback",
)
async def release_callback(callback_id: IdPath, services: Svc, who: Caller) -> CallbackView:
    return await callbacks.do_release(services, who, callback_id)


@router.post(
    "/callbacks/{callback_id}/cancel", response_model=CallbackView, operation_id="cancel_callback"
)
async def cancel_callback(callback_id: IdPath, services: Svc, who: Caller) -> CallbackView:
    return await callbacks.do_cancel(services, who, callback_id)


@router.get("/appointments", response_model=Page[AppointmentView], operation_id="list_appointments")
async def list_appointments(
    services: Svc,
    _: Monitor,
    paging: Paging,
    day: date | None = None,
    skill_group_code: GroupQuery = None,
    state: AppointmentState | None = None,
) -> Page[AppointmentView]:
    """预约列表 for supervisors (numbers masked), by slot time."""
    flt = AppointmentFilter(day=day, skill_group_code=skill_group_code, state=state)
    return await appointments.get_appointments(services, flt, paging)


@router.post(
    "/appointments/{appointment_id}/cancel",
    response_model=AppointmentView,
    operation_id="cancel_appointment",
)
async def cancel_appointment(
    appointment_id: IdPath, services: Svc, who: Monitor
) -> AppointmentView:
    return await appointments.do_cancel(services, who, appointment_id)


@router.get(
    "/skill-groups/{code}/appointment-policy",
    response_model=PolicyView,
    operation_id="get_appointment_policy",
)
async def get_policy(
    code: GroupCode,
    services: Svc,
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
) -> PolicyView:
    """Slot length, places per slot and days ahead (the defaults when never set)."""
    return await appointments.get_policy(services, code)


@router.put(
    "/skill-groups/{code}/appointment-policy",
    response_model=PolicyView,
    operation_id="set_appointment_policy",
)
async def set_policy(
    code: GroupCode,
    body: PolicyUpdate,
    services: Svc,
    who: Annotated[Principal, Depends(require(Permission.CATALOG_WRITE))],
) -> PolicyView:
    return await appointments.do_set_policy(services, who, code, body)
