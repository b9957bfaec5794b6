"""The reference bridge's WebSocket service — docs/bridge.md.

One client at a time, newest wins: when the kiosk page reloads, its new connection takes
the bridge over; the old one is told (``superseded``) and closed, and its running
requests are cancelled. Only pages of the configured origins may connect (the browser
sends ``Origin``; anything else gets HTTP 403 at the handshake). When the client goes
away, the bridge wipes what it holds (``bridge.wipe``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from cloudwindow import __version__
from cloudwindow.bridge import protocol as p
from cloudwindow.bridge.devices import Progress, Simulation
from cloudwindow.bridge.protocol import BridgeError, Code, Device, Health
from cloudwindow.logs import get_logger

log = get_logger(__name__)
# Requests that occupy their device until they finish; the others answer at once.
LONG = {
    (Device.ID_READER, "read"),
    (Device.SIGNATURE_PAD, "capture"),
    (Device.RECEIPT_PRINTER, "print"),
    (Device.A4_PRINTER, "print"),
}
CLOSE_SUPERSEDED = 4000


class Bridge:
    def __init__(
        self,
        sim: Simulation,
        origins: Sequence[str],
        host: str = "127.0.0.1",
        port: int = p.DEFAULT_PORT,
        allow_no_origin: bool = False,
    ) -> None:
        self.sim = sim
        self.host, self.port = host, port
        self.origins: list[Origin | None] = [Origin(o.rstrip("/")) for o in origins]
        if allow_no_origin:
            self.origins.append(None)
        self.client: ServerConnection | None = None
        self.running: dict[str, tuple[Device, asyncio.Task[None]]] = {}
        self.server: Server | None = None
        self._control: asyncio.Task[None] | None = None
        sim.listeners.append(self._health_changed)

    async def start(self) -> int:
        """Listen; returns the port (useful with port 0)."""
        self.server = await serve(
            self._serve,
            self.host,
            self.port,
            origins=self.origins,
            compression=None,
            max_size=p.MAX_MESSAGE_BYTES,
        )
        self.port = next(iter(self.server.sockets)).getsockname()[1]
        self._control = asyncio.create_task(self._poll_control())
        log.info("bridge-listening", host=self.host, port=self.port, origins=self.origins)
        return self.port

    async def stop(self) -> None:
        if self._control:
            self._control.cancel()
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    async def _poll_control(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.sim.poll_control()
            await asyncio.sleep(0.3)

    async def _send(self, conn: ServerConnection, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await conn.send(text)

    async def _health_changed(self, body: dict[str, Any]) -> None:
        if self.client is not None:
            await self._send(self.client, json.dumps({"type": "health", **body}))

    def hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "protocol": p.PROTOCOL,
            "bridge": {
                "vendor": "CloudWindow",
                "model": "reference bridge (simulated devices)",
                "version": __version__,
                "simulated": True,
            },
            "devices": self.sim.devices(),
        }

    # Connections --------------------------------------------------------------------------
    async def _serve(self, conn: ServerConnection) -> None:
        old, self.client = self.client, conn
        if old is not None:
            await self._cancel_all(Code.SUPERSEDED)
            error = BridgeError(Code.SUPERSEDED)
            await self._send(old, json.dumps({"type": "closing", "error": error.body()}))
            await old.close(CLOSE_SUPERSEDED, "superseded")
        log.info("bridge-client", origin=conn.request.headers.get("Origin") if conn.request else "")
        await self._send(conn, json.dumps(self.hello(), ensure_ascii=False))
        try:
            async for message in conn:
                await self._message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            if self.client is conn:
                self.client = None
                await self._cancel_all(Code.CANCELLED)
                self.sim.wipe()

    async def _cancel_all(self, code: Code) -> None:
        for rid, (_device, task) in list(self.running.items()):
            task.cancel(code.value)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self.running.pop(rid, None)

    async def _message(self, conn: ServerConnection, message: str | bytes) -> None:
        try:
            msg = p.parse(message)
        except BridgeError as exc:
            rid = exc.details.pop("id", None)
            await self._send(conn, p.failure(rid, exc))
            return
        if isinstance(msg, p.Cancel):
            entry = self.running.get(msg.id)
            if entry is not None:
                entry[1].cancel(Code.CANCELLED.value)
            return
        if msg.id in self.running:
            await self._send(conn, p.failure(msg.id, BridgeError(Code.DUPLICATE_ID)))
            return
        if (msg.device, msg.command) in LONG and any(
            d == msg.device for d, _ in self.running.values()
        ):
            await self._send(conn, p.failure(msg.id, BridgeError(Code.DEVICE_BUSY)))
            return
        task = asyncio.create_task(self._run(conn, msg))
        self.running[msg.id] = (msg.device, task)

    async def _run(self, conn: ServerConnection, req: p.Request) -> None:
        stage = {"now": ""}

        async def progress(name: str) -> None:
            stage["now"] = name
            await self._send(conn, p.progress(req.id, name))

        try:
            data = await asyncio.wait_for(self._do(req, progress), req.timeout_ms / 1000)
            reply = p.result(req.id, data)
        except BridgeError as exc:
            reply = p.failure(req.id, exc)
        except TimeoutError:
            code = Code.NO_CARD if stage["now"] == "waiting_for_card" else Code.TIMEOUT
            reply = p.failure(req.id, BridgeError(code, {"timeout_ms": req.timeout_ms}))
        except asyncio.CancelledError as exc:
            reason = exc.args[0] if exc.args else Code.CANCELLED.value
            code = Code.SUPERSEDED if reason == Code.SUPERSEDED.value else Code.CANCELLED
            reply = p.failure(req.id, BridgeError(code))
        except Exception:  # a device fault must answer the request, never hang it
            log.exception("bridge-request-failed", device=req.device, command=req.command)
            reply = p.failure(req.id, BridgeError(Code.DEVICE_ERROR))
        finally:
            self.running.pop(req.id, None)
        await self._send(conn, reply)

    async def _do(self, req: p.Request, progress: Progress) -> dict[str, Any]:
        handler = self._handlers().get((req.device, req.command))
        if handler is None:
            raise BridgeError(Code.UNKNOWN_COMMAND)
        return await handler(req.params, progress)

    def _handlers(
        self,
    ) -> dict[tuple[Device, str], Callable[[dict[str, Any], Progress], Awaitable[dict[str, Any]]]]:
        sim = self.sim

        async def status(_: dict[str, Any], __: Progress) -> dict[str, Any]:
            return {k: v for k, v in self.hello().items() if k != "type"}

        async def wipe(_: dict[str, Any], __: Progress) -> dict[str, Any]:
            cancelled = [rid for rid, (d, _t) in self.running.items() if d != Device.BRIDGE]
            for rid in cancelled:
                self.running[rid][1].cancel(Code.CANCELLED.value)
            return {"wiped": sim.wipe(), "cancelled": cancelled}

        async def feed(params: dict[str, Any], _: Progress) -> dict[str, Any]:
            return sim.feed_signature(params)

        async def clear(_: dict[str, Any], __: Progress) -> dict[str, Any]:
            return sim.clear_signature()

        async def set_health(params: dict[str, Any], _: Progress) -> dict[str, Any]:
            try:
                device, status = (
                    Device(str(params.get("device"))),
                    Health(str(params.get("status"))),
                )
            except ValueError as exc:
                raise BridgeError(Code.BAD_PARAMS, {"field": "device/status"}) from exc
            await sim.set_health(device, status)
            return {"devices": sim.devices()}

        async def insert(params: dict[str, Any], _: Progress) -> dict[str, Any]:
            key = params.get("key")
            if not isinstance(key, str):
                raise BridgeError(Code.BAD_PARAMS, {"field": "key"})
            found = sim.insert_card(key, unreadable=params.get("unreadable") is True)
            return {"key": found.key}

        async def remove(_: dict[str, Any], __: Progress) -> dict[str, Any]:
            sim.remove_card()
            return {}

        async def read(_: dict[str, Any], progress: Progress) -> dict[str, Any]:
            return await sim.read_card(progress)

        async def capture(_: dict[str, Any], progress: Progress) -> dict[str, Any]:
            return await sim.capture_signature(progress)

        return {
            (Device.BRIDGE, "status"): status,
            (Device.BRIDGE, "wipe"): wipe,
            (Device.ID_READER, "read"): read,
            (Device.SIGNATURE_PAD, "capture"): capture,
            (Device.SIGNATURE_PAD, "feed"): feed,
            (Device.SIGNATURE_PAD, "clear"): clear,
            (Device.RECEIPT_PRINTER, "print"): sim.print_receipt,
            (Device.A4_PRINTER, "print"): sim.print_a4,
            (Device.SIMULATOR, "set_health"): set_health,
            (Device.SIMULATOR, "insert_card"): insert,
            (Device.SIMULATOR, "remove_card"): remove,
        }
