"""Queue simulation against the real server, compared with Erlang C (issue 3).

    taskset -c 1 .venv/bin/python bench/queue_simulation.py [--customers 1500]
        [--agents 5] [--handle 2.0] [--rho 0.8] [--database-url URL] [--port 8300]

What it does, end to end, against a real ``cloudwindow serve`` over WebSockets:

1. Builds a private database (a fresh SQLite file under /tmp/cwsim/, or a fresh
   PostgreSQL database ``cwsim_<pid>`` created on the server of ``--database-url`` and
   dropped afterwards), loads the demo district (``cloudwindow demo --no-serve``), sets
   the ``social-security`` wrap-up to ``--wrap-up`` (0) seconds, takes that skill away
   from every demo agent, and inserts ``--agents`` agent users holding ONLY that skill
   (their password hash is agent01's, so they log in with the demo password) and
   ``--kiosks`` enrolled kiosks (device credential ``cwd_<id>_<random>``, its SHA-256 in
   ``terminals.credential_hash``). Routing is then one M/M/n queue.
2. Starts the server pinned to ``--server-cpu`` (0) with a short queue tick, logs the
   agents in (POST /api/auth/login), opens one socket per agent and per kiosk
   (per-message deflate off, as the protocol asks).
3. Agents go ready; on ``offer`` they accept at once, hold the session for the
   customer's exponential handle time, then ``session.end`` and ``wrap_up.done`` at once.
   Citizens arrive as a Poisson process; each uses a free kiosk and sends
   ``ticket.take``. The handle time belongs to the customer (drawn with its arrival), so
   the very same arrival times and handle times can be replayed through an ideal FCFS
   M/M/n (common random numbers, below).
4. Wait = kiosk receives ``ticket.updated`` in_session − kiosk sends ``ticket.take``
   (client clock). The first 10 % of customers are warm-up and discarded.

Results: the measured mean wait against Erlang C's Wq = C(n, A)·h/(n − A) at the nominal
h and at h_eff = h + overhead (overhead = agent busy time per session − handle time,
busy time running from the server's offer to the agent's "ready" reply); P(wait > τ)
and the service level at t = h; the offer→accept latency; the accuracy of the
expected-wait estimate shown at arrival (median absolute and relative error over the
customers who waited).

Statistics, honestly: the mean wait of ~1,500 consecutive customers of an M/M/5 queue at
ρ = 0.8 is itself very noisy (the waits are strongly autocorrelated): a perfect server
lands within 10 % of Erlang C in only about one run in five. So the script also
(a) replays the run's own arrival and handle times through an ideal M/M/n (no overhead
at all) — the ratio measured / ideal isolates what the server adds; (b) reports the
control-variate estimate Wq · measured / ideal — the run's figure with this sample's
luck taken out; (c) simulates ``--replications`` ideal runs of the same length to show
the spread a perfect server would have.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import heapq
import itertools
import json
import math
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from cloudwindow.queueing import erlang

ITEM = "440118-GG-0002"  # 社会保障卡补领, skill group social-security, cloud-enabled
GROUP = "social-security"
DEMO_PASSWORD = "Demo@2026"  # noqa: S105 - the demo data's published password
TEMPLATE_USER = "agent01"  # whose argon2 hash the simulated agents reuse
BIN = Path(sys.executable).parent
NAN = float("nan")
FINAL = {"completed", "cancelled", "abandoned", "callback_requested", "expired"}


# ---- records ----------------------------------------------------------------------------


@dataclass
class Customer:
    idx: int
    gap: float  # inter-arrival time before this customer (s)
    handle: float  # its exponential handle time (s)
    target_at: float = NAN  # scheduled arrival (wall clock)
    kiosk: int = -1
    take_at: float = NAN  # ticket.take sent
    created_at: float = NAN  # ticket.created reply received
    ticket_id: int | None = None
    estimate: float | None = None  # first expected_wait_seconds reported (at arrival)
    estimate_missing: bool = False  # the first report carried null
    position: int | None = None  # position reported with that estimate
    in_session_at: float = NAN  # ticket.updated in_session received by the kiosk
    final_at: float = NAN
    final_state: str = ""
    error: str = ""
    # agent side
    agent: int = -1
    agent_ready_at: float = NAN  # when the serving agent had become ready (reply received)
    offer_at: float = NAN  # server stamp of the offer event
    offer_recv_at: float = NAN
    accept_sent_at: float = NAN
    accept_reply_at: float = NAN
    end_sent_at: float = NAN
    ready_reply_at: float = NAN  # wrap_up.done reply: the agent is ready again
    # server side, read from the database after the run
    db_enqueued: float = NAN
    db_offered: float = NAN
    db_answered: float = NAN
    db_ended: float = NAN

    @property
    def wait(self) -> float:
        return self.in_session_at - self.take_at


@dataclass
class Anomalies:
    accept_failed: int = 0
    end_failed: int = 0
    wrap_up_failed: int = 0
    not_ready_events: int = 0
    offers_withdrawn: int = 0
    unknown_ticket_events: int = 0
    take_errors: int = 0
    kiosk_starved: int = 0  # arrivals that found no free kiosk
    closed_sockets: int = 0
    details: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.details) < 30:
            self.details.append(text)


def _error_id(reply: dict[str, Any]) -> str:
    data = reply.get("data") or {}
    details = data.get("details") or {}
    extra = f" {details.get('current')}→{details.get('target')}" if "current" in details else ""
    return f"{reply.get('type')} {data.get('error_id', '')}{extra}"


def server_time(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp).timestamp()


# ---- WebSocket client -------------------------------------------------------------------


class Socket:
    """One /ws connection: hello, a reader task, request/reply matched by ``ref``."""

    def __init__(self, name: str, token: str, on_event: Any, anomalies: Anomalies) -> None:
        self.name = name
        self.token = token
        self.on_event = on_event
        self.anomalies = anomalies
        self.ws: ClientConnection | None = None
        self._refs = itertools.count(1)
        self._pending: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.closing = False

    async def open(self, url: str) -> None:
        self.ws = await connect(
            url, compression=None, ping_interval=None, open_timeout=30, close_timeout=5
        )
        await self.ws.send(json.dumps({"type": "hello", "data": {"token": self.token}}))
        welcome = json.loads(await asyncio.wait_for(self.ws.recv(), timeout=30))
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"{self.name}: no welcome: {welcome}")
        self._tasks = [asyncio.create_task(self._reader()), asyncio.create_task(self._pinger())]

    async def _reader(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                now = time.time()
                msg = json.loads(raw)
                ref = msg.get("ref")
                if ref is not None and str(ref) in self._pending:
                    future = self._pending.pop(str(ref))
                    if not future.done():
                        future.set_result((now, msg))
                    continue
                if msg.get("type") != "pong":
                    self.on_event(now, msg)
        except Exception as exc:  # closed by the server: counted, never silent
            if not self.closing:
                self.anomalies.closed_sockets += 1
                self.anomalies.note(f"{self.name}: socket closed: {exc!r}")
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"{self.name} closed"))

    async def _pinger(self) -> None:
        assert self.ws is not None
        while True:  # cancelled at close; the server drops sockets silent for 60 s
            await asyncio.sleep(15)
            await self.ws.send(json.dumps({"type": "ping"}))

    async def send(self, type_: str, data: dict[str, Any]) -> asyncio.Future[Any]:
        """Send a request; returns the future of its (receive time, reply or error)."""
        assert self.ws is not None
        ref = f"r{next(self._refs)}"
        future: asyncio.Future[tuple[float, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[ref] = future
        await self.ws.send(json.dumps({"type": type_, "data": data, "ref": ref}))
        return future

    async def request(
        self, type_: str, data: dict[str, Any], limit: float = 30
    ) -> tuple[float, dict[str, Any]]:
        future = await self.send(type_, data)
        return await asyncio.wait_for(future, limit)

    async def close(self) -> None:
        self.closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()


# ---- the simulation ---------------------------------------------------------------------


class Simulation:
    def __init__(self, args: argparse.Namespace, customers: list[Customer]) -> None:
        self.args = args
        self.customers = customers
        self.by_ticket: dict[int, Customer] = {}
        self.ticket_known: dict[int, asyncio.Future[Customer]] = {}
        self.anomalies = Anomalies()
        self.free_kiosks: deque[int] = deque()
        self.kiosk_free = asyncio.Event()
        self.kiosk_current: dict[int, Customer | None] = {}
        self.kiosk_sockets: dict[int, Socket] = {}
        self.agent_sockets: dict[int, Socket] = {}
        self.offers: dict[int, asyncio.Queue[tuple[float, dict[str, Any]]]] = {}
        self.agent_ready_at: dict[int, float] = {}
        self.done = asyncio.Event()
        self.finished = 0
        self.stopping = False
        self.agent_state_events: dict[str, int] = {}
        self.probe: Socket | None = None
        self.probe_rtts: list[float] = []

    # kiosks -----------------------------------------------------------------------------

    def _bind(self, customer: Customer, ticket_id: int) -> None:
        customer.ticket_id = ticket_id
        self.by_ticket[ticket_id] = customer
        future = self.ticket_known.setdefault(ticket_id, asyncio.get_running_loop().create_future())
        if not future.done():
            future.set_result(customer)

    def _record_estimate(self, customer: Customer, estimate: Any, position: Any) -> None:
        if customer.estimate is None and not customer.estimate_missing:
            if estimate is None:
                customer.estimate_missing = True
            else:
                customer.estimate = float(estimate)
            customer.position = position

    def kiosk_event(self, kiosk: int, now: float, msg: dict[str, Any]) -> None:
        kind, data = msg.get("type"), msg.get("data") or {}
        current = self.kiosk_current.get(kiosk)
        if kind == "ticket.updated":
            ticket = data["ticket"]
            tid = ticket["id"]
            if current is not None and current.ticket_id is None:
                self._bind(current, tid)  # ticket.updated (queued) precedes the reply
            customer = self.by_ticket.get(tid)
            if customer is None:
                self.anomalies.unknown_ticket_events += 1
                return
            state = ticket["state"]
            if state == "queued":
                self._record_estimate(
                    customer, ticket.get("expected_wait_seconds"), ticket.get("position")
                )
            elif state == "in_session" and math.isnan(customer.in_session_at):
                customer.in_session_at = now
            elif state in FINAL and math.isnan(customer.final_at):
                customer.final_at, customer.final_state = now, state
                self._release_kiosk(kiosk, customer)
        elif kind == "queue.position":
            customer = self.by_ticket.get(int(data.get("ticket_id") or 0))
            if customer is not None:
                self._record_estimate(
                    customer, data.get("expected_wait_seconds"), data.get("position")
                )

    def _release_kiosk(self, kiosk: int, customer: Customer) -> None:
        if self.kiosk_current.get(kiosk) is customer:
            self.kiosk_current[kiosk] = None
            self.free_kiosks.append(kiosk)
            self.kiosk_free.set()
        self.finished += 1
        if self.finished >= len(self.customers):
            self.done.set()

    async def take(self, kiosk: int, customer: Customer) -> None:
        sock = self.kiosk_sockets[kiosk]
        customer.take_at = time.time()
        try:
            now, reply = await sock.request("ticket.take", {"service_item_code": ITEM})
        except Exception as exc:
            customer.error = f"take: {exc!r}"
            self.anomalies.take_errors += 1
            self._release_kiosk(kiosk, customer)
            return
        customer.created_at = now
        if reply.get("type") != "ticket.created":
            customer.error = f"take: {reply.get('data')}"
            self.anomalies.take_errors += 1
            self.anomalies.note(f"take error: {json.dumps(reply.get('data'))[:200]}")
            self._release_kiosk(kiosk, customer)
            return
        ticket = reply["data"]["ticket"]
        if customer.ticket_id is None:
            self._bind(customer, ticket["id"])
        elif customer.ticket_id != ticket["id"]:
            self.anomalies.note(f"kiosk {kiosk}: reply ticket {ticket['id']} != bound")
        self._record_estimate(customer, ticket.get("expected_wait_seconds"), ticket.get("position"))

    # agents -----------------------------------------------------------------------------

    def agent_event(self, agent: int, now: float, msg: dict[str, Any]) -> None:
        kind, data = msg.get("type"), msg.get("data") or {}
        if kind == "offer":
            self.offers[agent].put_nowait((now, msg))
        elif kind == "agent.state":
            state = data.get("state", "")
            key = f"{state}({data.get('reason')})" if data.get("reason") else state
            self.agent_state_events[key] = self.agent_state_events.get(key, 0) + 1
            if state == "not_ready" and not self.stopping:
                self.anomalies.not_ready_events += 1
                self.anomalies.note(f"agent {agent} set not_ready({data.get('reason')})")
                asyncio.get_running_loop().create_task(self._back_to_ready(agent))
        elif kind == "offer.withdrawn":
            self.anomalies.offers_withdrawn += 1

    async def _back_to_ready(self, agent: int) -> None:
        with contextlib.suppress(Exception):
            now, reply = await self.agent_sockets[agent].request("agent.state", {"state": "ready"})
            if reply.get("type") == "agent.status" and reply["data"].get("state") == "ready":
                self.agent_ready_at[agent] = now

    async def agent_loop(self, agent: int) -> None:
        sock = self.agent_sockets[agent]
        queue = self.offers[agent]
        while not self.stopping:
            try:
                recv_at, msg = await asyncio.wait_for(queue.get(), timeout=1.0)
            except TimeoutError:
                continue
            try:
                await self._serve_offer(agent, sock, recv_at, msg)
            except Exception as exc:  # noted, and the agent carries on with the next offer
                self.anomalies.note(f"agent {agent}: {exc!r}")

    async def _serve_offer(
        self, agent: int, sock: Socket, recv_at: float, msg: dict[str, Any]
    ) -> None:
        data = msg["data"]
        tid = data["ticket"]["id"]
        ready_before = self.agent_ready_at.get(agent, NAN)
        accept_sent = time.time()
        now, reply = await sock.request("offer.accept", {"ticket_id": tid})
        if reply.get("type") != "agent.status" or reply["data"].get("state") != "in_session":
            self.anomalies.accept_failed += 1
            self.anomalies.note(f"agent {agent} accept {tid}: {_error_id(reply)}")
            return
        future = self.ticket_known.setdefault(tid, asyncio.get_running_loop().create_future())
        try:
            customer = await asyncio.wait_for(asyncio.shield(future), timeout=10)
        except TimeoutError:
            self.anomalies.note(f"ticket {tid} offered but no kiosk knows it")
            customer = None
        if customer is not None:
            customer.agent = agent
            customer.agent_ready_at = ready_before
            customer.offer_at = server_time(msg["at"])
            customer.offer_recv_at = recv_at
            customer.accept_sent_at = accept_sent
            customer.accept_reply_at = now
        handle = customer.handle if customer is not None else self.args.handle
        await asyncio.sleep(max(0.0, (now + handle) - time.time()))
        end_sent = time.time()
        end_reply_at, reply = await sock.request("session.end", {"ticket_id": tid})
        if reply.get("type") != "agent.status":
            self.anomalies.end_failed += 1
            self.anomalies.note(f"agent {agent} end {tid}: {_error_id(reply)}")
        if (reply.get("data") or {}).get("state") == "ready":  # wrap-up 0: ready at once
            now = end_reply_at
        else:
            now, reply = await sock.request("wrap_up.done", {})
        if reply.get("type") != "agent.status":
            self.anomalies.wrap_up_failed += 1
            self.anomalies.note(f"agent {agent} wrap_up.done: {_error_id(reply)}")
        self.agent_ready_at[agent] = now
        if customer is not None:
            customer.end_sent_at = end_sent
            customer.ready_reply_at = now

    async def probe_loop(self) -> None:
        """Ping the server every 100 ms on its own socket: a ping is answered by the
        gateway without touching the database, so its round trip shows when the server's
        event loop (or the core it is pinned to) stalls, as opposed to the queue itself."""
        assert self.probe is not None
        while not self.stopping:
            sent = time.time()
            try:
                now, _ = await self.probe.request("ping", {}, limit=30)
            except Exception:
                break
            self.probe_rtts.append(now - sent)
            await asyncio.sleep(0.1)

    # the run ----------------------------------------------------------------------------

    async def connect(
        self, ws_url: str, agent_tokens: dict[int, str], kiosk_creds: dict[int, str]
    ) -> None:
        for agent, token in agent_tokens.items():
            sock = Socket(
                f"agent {agent}",
                token,
                lambda now, msg, a=agent: self.agent_event(a, now, msg),
                self.anomalies,
            )
            await sock.open(ws_url)
            self.agent_sockets[agent] = sock
            self.offers[agent] = asyncio.Queue()
        kiosks = list(kiosk_creds.items())
        probe_id, probe_cred = kiosks.pop()
        self.probe = Socket(f"probe {probe_id}", probe_cred, lambda now, msg: None, self.anomalies)
        await self.probe.open(ws_url)
        for start in range(0, len(kiosks), 25):  # 25 hellos at a time
            batch = kiosks[start : start + 25]
            socks = [
                Socket(
                    f"kiosk {k}",
                    cred,
                    lambda now, msg, k=k: self.kiosk_event(k, now, msg),
                    self.anomalies,
                )
                for k, cred in batch
            ]
            await asyncio.gather(*(s.open(ws_url) for s in socks))
            for (k, _), sock in zip(batch, socks, strict=True):
                self.kiosk_sockets[k] = sock
                self.kiosk_current[k] = None
                self.free_kiosks.append(k)

    async def run(self) -> dict[str, float]:
        # Agents ready, then arrivals.
        for agent, sock in self.agent_sockets.items():
            now, reply = await sock.request("agent.state", {"state": "ready"})
            if reply["data"].get("state") != "ready":
                raise RuntimeError(f"agent {agent} could not go ready: {reply}")
            self.agent_ready_at[agent] = now
        workers = [asyncio.create_task(self.agent_loop(a)) for a in self.agent_sockets]
        workers.append(asyncio.create_task(self.probe_loop()))
        await asyncio.sleep(0.5)
        takes: list[asyncio.Task[None]] = []
        start = time.time() + 0.2
        target = start
        lateness: list[float] = []
        for customer in self.customers:
            target += customer.gap
            customer.target_at = target
            delay = target - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.free_kiosks:
                self.anomalies.kiosk_starved += 1
                for _ in range(600):  # bounded: at most 60 s without a free kiosk
                    self.kiosk_free.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.kiosk_free.wait(), timeout=0.1)
                    if self.free_kiosks:
                        break
                else:
                    raise RuntimeError("no kiosk became free for 60 s")
            kiosk = self.free_kiosks.popleft()
            self.kiosk_current[kiosk] = customer
            customer.kiosk = kiosk
            lateness.append(time.time() - target)
            takes.append(asyncio.create_task(self.take(kiosk, customer)))
        last_arrival = time.time()
        # Drain: every ticket served and completed, bounded.
        drain_limit = 120.0 + 20 * self.args.handle
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout=drain_limit)
        self.stopping = True
        await asyncio.gather(*takes, return_exceptions=True)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for sock in self.agent_sockets.values():
            with contextlib.suppress(Exception):
                await sock.request("agent.state", {"state": "offline"}, limit=5)
        for sock in [*self.agent_sockets.values(), *self.kiosk_sockets.values()]:
            await sock.close()
        if self.probe is not None:
            await self.probe.close()
        return {
            "start": start,
            "last_arrival": last_arrival,
            "lateness_mean": statistics.fmean(lateness),
            "lateness_max": max(lateness),
        }


# ---- database and server setup ----------------------------------------------------------


@dataclass
class Backend:
    url: str  # what the server uses
    label: str
    workdir: Path
    drop: Any = None  # coroutine function dropping a PostgreSQL database


async def make_backend(args: argparse.Namespace) -> Backend:
    from sqlalchemy.engine import make_url

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    workdir = Path(args.workdir) / f"run-{stamp}-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=False)
    if args.database_url is None or args.database_url.startswith("sqlite"):
        if args.database_url is None:
            path = workdir / "cw.db"
            url = f"sqlite+aiosqlite:///{path}"
        else:
            url = args.database_url
            path = Path(make_url(url).database or "")
            if path.exists():
                raise SystemExit(f"{path} exists: give a new file (the run needs a fresh DB)")
        return Backend(url, "SQLite", workdir)
    import asyncpg  # type: ignore[import-untyped]

    base = make_url(args.database_url)
    name = f"cwsim_{os.getpid()}_{stamp.replace('-', '_')}"
    admin_dsn = (
        base.set(drivername="postgresql", database=base.database or "postgres")
    ).render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()

    async def drop() -> None:
        c = await asyncpg.connect(admin_dsn)
        try:
            await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await c.close()

    url = base.set(database=name).render_as_string(hide_password=False)
    return Backend(url, f"PostgreSQL {version}", workdir, drop)


def server_env(args: argparse.Namespace, backend: Backend) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CLOUDWINDOW_DATABASE_URL=backend.url,
        CLOUDWINDOW_DATA_DIR=str(backend.workdir / "data"),
        CLOUDWINDOW_LOG_LEVEL="WARNING",
        CLOUDWINDOW_QUEUE_TICK_SECONDS=str(args.tick),
        CLOUDWINDOW_NODE_NAME="sim-node",
        # All simulated kiosks stand at one site: the video admission would cap the calls
        # there; this measures the queue against Erlang C.
        CLOUDWINDOW_MEDIA_ADMISSION_ENABLED="false",
    )
    return env


async def prepare_database(
    args: argparse.Namespace, backend: Backend
) -> tuple[list[str], dict[str, str]]:
    """Demo data, then the simulation's agents and kiosks; returns usernames, credentials."""
    from sqlalchemy import delete, func, select, update

    from cloudwindow.accounts.models import AgentSkill, User
    from cloudwindow.catalog.models import ServiceItem, SkillGroup
    from cloudwindow.db import Database, utcnow
    from cloudwindow.fleet.models import Site, Terminal
    from cloudwindow.queueing.models import AgentStatus, Ticket

    out = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "cloudwindow"), "demo", "--no-serve"],
        env=server_env(args, backend),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"cloudwindow demo failed:\n{out.stdout}\n{out.stderr}")
    db = Database(backend.url)
    usernames = [f"sim-agent-{i:02d}" for i in range(1, args.agents + 1)]
    creds: dict[str, str] = {}
    try:
        async with db.transaction() as s:
            item = await s.get(ServiceItem, ITEM)
            if (
                item is None
                or not (item.active and item.cloud_enabled)
                or item.skill_group_code != GROUP
            ):
                raise SystemExit(f"{ITEM} is not an active cloud item of {GROUP}")
            await s.execute(
                update(SkillGroup)
                .where(SkillGroup.code == GROUP)
                .values(wrap_up_seconds=args.wrap_up)
            )
            # Nobody else serves the group, and no other agent is ready or busy.
            await s.execute(delete(AgentSkill).where(AgentSkill.skill_group_code == GROUP))
            await s.execute(update(AgentStatus).values(state="offline", reason="", ticket_id=None))
            # The demo district holds the finished tickets of its sample cases; nothing
            # may still be waiting or served.
            live = Ticket.state.in_(["queued", "offered", "in_session"])
            if await s.scalar(select(func.count()).select_from(Ticket).where(live)):
                raise SystemExit("the fresh database already holds live tickets")
            template = await s.scalar(
                select(User.password_hash).where(User.username == TEMPLATE_USER)
            )
            office = await s.scalar(select(Site.id).where(Site.type == "agent_office").limit(1))
            hall = await s.scalar(
                select(Site.id).where(Site.type == "service_hall").order_by(Site.id).limit(1)
            )
            users = [
                User(
                    username=name,
                    display_name=f"仿真坐席 {name[-2:]}",
                    password_hash=template,
                    roles=["agent"],
                    home_site_id=office,
                    languages=["zh-CN"],
                    active=True,
                )
                for name in usernames
            ]
            s.add_all(users)
            await s.flush()
            s.add_all(
                AgentSkill(user_id=u.id, skill_group_code=GROUP, proficiency=3) for u in users
            )
            terminals = [
                Terminal(
                    serial_number=f"SIM-{i:04d}",
                    name=f"仿真云窗口 {i:04d}",
                    model="basic",
                    site_id=hall,
                    peripherals=[],
                    status="active",
                    enrolled_at=utcnow(),
                    active=True,
                )
                for i in range(1, args.kiosks + 2)  # the last one is the ping probe
            ]
            s.add_all(terminals)
            await s.flush()
            for t in terminals:
                credential = f"cwd_{t.id}_{secrets.token_urlsafe(32)}"
                t.credential_hash = hashlib.sha256(credential.encode()).hexdigest()
                creds[str(t.id)] = credential
            holders = await s.scalar(
                select(func.count())
                .select_from(AgentSkill)
                .where(AgentSkill.skill_group_code == GROUP)
            )
            assert holders == args.agents
    finally:
        await db.dispose()
    return usernames, creds


