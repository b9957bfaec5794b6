"""WebSocket transport of remote assistance (docs/protocol.md §Cases): thin handlers that
parse, call one action and return the reply's data. Kiosks and agents alike hold
``media.call`` (they are the two ends of the session); whether the caller is the agent
serving the case's ticket or that ticket's kiosk is the action's check."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, JsonValue

from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.cases import assist_actions
from cloudwindow.cases.schemas import FieldName, Id
from cloudwindow.realtime.dispatch import Dispatcher
from cloudwindow.schemas import InputModel
from cloudwindow.services import Services

messages = Dispatcher()
Rev = Annotated[int, Field(ge=0, le=2_147_483_647)]


class Join(InputModel):
    case_id: Id | None = None  # none: the case of the caller's session


class SetField(InputModel):
    case_id: Id
    field: FieldName
    value: JsonValue = None
    base_rev: Rev


class Confirm(InputModel):
    case_id: Id
    rev: Rev


@messages.handles("case.join", Permission.MEDIA_CALL, reply="case.snapshot")
async def join(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    body = Join.model_validate(data)
    return await assist_actions.get_snapshot(services, who, body.case_id)


@messages.handles("case.field.set", Permission.MEDIA_CALL, reply="case.field.ack")
async def set_field(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    body = SetField.model_validate(data)
    return await assist_actions.do_set_field(
        services, who, body.case_id, body.field, body.value, body.base_rev
    )


@messages.handles("case.confirm", Permission.DEVICE, reply="case.confirmed")
async def confirm(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    body = Confirm.model_validate(data)
    return await assist_actions.do_confirm(services, who, body.case_id, body.rev)
