"""The WebSocket endpoint ``/ws`` (docs/protocol.md): authenticate, resume, dispatch.

One socket per client. The first message must be ``hello`` with a bearer token (a user
session or a kiosk's device credential) and, when reconnecting, the last event id the
client saw; missed durable events are replayed in order, or the client is told to
``resync`` when too many were missed. Every later message is ``{"type", "data", "ref"}``
and is dispatched to the handler registered for its type; failures come back as an
``error`` event carrying the same ``ref``, and the connection stays usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from cloudwindow.accounts.principal import Principal
from cloudwindow.accounts.queries import get_principals
from cloudwindow.db import utcnow
from cloudwindow.errors import CloudWindowError, error_body
from cloudwindow.logs import get_logger
from cloudwindow.realtime import queries
from cloudwindow.realtime.dispatch import Dispatcher, Route
from cloudwindow.realtime.presence import PresenceWriter
from cloudwindow.services import Services

log = get_logger(__name__)

CLOSE_AUTH = 4401  # bad or missing credentials
CLOSE_IDLE = 4000  # no heartbeat
CLOSE_SLOW = 4008  # could not keep up with its events


class Hello(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    last_event_id: int | None = Field(default=None, ge=0)


def _error(
    error_id: str, zh: str, en: str, ref: Any = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"id": None, "type": "error", "data": error_body(error_id, zh, en, details), "ref": ref}


class Connection:
    """One client socket: an ordered, bounded send queue drained by its own task."""

    def __init__(self, ws: WebSocket, principal: Principal, queue_size: int) -> None:
        self.ws = ws
        self.principal = principal
        self.keys = (principal.ident, *(f"role:{r}" for r in principal.roles))
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._held: list[dict[str, Any]] | None = []  # live events held during replay
        self.last_id = 0
        self.resume_from: int | None = None  # the client's last_event_id, if resuming
        self.opened_at = utcnow()  # registered with the hub right after
        self.too_slow = False

    def push(self, envelope: dict[str, Any]) -> None:
        if self.too_slow:
            return
        if self._held is not None:
            self._held.append(envelope)
            return
        try:
            self._queue.put_nowait(envelope)
        except asyncio.QueueFull:
            # Dropping one event and going on would leave a hole the client could not
            # see (its last id moves past it). Drop them all and close at once: the
            # client resumes from its last id and gets everything replayed.
            self.too_slow = True
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait({"_close": CLOSE_SLOW})

    def release(self, replayed: list[dict[str, Any]]) -> None:
        """End of replay: queue the replayed events, then the held live ones, in order."""
        held, self._held = self._held or [], None
        for envelope in replayed + held:
            self.push(envelope)

    async def sender(self) -> None:
        while True:
            envelope = await self._queue.get()
            if "_close" in envelope:
                await self.ws.close(envelope["_close"])
                return
            event_id = envelope.get("id")
            if event_id is not None:
                if event_id <= self.last_id:
                    continue  # already sent (replay and live overlap)
                self.last_id = event_id
            await self.ws.send_text(json.dumps(envelope, ensure_ascii=False))


class Handshakes:
    """Resolves WebSocket handshakes in bursts.

    Every kiosk comes back at once after a restart. One read session and three
    statements (kiosks, users, the newest event id of every recipient) serve every
    handshake waiting when a burst is resolved, instead of a session and two or three
    statements each; the few clients that resume with missed events read them
    individually. A burst never waits for a timer: the next one gathers while the
    current one is in the database.
    """

    def __init__(self, services: Services, batch_limit: int = 500) -> None:
        self._services = services
        self._limit = batch_limit
        self._pending: list[tuple[WebSocket, Hello, asyncio.Future[Resolved | None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def resolve(self, ws: WebSocket, hello: Hello) -> Resolved | None:
        """The registered connection and what to resume with, or None (bad token)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ws-handshakes")
        future: asyncio.Future[Resolved | None] = asyncio.get_running_loop().create_future()
        self._pending.append((ws, hello, future))
        self._wake.set()
        return await future  # cancelled with the socket's task: the burst skips it

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, _, future in self._pending:
            future.cancel()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                burst = self._pending[: self._limit]
                del self._pending[: self._limit]
                try:
                    await self._resolve(burst)
                except Exception as exc:
                    log.exception("ws-handshakes-failed", sockets=len(burst))
                    for _, _, future in burst:
                        if not future.done():
                            future.set_exception(exc)

    async def _resolve(
        self, burst: list[tuple[WebSocket, Hello, asyncio.Future[Resolved | None]]]
    ) -> None:
        services = self._services
        hub = services.hub
        async with services.db.read() as session:
            principals = await get_principals(
                session, [(h.token, ws.client.host if ws.client else "") for ws, h, _ in burst]
            )
            # Register with the hub before reading the newest event ids, so live events
            # published meanwhile are held, not lost.
            admitted: list[tuple[Connection, asyncio.Future[Resolved | None]]] = []
            for (ws, hello, future), principal in zip(burst, principals, strict=True):
                if future.done():
                    continue  # the socket went away while waiting
                if principal is None:
                    future.set_result(None)
                    continue
                conn = Connection(ws, principal, services.settings.ws_send_queue)
                conn.last_id = hello.last_event_id or 0
                conn.resume_from = hello.last_event_id
                hub.register(conn)
                admitted.append((conn, future))
            try:
                latest = await queries.latest_event_ids(
                    session, sorted({k for conn, _ in admitted for k in conn.keys})
                )
                oldest: list[int | None] = []  # read once, by the first client that needs it
                for conn, future in admitted:
                    newest = max((latest.get(k, 0) for k in conn.keys), default=0)
                    resume = await _resume(services, session, conn, newest, oldest)
                    if future.done():
                        hub.unregister(conn)
                    else:
                        future.set_result((conn, resume))
            except BaseException:
                for conn, future in admitted:
                    if not future.done():
                        hub.unregister(conn)
                raise