async def read_server_timestamps(backend: Backend, sim: Simulation) -> dict[str, Any]:
    from sqlalchemy import func, select

    from cloudwindow.accounts.models import User
    from cloudwindow.db import Database
    from cloudwindow.queueing.models import AgentStateLog, Ticket, TicketLog

    db = Database(backend.url)
    try:
        async with db.read() as s:
            for t in await s.scalars(select(Ticket).where(Ticket.id.in_(list(sim.by_ticket)))):
                c = sim.by_ticket.get(t.id)
                if c is None:
                    continue
                c.db_enqueued = t.enqueued_at.timestamp()
                c.db_offered = t.offered_at.timestamp() if t.offered_at else NAN
                c.db_answered = t.answered_at.timestamp() if t.answered_at else NAN
                c.db_ended = t.ended_at.timestamp() if t.ended_at else NAN
            ours = list(sim.by_ticket)  # the run's tickets, not the demo's finished ones
            states = dict(
                (
                    await s.execute(
                        select(Ticket.state, func.count())
                        .where(Ticket.id.in_(ours))
                        .group_by(Ticket.state)
                    )
                ).all()
            )
            # Offers that were not accepted (rang out / declined): ticket went back to queue.
            requeued = await s.scalar(
                select(func.count())
                .select_from(TicketLog)
                .where(
                    TicketLog.from_state == "offered",
                    TicketLog.to_state == "queued",
                    TicketLog.ticket_id.in_(ours),
                )
            )
            # Two rows leaving the same state of the same agent at the same instant: two
            # transactions both read that state and both moved the agent (a lost update).
            sim_agents = select(User.id).where(User.username.like("sim-agent-%"))
            dup = (
                select(AgentStateLog.user_id)
                .where(AgentStateLog.user_id.in_(sim_agents))
                .group_by(AgentStateLog.user_id, AgentStateLog.state, AgentStateLog.started_at)
                .having(func.count() > 1)
            )
            doubles = await s.scalar(select(func.count()).select_from(dup.subquery()))
    finally:
        await db.dispose()
    return {
        "ticket_states": states,
        "offers_requeued": int(requeued or 0),
        "double_transitions": int(doubles or 0),
    }


