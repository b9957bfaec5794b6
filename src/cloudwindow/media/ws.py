"""WebSocket transport of media sessions (docs/protocol.md §Media): thin handlers that
parse, call one action and return the reply's data. Kiosks and agents alike hold
``media.call``; whether the caller is in the session is the action's check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from pydantic import BaseModel

from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.media import actions
from cloudwindow.media.schemas import Candidate, Control, Description, Ready, SessionRef
from cloudwindow.realtime.dispatch import Dispatcher
from cloudwindow.services import Services

messages = Dispatcher()

Action = Callable[[Services, Principal, Any], Awaitable[dict[str, Any]]]


def _handle(type_: str, reply: str, shape: type[BaseModel], action: Action) -> None:
    async def handler(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
        return await action(services, who, shape.model_validate(data))

    messages.handles(type_, Permission.MEDIA_CALL, reply=reply)(handler)


async def _current(services: Services, who: Principal, _: BaseModel) -> dict[str, Any]:
    return await actions.get_current(services, who)


class _Nothing(BaseModel):
    pass


_handle("media.get", "media.current", _Nothing, _current)
_handle(
    "media.offer", "media.sent", Description, partial(actions.do_relay_description, kind="offer")
)
_handle(
    "media.answer", "media.sent", Description, partial(actions.do_relay_description, kind="answer")
)
_handle("media.candidate", "media.sent", Candidate, actions.do_relay_candidate)
_handle("media.ready", "media.sent", Ready, actions.do_relay_ready)
_handle("media.restart", "media.sent", SessionRef, actions.do_relay_restart)
_handle("media.control", "media.sent", Control, actions.do_relay_control)
_handle("media.hangup", "media.hungup", SessionRef, actions.do_hangup)
_handle("media.first_frame", "media.first_frame_recorded", SessionRef, actions.do_first_frame)