Resume = tuple[int, list[dict[str, Any]], str | None]
Resolved = tuple[Connection, Resume]


GATEWAY_PATH = "/ws"
Endpoint = Callable[[WebSocket], Awaitable[None]]


def gateway_endpoint(
    dispatchers: list[Dispatcher], presence: PresenceWriter, handshakes: Handshakes
) -> Endpoint:
    """The ``/ws`` endpoint. ``GatewayFirst`` serves it straight from the ASGI entry."""
    routes: dict[str, Route] = {}
    for d in dispatchers:
        overlap = routes.keys() & d.routes.keys()
        if overlap:
            raise ValueError(f"message types registered twice: {sorted(overlap)}")
        routes |= d.routes

    async def websocket_endpoint(ws: WebSocket) -> None:
        services: Services = ws.app.state.services
        await ws.accept()
        hello = await _read_hello(ws)
        if hello is None:
            return
        hub = services.hub
        resolved = await handshakes.resolve(ws, hello)
        if resolved is None:
            await _refuse(ws)
            return
        conn, resume = resolved
        sender = asyncio.create_task(conn.sender())
        # No last_event_id: a fresh page, which knows nothing sent before it connected.
        fresh = conn.opened_at if conn.resume_from is None else None
        presence.opened(conn.principal, fresh)
        try:
            await _welcome(services, conn, *resume)
            await _serve(services, ws, conn, routes)
        except (WebSocketDisconnect, RuntimeError):
            pass  # gone (Starlette raises RuntimeError once a send to a closed socket failed)
        finally:
            hub.unregister(conn)
            presence.closed(conn.principal)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    return websocket_endpoint