class Server:
    def __init__(self, args: argparse.Namespace, backend: Backend) -> None:
        self.args = args
        self.backend = backend
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = backend.workdir / "server.log"
        self.base = f"http://127.0.0.1:{args.port}"

    def start(self) -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{self.base}/healthz", timeout=1)
            raise SystemExit(f"port {self.args.port} already serves something: pick --port")
        cmd = [str(BIN / "cloudwindow"), "serve", "--port", str(self.args.port)]
        if self.args.server_cpu >= 0 and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(self.args.server_cpu), *cmd]
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, env=server_env(self.args, self.backend), stdout=log, stderr=subprocess.STDOUT
        )
        for _ in range(300):  # up to 30 s
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise SystemExit("server did not answer /healthz within 30 s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_problems(self) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [ln for ln in lines if '"error"' in ln or "Traceback" in ln or "ERROR" in ln]


async def login(base: str, usernames: list[str]) -> list[str]:
    tokens = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for name in usernames:
            r = await client.post(
                "/api/auth/login", json={"username": name, "password": DEMO_PASSWORD}
            )
            r.raise_for_status()
            tokens.append(r.json()["token"])
    return tokens


# ---- analysis ---------------------------------------------------------------------------


def fcfs_waits(arrivals: list[float], services: list[float], servers: int) -> list[float]:
    """Waits of an ideal FCFS multi-server queue (Kiefer–Wolfowitz): the customer takes
    the earliest free server; servers are identical, so which one does not matter."""
    free = [arrivals[0]] * servers if arrivals else []
    waits = []
    for a, s in zip(arrivals, services, strict=True):
        f = heapq.heappop(free)
        start = max(a, f)
        waits.append(start - a)
        heapq.heappush(free, start + s)
    return waits


def ideal_spread(
    n: int, lam: float, h: float, warm: int, measured: int, reps: int, seed: int
) -> list[float]:
    """Mean wait / Erlang C Wq of ``reps`` ideal M/M/n runs of the same length."""
    wq = erlang.average_speed_of_answer(lam, h, n)
    rng = random.Random(seed)
    ratios = []
    for _ in range(reps):
        t, arr, svc = 0.0, [], []
        for _ in range(warm + measured):
            t += rng.expovariate(lam)
            arr.append(t)
            svc.append(rng.expovariate(1 / h))
        waits = fcfs_waits(arr, svc, n)[warm:]
        ratios.append(statistics.fmean(waits) / wq)
    return sorted(ratios)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return NAN
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def batch_ci(values: list[float], batches: int = 20) -> float:
    """Half-width of a 95 % confidence interval of the mean by batch means."""
    size = len(values) // batches
    if size < 2:
        return NAN
    means = [statistics.fmean(values[i * size : (i + 1) * size]) for i in range(batches)]
    return 2.093 * statistics.stdev(means) / math.sqrt(batches)  # t(0.975, 19)


def code_version() -> str:
    """The code the server runs: commit, uncommitted src files, digest of src/*.py."""
    root = Path(__file__).resolve().parents[1]
    src = root / "src" / "cloudwindow"
    digest = hashlib.sha256()
    for path in sorted(src.rglob("*.py")):
        digest.update(str(path.relative_to(src)).encode() + b"\0" + path.read_bytes())
    commit, dirty = "?", []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    changed = [line[3:] for line in dirty if line.strip()]
    suffix = f" + {len(changed)} uncommitted src files" if changed else ""
    return f"commit {commit}{suffix}, src digest {digest.hexdigest()[:12]}"


def machine() -> dict[str, str]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    pinned = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {
        "host": platform.node(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "simulator cores": ",".join(map(str, pinned)) or "?",
        "python": platform.python_version(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else NAN


def accounting_replay(customers: list[Customer], servers: int) -> dict[int, float]:
    """Replay the run through FCFS n servers using each session's MEASURED pieces:
    arrival at the server (enqueued), the lag from "agent free and ticket there" to the
    in_session reply (matcher + offer + accept), the agent's time from there until it is
    ready again (hold + session.end + wrap_up.done), and the kiosk's notification skew.
    If the router is FCFS and loses no agent time beyond these pieces, the replayed waits
    equal the measured ones; a gap means agents sat idle (or tickets were overtaken)."""
    free = [-math.inf] * servers
    out: dict[int, float] = {}
    for c in sorted(customers, key=lambda c: (c.db_enqueued, c.idx)):
        pieces = (c.db_enqueued, c.agent_ready_at, c.accept_reply_at, c.ready_reply_at)
        if any(math.isnan(x) for x in pieces) or math.isnan(c.in_session_at):
            continue
        pre = c.accept_reply_at - max(c.agent_ready_at, c.db_enqueued)
        post = c.ready_reply_at - c.accept_reply_at
        start = max(heapq.heappop(free), c.db_enqueued)
        in_session = start + pre
        out[c.idx] = in_session + (c.in_session_at - c.accept_reply_at) - c.take_at
        heapq.heappush(free, in_session + post)
    return out


def analyse(
    args: argparse.Namespace,
    sim: Simulation,
    run_info: dict[str, float],
    server_info: dict[str, Any],
) -> dict[str, Any]:
    n, h = args.agents, args.handle
    lam = args.rho * n / h
    warm = round(len(sim.customers) * args.warmup)
    everyone = sim.customers
    measured = everyone[warm:]
    served = [c for c in measured if not math.isnan(c.in_session_at)]
    waits = [c.wait for c in served]
    res: dict[str, Any] = {
        "warmup": warm,
        "measured": len(measured),
        "lost": len(measured) - len(served),
    }

    # Realised arrival rate and handle time over the measured window.
    takes = [c.take_at for c in measured]
    lam_hat = (len(takes) - 1) / (takes[-1] - takes[0])
    h_hat = statistics.fmean(c.handle for c in measured)
    res.update(lam=lam, lam_hat=lam_hat, h_hat=h_hat, rho_hat=lam_hat * h_hat / n)

    # Per session, from the serving agent's side (offer_at is the server's stamp).
    sess = [
        c
        for c in served
        if not any(math.isnan(x) for x in (c.ready_reply_at, c.agent_ready_at, c.db_enqueued))
    ]
    overhead = [c.ready_reply_at - c.offer_at - c.handle for c in sess]  # busy - handle
    offer_accept = [c.accept_reply_at - c.offer_at for c in sess]
    # Matcher lag: from "an agent is free and the ticket is there" to the offer.
    dispatch = [c.offer_at - max(c.agent_ready_at, c.db_enqueued) for c in sess]
    # The part of it that is agent time lost: the ticket was already waiting when the
    # agent became free, so the agent sat ready with work in the queue.
    idle_lag = [
        c.offer_at - c.agent_ready_at if c.db_enqueued < c.agent_ready_at else 0.0 for c in sess
    ]
    lost = [o + i for o, i in zip(overhead, idle_lag, strict=True)]
    found_free = [c for c in sess if c.db_enqueued >= c.agent_ready_at]
    res.update(
        sessions=len(sess),
        overhead=_mean(overhead),
        overhead_p50=pct(overhead, 0.5),
        overhead_p99=pct(overhead, 0.99),
        offer_accept=_mean(offer_accept),
        offer_accept_p50=pct(offer_accept, 0.5),
        offer_accept_p99=pct(offer_accept, 0.99),
        offer_delivery=_mean([c.offer_recv_at - c.offer_at for c in sess]),
        accept_rtt=_mean([c.accept_reply_at - c.accept_sent_at for c in sess]),
        hold_extra=_mean([c.end_sent_at - c.accept_reply_at - c.handle for c in sess]),
        end_to_ready=_mean([c.ready_reply_at - c.end_sent_at for c in sess]),
        end_to_ready_p50=pct([c.ready_reply_at - c.end_sent_at for c in sess], 0.5),
        dispatch=_mean(dispatch),
        dispatch_p50=pct(dispatch, 0.5),
        dispatch_p99=pct(dispatch, 0.99),
        idle_lag=_mean(idle_lag),
        lost_time=_mean(lost),
        lost_p50=pct(lost, 0.5),
        take_latency=_mean([c.db_enqueued - c.take_at for c in sess]),
        floor=_mean([c.wait for c in found_free]),
        floor_p50=pct([c.wait for c in found_free], 0.5),
        found_free=len(found_free),
    )
    # Server event-loop responsiveness (ping probe), over the whole run.
    rtts = sim.probe_rtts
    res.update(
        probe_n=len(rtts),
        probe_p50=pct(rtts, 0.5),
        probe_p99=pct(rtts, 0.99),
        probe_max=max(rtts) if rtts else NAN,
        probe_slow=sum(r > 0.25 for r in rtts),
    )

    # Mean wait against Erlang C, and against replays of this very run.
    mean_wait = statistics.fmean(waits)
    h_eff = h + res["lost_time"]
    ideal_all = fcfs_waits([c.take_at for c in everyone], [c.handle for c in everyone], n)
    ideal = [ideal_all[c.idx] for c in served]
    replay = accounting_replay(everyone, n)
    replayed = [(c.wait, replay[c.idx]) for c in served if c.idx in replay]
    server_waits = [c.db_answered - c.db_enqueued for c in served if not math.isnan(c.db_answered)]
    wq = erlang.average_speed_of_answer(lam, h, n)
    wq_eff = erlang.average_speed_of_answer(lam, h_eff, n)
    a, a_eff = lam * h, lam * h_eff
    c_eff = erlang.erlang_c(a_eff, n) if a_eff < n else 1.0
    floor = res["floor"] if not math.isnan(res["floor"]) else 0.0
    wq_real = erlang.average_speed_of_answer(lam_hat, h_hat, n)
    wq_real_eff = erlang.average_speed_of_answer(lam_hat, h_hat + res["lost_time"], n)
    ideal_mean = statistics.fmean(ideal)
    res.update(
        mean_wait=mean_wait,
        ci95=batch_ci(waits),
        median_wait=pct(waits, 0.5),
        p90_wait=pct(waits, 0.9),
        max_wait=max(waits),
        server_mean_wait=_mean(server_waits),
        h_eff=h_eff,
        rho_eff=lam * h_eff / n,
        wq=wq,
        wq_eff=wq_eff,
        wq_eff_floor=wq_eff + (1 - c_eff) * floor,
        wq_real=wq_real,
        wq_real_eff=wq_real_eff,
        ideal_mean=ideal_mean,
        replay_mean=_mean([r for _, r in replayed]),
        replay_measured=_mean([w for w, _ in replayed]),
        replay_n=len(replayed),
        cv_estimate=mean_wait * wq / ideal_mean if ideal_mean > 0 else NAN,
    )
    # P(wait > tau) and the service level at t = h.
    tau = args.wait_threshold
    res.update(
        tau=tau,
        p_wait=sum(w > tau for w in waits) / len(waits),
        p_wait_ideal=sum(w > tau for w in ideal) / len(ideal),
        p_wait_c=erlang.erlang_c(a, n) * math.exp(-(n - a) * tau / h),
        p_wait_c_eff=c_eff * math.exp(-(n - a_eff) * tau / h_eff) if a_eff < n else 1.0,
        erlang_c=erlang.erlang_c(a, n),
        erlang_c_eff=c_eff,
        sl=sum(w <= h for w in waits) / len(waits),
        sl_ideal=sum(w <= h for w in ideal) / len(ideal),
        sl_c=erlang.service_level(lam, h, n, h),
        sl_c_eff=erlang.service_level(lam, h_eff, n, h),
    )
    # The expected wait shown at arrival, over the customers who waited (> tau).
    waited = [c for c in served if c.wait > tau and c.estimate is not None]
    err = [(c.estimate or 0.0) - c.wait for c in waited]
    ref = [c.position * h / n - c.wait for c in waited if c.position is not None]
    ref_w = [c.wait for c in waited if c.position is not None]
    res.update(
        est_n=len(waited),
        est_missing=sum(c.estimate_missing for c in served),
        est_abs=pct([abs(e) for e in err], 0.5),
        est_rel=pct([abs(e) / c.wait for e, c in zip(err, waited, strict=True)], 0.5),
        est_bias=pct(err, 0.5),
        est_mean_signed=_mean(err),
        est_all_abs=pct(
            [abs((c.estimate or 0.0) - c.wait) for c in served if c.estimate is not None], 0.5
        ),
        ref_abs=pct([abs(e) for e in ref], 0.5),
        ref_rel=pct([abs(e) / w for e, w in zip(ref, ref_w, strict=True)], 0.5),
    )
    table: dict[float, list[float]] = {}
    for c in served:
        if c.estimate is not None:
            table.setdefault(c.estimate, []).append(c.wait)
    res["calibration"] = {
        k: (len(v), statistics.fmean(v), pct(v, 0.5)) for k, v in sorted(table.items())
    }
    res.update(run_info)
    res.update(server_info)
    return res


def report(
    args: argparse.Namespace,
    backend: Backend,
    res: dict[str, Any],
    sim: Simulation,
    spread: list[float],
    problems: list[str],
    started: dt.datetime,
    info: dict[str, str],
) -> str:
    n, h = args.agents, args.handle

    def vs(x: float, ref: float) -> str:
        return f"{(x / ref - 1) * 100:+.1f} %"

    def ms(x: float) -> str:
        return f"{x * 1000:.1f} ms"

    def verdict(x: float, ref: float) -> str:
        return "within 10 %" if abs(x / ref - 1) <= 0.10 else "NOT within 10 %"

    an = sim.anomalies
    within = sum(abs(x - 1) <= 0.1 for x in spread) / len(spread) * 100 if spread else NAN
    lines = [
        "Queue simulation against Erlang C (bench/queue_simulation.py)",
        f"date        {started:%Y-%m-%d %H:%M} UTC; the run took {res['wall']:.0f} s",
        f"machine     {info['host']} · {info['cores']} cores · {info['cpu']} · Python "
        f"{info['python']} · simulator on core {info['simulator cores']}, server on core "
        f"{args.server_cpu} · load average at start {info['load']}",
        f"code        {info.get('code', '?')} (at server start)",
        f"database    {backend.label} · CLOUDWINDOW_QUEUE_TICK_SECONDS={args.tick} · "
        f"wrap_up_seconds={args.wrap_up}",
        f"model       M/M/{n}: λ = {res['lam']:.3f}/s, h = {h:g} s exponential, "
        f"A = {res['lam'] * h:.2f} erl, ρ = {args.rho:.2f}; seed {args.seed}",
        f"time scale  h = {h:g} s stands for a 5-minute session ({300 / h:.0f}× faster than "
        "real); estimates are shown in whole seconds",
        f"customers   {len(sim.customers)} = {res['warmup']} warm-up + {res['measured']} "
        f"measured ({res['lost']} measured not served); {args.kiosks} kiosk sockets, "
        f"{n} agent sockets, 1 ping probe",
        f"realised    λ̂ = {res['lam_hat']:.3f}/s, ĥ = {res['h_hat']:.3f} s, ρ̂ = "
        f"{res['rho_hat']:.3f}; arrivals late by {ms(res['lateness_mean'])} mean, "
        f"{ms(res['lateness_max'])} max",
        "",
        f"Overhead per session, {res['sessions']} measured sessions (means unless noted)",
        f"  offer → accept confirmed      {ms(res['offer_accept']):>9}  (p50 "
        f"{ms(res['offer_accept_p50'])}, p99 {ms(res['offer_accept_p99'])}; delivery "
        f"{ms(res['offer_delivery'])} + accept round trip {ms(res['accept_rtt'])})",
        f"  hold beyond the handle time   {ms(res['hold_extra']):>9}  (the agent's timer)",
        f"  session.end → ready again     {ms(res['end_to_ready']):>9}  (p50 "
        f"{ms(res['end_to_ready_p50'])}; session.end + wrap_up.done round trips)",
        f"  busy − handle = overhead      {ms(res['overhead']):>9}  (p50 "
        f"{ms(res['overhead_p50'])}, p99 {ms(res['overhead_p99'])}; busy = offer → ready)",
        f"  + agent ready, ticket waiting {ms(res['idle_lag']):>9}  (matcher lag charged to "
        f"agents; all dispatch lags: p50 {ms(res['dispatch_p50'])}, p99 "
        f"{ms(res['dispatch_p99'])})",
        f"  = agent time lost per session {ms(res['lost_time']):>9}  (p50 "
        f"{ms(res['lost_p50'])}) → h_eff = {res['h_eff']:.4f} s (+"
        f"{res['lost_time'] / h * 100:.2f} %), ρ_eff = {res['rho_eff']:.3f}",
        f"  take sent → ticket enqueued   {ms(res['take_latency']):>9}; wait of the "
        f"{res['found_free']} who found their agent free: {ms(res['floor'])} mean, "
        f"{ms(res['floor_p50'])} p50 (the floor)",
        f"  server ping probe (no DB)     p50 {ms(res['probe_p50'])}, p99 "
        f"{ms(res['probe_p99'])}, max {ms(res['probe_max'])}; {res['probe_slow']} of "
        f"{res['probe_n']} pings > 250 ms (event-loop/core stalls)",
        "",
        f"Mean wait, take sent → in_session received, {len(served_of(sim, res))} measured "
        "customers",
        f"  measured                      {res['mean_wait']:.3f} s ± {res['ci95']:.3f} (95 %, "
        f"batch means) · median {res['median_wait']:.3f} · p90 {res['p90_wait']:.3f} · max "
        f"{res['max_wait']:.2f}",
        f"  (server side: answered − enqueued {res['server_mean_wait']:.3f} s)",
        f"  Erlang C Wq, nominal h        {res['wq']:.3f} s  → measured "
        f"{vs(res['mean_wait'], res['wq'])}  RAW: {verdict(res['mean_wait'], res['wq'])}",
        f"  Erlang C Wq, h_eff            {res['wq_eff']:.3f} s  → measured "
        f"{vs(res['mean_wait'], res['wq_eff'])}  CORRECTED: "
        f"{verdict(res['mean_wait'], res['wq_eff'])}",
        f"    + the floor for the 1 − C not queued: {res['wq_eff_floor']:.3f} s → measured "
        f"{vs(res['mean_wait'], res['wq_eff_floor'])}",
        f"  Erlang C at realised λ̂, ĥ     {res['wq_real']:.3f} s  → measured "
        f"{vs(res['mean_wait'], res['wq_real'])}  (with h_eff: {res['wq_real_eff']:.3f} s, "
        f"{vs(res['mean_wait'], res['wq_real_eff'])})",
        "Same arrival and handle times replayed (common random numbers):",
        f"  ideal M/M/{n}, zero overhead   {res['ideal_mean']:.3f} s  → measured "
        f"{vs(res['mean_wait'], res['ideal_mean'])}  (what the server adds)",
        f"  control variate Wq·meas/ideal {res['cv_estimate']:.3f} s  (this run with its "
        "sample's luck removed):",
        f"    vs Erlang C, nominal h      {vs(res['cv_estimate'], res['wq'])}  "
        f"{verdict(res['cv_estimate'], res['wq'])}",
        f"    vs Erlang C, h_eff          {vs(res['cv_estimate'], res['wq_eff'])}  "
        f"{verdict(res['cv_estimate'], res['wq_eff'])} (+ floor: "
        f"{vs(res['cv_estimate'], res['wq_eff_floor'])})",
        f"  accounting replay             {res['replay_mean']:.3f} s vs measured "
        f"{res['replay_measured']:.3f} s over {res['replay_n']}: "
        f"{vs(res['replay_measured'], res['replay_mean'])} (0 = FCFS, no unlisted idle time)",
        f"  spread of a PERFECT M/M/{n} run of this length ({len(spread)} simulated runs): "
        f"mean/Wq p5 {pct(spread, 0.05):.2f}, p50 {pct(spread, 0.5):.2f}, p95 "
        f"{pct(spread, 0.95):.2f}; within ±10 % of Wq in {within:.0f} % of runs",
        "",
        f"P(wait > τ = {res['tau']:g} s)  measured {res['p_wait']:.3f} · ideal replay "
        f"{res['p_wait_ideal']:.3f} · Erlang C {res['p_wait_c']:.3f} (h_eff "
        f"{res['p_wait_c_eff']:.3f}); C(n, A) = P(W > 0) = {res['erlang_c']:.3f} (h_eff "
        f"{res['erlang_c_eff']:.3f})",
        f"P(wait ≤ h = {h:g} s)   measured {res['sl']:.3f} · ideal replay "
        f"{res['sl_ideal']:.3f} · Erlang C {res['sl_c']:.3f} (h_eff {res['sl_c_eff']:.3f})",
        "",
        f"Expected wait shown at arrival vs actual, {res['est_n']} customers who waited > "
        f"τ (estimate null for {res['est_missing']}):",
        f"  median |error| {res['est_abs']:.3f} s · median relative error "
        f"{res['est_rel'] * 100:.0f} % · median signed (shown − actual) "
        f"{res['est_bias']:+.3f} s, mean {res['est_mean_signed']:+.3f} s; all served "
        f"customers: median |error| {res['est_all_abs']:.3f} s",
        f"  reference, position·h/n unrounded with the true h: median |error| "
        f"{res['ref_abs']:.3f} s, relative {res['ref_rel'] * 100:.0f} %",
        "  actual wait by shown estimate: "
        + "; ".join(
            f"{k:g} s: n={v[0]}, mean {v[1]:.2f}, median {v[2]:.2f}"
            for k, v in list(res["calibration"].items())[:7]
        ),
        "",
        f"Anomalies: accept failed {an.accept_failed}, session.end failed {an.end_failed}, "
        f"wrap_up.done failed {an.wrap_up_failed}, agents set not_ready "
        f"{an.not_ready_events}, offers withdrawn {an.offers_withdrawn}, offers back to "
        f"queue {res['offers_requeued']}, take errors {an.take_errors}, arrivals without a "
        f"free kiosk {an.kiosk_starved}, sockets closed {an.closed_sockets}, server log "
        f"errors {len(problems)}",
        f"  double transitions (two writers moved the same agent out of one state): "
        f"{res['double_transitions']}",
        f"  ticket states at the end: {res['ticket_states']}",
        f"  agent.state events: {dict(sorted(sim.agent_state_events.items()))}",
    ]
    lines += [f"  · {d}" for d in an.details[:10]]
    lines += [f"  server: {p[:200]}" for p in problems[:5]]
    return "\n".join(lines)


def served_of(sim: Simulation, res: dict[str, Any]) -> list[Customer]:
    return [c for c in sim.customers[res["warmup"] :] if not math.isnan(c.in_session_at)]


# ---- main -------------------------------------------------------------------------------


def build_customers(args: argparse.Namespace) -> list[Customer]:
    lam = args.rho * args.agents / args.handle
    total = math.ceil(args.customers / (1 - args.warmup))
    rng = random.Random(args.seed)
    return [
        Customer(i, rng.expovariate(lam), rng.expovariate(1 / args.handle)) for i in range(total)
    ]


async def main_async(args: argparse.Namespace) -> int:
    started = dt.datetime.now(dt.UTC)
    info = machine()
    backend = await make_backend(args)
    server = Server(args, backend)
    customers = build_customers(args)
    sim = Simulation(args, customers)
    t0 = time.time()
    try:
        usernames, creds = await prepare_database(args, backend)
        info["code"] = await asyncio.to_thread(code_version)
        server.start()
        tokens = await login(server.base, usernames)
        ws_url = f"ws://127.0.0.1:{args.port}/ws"
        await sim.connect(
            ws_url,
            {i: tok for i, tok in enumerate(tokens)},
            {int(k): v for k, v in creds.items()},
        )
        print(
            f"connected {len(tokens)} agents and {len(creds) - 1} kiosks; "
            f"{len(customers)} customers, expected ~"
            f"{sum(c.gap for c in customers):.0f} s of arrivals",
            flush=True,
        )
        run_info = await sim.run()
        server.stop()
        server_info = await read_server_timestamps(backend, sim)
    finally:
        server.stop()
        if backend.drop is not None and not args.keep:
            await backend.drop()
    run_info["wall"] = time.time() - t0
    res = analyse(args, sim, run_info, server_info)
    warm = res["warmup"]
    spread = ideal_spread(
        args.agents,
        res["lam"],
        args.handle,
        warm,
        len(customers) - warm,
        args.replications,
        args.seed + 1,
    )
    text = report(args, backend, res, sim, spread, server.log_problems(), started, info)
    print(text, flush=True)
    if args.json:
        payload = {"args": vars(args), "machine": info, "database": backend.label, **res}
        await asyncio.to_thread(
            Path(args.json).write_text, json.dumps(payload, default=str, indent=1)
        )
    if not args.keep and (backend.drop is not None or args.database_url is None):
        shutil.rmtree(backend.workdir, ignore_errors=True)  # our own scratch directory
    else:
        print(f"kept {backend.workdir}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=5, help="n agents (servers)")
    p.add_argument("--handle", type=float, default=2.0, help="mean handle time h, seconds")
    p.add_argument("--rho", type=float, default=0.8, help="utilisation λh/n (sets λ)")
    p.add_argument("--customers", type=int, default=1500, help="measured customers")
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of all discarded")
    p.add_argument("--kiosks", type=int, default=300, help="kiosk identities (sockets)")
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument(
        "--database-url",
        default=None,
        help="default: fresh SQLite under --workdir; postgresql+asyncpg://user@host:port/db "
        "creates (and drops) a database cwsim_<pid>_<time> on that server",
    )
    p.add_argument("--workdir", default="/tmp/cwsim")  # noqa: S108 - private scratch
    p.add_argument("--port", type=int, default=8300)
    p.add_argument("--server-cpu", type=int, default=0, help="taskset core; -1: no pinning")
    p.add_argument("--tick", type=float, default=0.2, help="CLOUDWINDOW_QUEUE_TICK_SECONDS")
    p.add_argument("--wrap-up", type=int, default=0, help="skill group wrap_up_seconds")
    p.add_argument("--wait-threshold", type=float, default=0.1, help="τ for P(wait > τ), s")
    p.add_argument("--replications", type=int, default=400, help="ideal runs for the spread")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    p.add_argument("--keep", action="store_true", help="keep the database and server log")
    args = p.parse_args()
    if not (0 < args.rho < 1 and args.agents >= 1 and args.handle > 0 and 0 <= args.warmup < 1):
        p.error("need 0 < rho < 1, agents >= 1, handle > 0, 0 <= warmup < 1")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
