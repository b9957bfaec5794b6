"""A real multi-node cluster for tests: N `cloudwindow serve` processes on one PostgreSQL
database and one Redis, plus the client drivers (kiosks and agents over WebSockets) that
follow the protocol, reconnect to another node when theirs dies, and resume."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from cloudwindow.accounts.models import AgentSkill, User
from cloudwindow.accounts.security import hash_password
from cloudwindow.catalog.models import SkillGroup
from cloudwindow.db import Database, utcnow
from cloudwindow.fleet.models import Site, Terminal

ITEM = "440118-GG-0002"  # 社会保障卡补领 → skill group social-security
GROUP = "social-security"


@dataclass
class Node:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None


def start_node(name: str, port: int, env: dict[str, str], logdir: Path) -> Node:
    log = logdir / f"{name}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudwindow.cli", "serve", "--port", str(port)],
        env={**os.environ, **env, "CLOUDWINDOW_NODE_NAME": name},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    node = Node(name, port, proc, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not node.alive():
            raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{node.url}/readyz", timeout=1).status_code == 200:
                return node
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready: {log.read_text()[-2000:]}")


def stop_node(node: Node, sig: int = signal.SIGTERM) -> None:
    if node.alive():
        node.proc.send_signal(sig)
        try:
            node.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait()


async def seed(database_url: str, agents: int, kiosks: int) -> tuple[list[str], list[str]]:
    """Agents who hold only the test skill group, and enrolled kiosks; returns their
    (usernames, device credentials). Wrap-up is set to 0 so agent time is handle time."""
    db = Database(database_url)
    password_hash = hash_password("Agent#2026")
    creds: list[str] = []
    usernames = [f"mnagent{i:03d}" for i in range(agents)]
    try:
        async with db.transaction() as s:
            await s.execute(
                update(SkillGroup).where(SkillGroup.code == GROUP).values(wrap_up_seconds=0)
            )
            await s.execute(
                AgentSkill.__table__.delete().where(AgentSkill.skill_group_code == GROUP)
            )
            for name in usernames:
                user = User(
                    username=name,
                    display_name=f"多节点坐席{name[-3:]}",
                    password_hash=password_hash,
                    roles=["agent"],
                    languages=["zh-CN"],
                )
                s.add(user)
                await s.flush()
                s.add(AgentSkill(user_id=user.id, skill_group_code=GROUP, proficiency=3))
            site = (
                await s.scalars(
                    Site.__table__.select().where(Site.type == "village").with_only_columns(Site.id)
                )
            ).first()
            now = utcnow()
            for i in range(kiosks):
                t = Terminal(
                    serial_number=f"MN-{i:05d}",
                    name=f"多节点柜台{i}",
                    model="basic",
                    site_id=site,
                    peripherals=[],
                    status="active",
                    enrolled_at=now,
                )
                s.add(t)
                await s.flush()
                cred = f"cwd_{t.id}_{secrets.token_urlsafe(24)}"
                t.credential_hash = hashlib.sha256(cred.encode()).hexdigest()
                creds.append(cred)
    finally:
        await db.dispose()
    return usernames, creds


@dataclass
class Stats:
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)
    completed: set[int] = field(default_factory=set)


class Client:
    """Follows the protocol: hello, resume by last_event_id, reconnect to another node."""

    def __init__(self, nodes: list[Node], token: str, stats: Stats, start: int) -> None:
        self.nodes, self.token, self.stats = nodes, token, stats
        self.index = start
        self.last_id: int | None = None
        self.ws: ClientConnection | None = None
        self._ref = 0
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connected = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self.closing = False

    async def _ping(self) -> None:
        """The protocol's heartbeat, as a real client sends it."""
        while not self.closing:
            await asyncio.sleep(15)
            if self.connected.is_set() and self.ws is not None:
                with contextlib.suppress(Exception):
                    await self.ws.send(json.dumps({"type": "ping"}))

    async def open(self) -> None:
        delay = 0.05
        while True:
            node = self.nodes[self.index % len(self.nodes)]
            if node.alive():
                try:
                    self.ws = await connect(
                        node.url.replace("http", "ws") + "/ws", compression=None, open_timeout=5
                    )
                    await self.ws.send(
                        json.dumps(
                            {
                                "type": "hello",
                                "data": {"token": self.token, "last_event_id": self.last_id},
                            }
                        )
                    )
                    welcome = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
                    if welcome["type"] != "welcome":
                        raise RuntimeError(f"no welcome: {welcome}")
                    self._reader = asyncio.create_task(self._read(self.ws))
                    if self._pinger is None:
                        self._pinger = asyncio.create_task(self._ping())
                    self.connected.set()
                    return
                except (OSError, WebSocketException, TimeoutError, RuntimeError):
                    pass  # that node is down or refusing: try the next one
            self.index += 1
            await asyncio.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 1.0)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                event = json.loads(raw)
                if event.get("id"):
                    self.last_id = max(self.last_id or 0, event["id"])
                ref = event.get("ref")
                if ref and ref in self.replies:
                    self.replies.pop(ref).set_result(event)
                else:
                    await self.events.put(event)
        except ConnectionClosed:
            pass
        if self.closing:
            return
        # The node went away: fail pending requests, reconnect elsewhere, resume.
        self.connected.clear()
        for fut in self.replies.values():
            if not fut.done():
                fut.set_exception(ConnectionError("node lost"))
        self.replies.clear()
        self.stats.reconnects += 1
        self.index += 1
        await self.open()
        await self.events.put({"type": "_reconnected", "data": {}})

    async def request(self, type: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send and wait for the reply; on a lost node, resend after reconnecting (the
        queue's messages are safe to repeat: a second take finds the active ticket, a
        second accept finds no offer). Gives up with an error reply after 60 s."""
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            await self.connected.wait()
            self._ref += 1
            ref = f"r{self._ref}"
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self.replies[ref] = fut
            try:
                assert self.ws is not None
                await self.ws.send(json.dumps({"type": type, "data": data or {}, "ref": ref}))
                return await asyncio.wait_for(fut, 15)
            except (ConnectionError, ConnectionClosed, TimeoutError):
                self.replies.pop(ref, None)
                await asyncio.sleep(0.05)
        self.stats.errors.append(f"{type}: no reply within 60 s")
        return {"type": "error", "data": {"error_id": "client-gave-up"}}

    async def close(self) -> None:
        self.closing = True
        if self._pinger is not None:
            self._pinger.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader


async def run_kiosk(client: Client, stats: Stats, deadline: float) -> None:
    """Take a ticket and wait until it is completed (recovering from lost nodes)."""
    await client.open()
    # The idempotency key makes a resend after a lost node safe: the same ticket back.
    reply = await client.request(
        "ticket.take", {"service_item_code": ITEM, "request_id": secrets.token_hex(8)}
    )
    if reply["type"] == "error" and reply["data"]["error_id"] != "ticket-already-active":
        stats.errors.append(f"take: {reply['data']}")
        return
    ticket_id: int | None = (
        reply["data"]["ticket"]["id"]
        if reply["type"] != "error"
        else reply["data"]["details"]["ticket_id"]
    )
    while time.monotonic() < deadline:
        try:
            event = await asyncio.wait_for(client.events.get(), 2)
        except TimeoutError:
            event = {"type": "_check"}
        if event["type"] == "ticket.updated":
            ticket = event["data"]["ticket"]
            if ticket["state"] == "completed":
                stats.completed.add(ticket["id"])
                break
        elif event["type"] in ("_reconnected", "resync", "_check"):
            reply = await client.request("ticket.get")
            if reply["type"] == "error":
                continue  # e.g. a node too busy to answer now: ask again next round
            current = reply["data"].get("ticket")
            if current is None and ticket_id is not None:
                break  # no longer active: finished while we were away (checked in the DB)
    await client.close()


async def run_agent(client: Client, stats: Stats, stop: asyncio.Event) -> None:
    """Ready; accept every offer at once, end it after a short hold, repeat. Offers come
    as events; after a reconnect, a resync, or two idle seconds the agent re-reads its
    state (agent.get) and carries on from there, so stale events never mislead it."""
    await client.open()
    await client.request("agent.state", {"state": "ready"})
    while not stop.is_set():
        try:
            event = await asyncio.wait_for(client.events.get(), 2)
        except TimeoutError:
            event = {"type": "_check"}
        if event["type"] == "offer":
            await _serve(client, event["data"]["ticket"]["id"], stats)
        elif event["type"] in ("_reconnected", "resync", "_check"):
            reply = await client.request("agent.get")
            if reply["type"] == "error":
                continue  # e.g. a node too busy to answer now: ask again next round
            status = reply["data"]
            ticket = status.get("ticket")
            if status["state"] == "offered" and ticket:
                await _serve(client, ticket["id"], stats)
            elif status["state"] == "in_session" and ticket:
                await client.request("session.end", {"ticket_id": ticket["id"]})
                await client.request("wrap_up.done")
            elif status["state"] == "wrap_up":
                await client.request("wrap_up.done")
            elif status["state"] in ("not_ready", "offline"):
                await client.request("agent.state", {"state": "ready"})
    await client.close()


async def _serve(client: Client, ticket_id: int, stats: Stats) -> None:
    accepted = await client.request("offer.accept", {"ticket_id": ticket_id})
    if accepted["type"] == "error":
        return  # expired or withdrawn: the state events say what to do next
    await asyncio.sleep(random.uniform(0.0, 0.02))
    ended = await client.request("session.end", {"ticket_id": ticket_id})
    if ended["type"] == "error":
        stats.errors.append(f"end: {ended['data']['error_id']}")
    await client.request("wrap_up.done")


async def agent_tokens(nodes: list[Node], usernames: list[str]) -> list[str]:
    async with httpx.AsyncClient(timeout=30) as http:
        out = []
        for i, name in enumerate(usernames):
            r = await http.post(
                f"{nodes[i % len(nodes)].url}/api/auth/login",
                json={"username": name, "password": "Agent#2026"},
            )
            r.raise_for_status()
            out.append(r.json()["token"])
        return out