class GatewayFirst:
    """ASGI wrapper: a WebSocket to ``/ws`` goes straight to the gateway, every other
    request to the application's middleware stack. The HTTP stack (error and telemetry
    middleware, request logging, the route table, app-wide dependencies) does nothing
    for a socket that the gateway does not do itself, and cost ~30 % of the CPU of a
    reconnect burst (every kiosk coming back after a restart)."""

    def __init__(self, app: ASGIApp, endpoint: Endpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == GATEWAY_PATH:
            await self.endpoint(WebSocket(scope, receive, send))
        else:
            await self.app(scope, receive, send)


async def _read_hello(ws: WebSocket) -> Hello | None:
    """The first message must be ``hello``; anything else closes the socket (4401)."""
    try:
        raw = await asyncio.wait_for(ws.receive_text(), timeout=10)
        message = json.loads(raw)
        if not isinstance(message, dict) or message.get("type") != "hello":
            raise ValueError("first message must be hello")
        return Hello.model_validate(message.get("data") or {})
    except (
        TimeoutError,
        ValueError,
        ValidationError,
        KeyError,
        json.JSONDecodeError,
        WebSocketDisconnect,
        RuntimeError,
    ):
        with contextlib.suppress(Exception):
            await ws.send_text(
                json.dumps(
                    _error(
                        "hello-required",
                        "连接后须先发送 hello 消息（含令牌）",
                        "Send a hello message with your token first",
                    )
                )
            )
            await ws.close(CLOSE_AUTH)
        return None


async def _refuse(ws: WebSocket) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(
            json.dumps(
                _error(
                    "not-authenticated",
                    "请先登录，或登录已过期",
                    "Sign in first, or your session has expired",
                )
            )
        )
        await ws.close(CLOSE_AUTH)


async def _resume(
    services: Services,
    session: AsyncSession,
    conn: Connection,
    latest: int,
    oldest: list[int | None],
) -> Resume:
    """(latest event id, events a resuming client missed, or a resync reason)."""
    settings = services.settings
    resume_from = conn.resume_from
    replayed: list[dict[str, Any]] = []
    resync: str | None = None
    if resume_from is not None and resume_from < latest:
        if not oldest:
            oldest.append(await queries.oldest_event_id(session))
        rows = await queries.events_after(
            session, conn.keys, resume_from, settings.ws_replay_limit + 1
        )
        if oldest[0] is not None and resume_from < oldest[0] - 1:
            resync = "expired"  # events after resume_from may have been purged
        elif len(rows) > settings.ws_replay_limit:
            resync = "too-many-missed"
        else:
            replayed = [
                {"id": r.id, "type": r.type, "data": r.data, "at": r.created_at.isoformat()}
                for r in rows
            ]
    return latest, replayed, resync


async def _welcome(
    services: Services,
    conn: Connection,
    latest: int,
    replayed: list[dict[str, Any]],
    resync: str | None,
) -> None:
    """Send ``welcome``; then what a resuming client missed, or tell it to resync."""
    settings = services.settings
    if resync:
        conn.last_id = latest
    await conn.ws.send_text(
        json.dumps(
            {
                "id": None,
                "type": "welcome",
                "data": {
                    "principal": conn.principal.ident,
                    "kind": conn.principal.kind,
                    "name": conn.principal.name,
                    "roles": list(conn.principal.roles),
                    "node": settings.node_name,
                    "latest_event_id": latest,
                    "replayed": len(replayed),
                    "heartbeat_seconds": settings.ws_heartbeat_seconds,
                },
            },
            ensure_ascii=False,
        )
    )
    if resync:
        conn.push({"id": None, "type": "resync", "data": {"reason": resync}})
    conn.release(replayed)


async def _serve(
    services: Services, ws: WebSocket, conn: Connection, routes: dict[str, Route]
) -> None:
    settings = services.settings
    while True:
        try:
            # asyncio.timeout, not wait_for: no extra task per message on Python 3.11.
            async with asyncio.timeout(settings.ws_idle_timeout_seconds):
                raw = await ws.receive_text()
        except TimeoutError:
            await ws.close(CLOSE_IDLE)
            return
        if conn.too_slow:
            return  # the sender is closing the socket with 4008
        reply = await _handle(services, conn, raw, routes)
        if reply is not None:
            conn.push(reply)


async def _handle(
    services: Services, conn: Connection, raw: str, routes: dict[str, Route]
) -> dict[str, Any] | None:
    settings = services.settings
    if len(raw.encode()) > settings.ws_max_message_bytes:
        return _error(
            "message-too-large",
            "消息过大",
            "Message too large",
            details={"limit_bytes": settings.ws_max_message_bytes},
        )
    try:
        message = json.loads(raw)
    except json.JSONDecodeError:
        return _error("message-malformed", "消息不是有效的 JSON", "The message is not valid JSON")
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return _error(
            "message-malformed",
            "消息须为含 type 字段的 JSON 对象",
            "A message must be a JSON object with a type",
        )
    ref = message.get("ref")
    if not isinstance(ref, str | int | None) or (isinstance(ref, str) and len(ref) > 64):
        ref = None
    type_ = message["type"]
    if type_ == "ping":
        return {"id": None, "type": "pong", "data": {}, "ref": ref}
    route = routes.get(type_)
    if route is None:
        return _error(
            "unknown-message-type",
            "未知的消息类型",
            "Unknown message type",
            ref,
            {"type": type_[:60]},
        )
    if route.permission not in conn.principal.permissions:
        return _error(
            "permission-denied",
            "当前账号无权执行此操作",
            "Your account is not allowed to do this",
            ref,
            {"type": type_},
        )
    data = message.get("data") or {}
    if not isinstance(data, dict):
        return _error("validation-failed", "消息的 data 须为对象", "data must be an object", ref)
    try:
        result = await route.handler(services, conn.principal, data)
    except ValidationError as exc:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return _error(
            "validation-failed",
            "请求内容不符合要求，请检查标出的字段",
            "The request is invalid; check the fields listed",
            ref,
            {"errors": errors},
        )
    except CloudWindowError as exc:
        return {"id": None, "type": "error", "data": exc.body(), "ref": ref}
    except Exception:
        log.exception("ws-handler-failed", type=type_)
        return {"id": None, "type": "error", "data": CloudWindowError().body(), "ref": ref}
    return {"id": None, "type": route.reply, "data": result or {}, "ref": ref}
