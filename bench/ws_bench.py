"""Realtime gateway benchmarks (issue 3): the WebSocket endpoint ``/ws`` of a real server.

    taskset -c 1 .venv/bin/python bench/ws_bench.py idle      [--conns 10000]
    taskset -c 1 .venv/bin/python bench/ws_bench.py offer     [--db both] [--seconds 60]
    taskset -c 1 .venv/bin/python bench/ws_bench.py reconnect [--conns 5000]
    taskset -c 1 .venv/bin/python bench/ws_bench.py assign    [--tickets 3000 --agents 100]

Every subcommand starts its own server(s) as separate processes pinned to core 0
(``taskset -c 0``): ``cloudwindow serve`` on a private database, and the plain ASGI echo
server of ``bench/echo_server.py`` under uvicorn with the same settings as the baseline
in the same run. The load generator (this process and the client processes it spawns)
runs on core 1. Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.

* ``idle``: N authenticated kiosks that completed hello/welcome stay connected (with the
  protocol's 20 s application ping); server RSS per connection (VmRSS after − before) vs
  the same N sockets to the echo server. Target ≤ 64 KiB per connection.
* ``offer``: 1,000 idle kiosks + agents; 20 ``ticket.take``/s for 440118-GG-0002; agents
  accept at once, end the session and send ``wrap_up.done`` (wrap-up set to 0 s in the
  database). Latency ``ticket.take`` sent → agent receives ``offer`` for that ticket,
  p50/p95/p99. Target p99 ≤ 150 ms. SQLite and PostgreSQL.
* ``reconnect``: N connected kiosks; the server is stopped (SIGTERM, then SIGKILL) and
  started again on the same port; time until every client has reconnected and received
  ``welcome`` (clients retry with jittered exponential backoff 100 ms … 2 s). Target:
  ≤ 10 s after the new server listens.
* ``assign``: M tickets queued directly in the database, K agents become ready and serve
  (accept, end, wrap-up 0); completed tickets/s end-to-end and ``offered`` transitions/s
  (ticket_log). Target ≥ 300 assignments/s. PostgreSQL by default.

Databases: SQLite files under /tmp/cwb/<bench>/, or a PostgreSQL database
``cw_bench_ws`` (created fresh, dropped afterwards; ``--pg-url`` names the server).
Set-up inserts the kiosks (terminals with a sha256 credential hash, status active) and
the extra agents (users + agent_skills + auth_sessions, reusing agent01's argon2 hash)
straight into the database; that is set-up, not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
SERVER_CPU = "0"
CLIENT_CPU = 1
WORK = Path("/tmp/cwb")  # noqa: S108 - a private scratch folder for the bench only
PROFILE_DIR: Path | None = None  # --profile: run cloudwindow serve under pyinstrument
ITEM = "440118-GG-0002"
GROUP = "social-security"
PG_DB = "cw_bench_ws"
HEARTBEAT = 20.0  # the protocol's heartbeat_seconds
BACKOFF_BASE, BACKOFF_MAX = 0.1, 2.0
FINAL_STATES = {"completed", "cancelled", "abandoned", "expired", "callback_requested"}


# Reporting -------------------------------------------------------------------------------
def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.node()} · {os.cpu_count()} cores · {cpu} · {mem} · Python "
        f"{platform.python_version()} · {platform.system()} {platform.release()} · "
        f"load avg {load}"
    )


def header(title: str, args: argparse.Namespace) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    print(f"# ws_bench {title}")
    print(f"date:    {now}")
    print(f"machine: {machine()}")
    print(f"code:    {code_state()}")
    print(f"pinning: servers on core {SERVER_CPU} (taskset), load generator on core {CLIENT_CPU}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"options: { {k: v for k, v in vars(args).items() if k != 'fn'} }")
    print(flush=True)


def code_state() -> str:
    """The commit measured, and whether src/ had uncommitted changes (hash of the diff)."""
    import hashlib

    def git(*a: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *a], capture_output=True, text=True, check=False
        ).stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "?"
    diff = git("diff", "HEAD", "--", "src")
    if not diff:
        return f"HEAD {head}, src/ clean"
    files = len(git("diff", "HEAD", "--name-only", "--", "src").split())
    digest = hashlib.sha256(diff.encode()).hexdigest()[:12]
    return f"HEAD {head} + uncommitted changes in {files} src/ files (diff sha256 {digest})"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def lat_line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    return (
        f"{name}: n={len(values)} p50 {ms(pct(values, 50))} · p95 {ms(pct(values, 95))} · "
        f"p99 {ms(pct(values, 99))} · max {ms(max(values))} · mean {ms(statistics.fmean(values))}"
    )


def say(*parts: object) -> None:
    print(*parts, flush=True)


# Processes -------------------------------------------------------------------------------
def raise_nofile(limit: int = 65536) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (limit, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
            return
        except (ValueError, OSError):
            continue


def pin_self() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, {CLIENT_CPU})


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """One server process (``cw`` = cloudwindow serve, ``echo`` = bench/echo_server.py)."""

    def __init__(self, kind: str, port: int, env: dict[str, str], logdir: Path) -> None:
        self.kind, self.port, self.env, self.logdir = kind, port, env, logdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> float:
        """Start and wait until the port accepts; returns that moment (monotonic)."""
        if port_open(self.port):
            raise SystemExit(f"port {self.port} is already in use")
        if self.kind == "cw":
            cmd = [str(VENV_BIN / "cloudwindow"), "serve", "--port", str(self.port)]
            if PROFILE_DIR is not None:  # diagnosis only: pyinstrument's report on exit
                report = PROFILE_DIR / f"profile-{self.logdir.name}-{len(self.logs) + 1}.txt"
                cmd = [str(VENV_BIN / "pyinstrument"), "-r", "text", "-o", str(report), *cmd]
        else:
            cmd = [PYTHON, str(ROOT / "bench" / "echo_server.py"), "--port", str(self.port)]
        log = self.logdir / f"server-{self.kind}-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["taskset", "-c", SERVER_CPU, *cmd],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=raise_nofile,
                cwd=str(self.logdir),
            )
        return self.wait_listening()

    def wait_listening(self, timeout: float = 60) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise SystemExit(f"{self.kind} server exited: see {self.logs[-1]}")
            if port_open(self.port):
                return time.monotonic()
            time.sleep(0.01)
        raise SystemExit(f"{self.kind} server not listening after {timeout} s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def sched(self) -> tuple[float, float]:
        """(seconds on CPU, seconds runnable but waiting for a CPU), summed over the
        server's threads: the wait shows how much the other load on the machine cost."""
        run = wait = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (task / "schedstat").read_text().split()
                run += int(fields[0])
                wait += int(fields[1])
        return run / 1e9, wait / 1e9

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 180) -> float:
        """Signal the server and wait for it to exit; returns the exit moment."""
        if self.proc is None or self.proc.poll() is not None:
            return time.monotonic()
        if PROFILE_DIR is not None and self.kind == "cw" and sig == signal.SIGTERM:
            sig = signal.SIGINT  # uvicorn re-raises SIGTERM after shutdown: no report
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say(f"  ! {self.kind} server still running {timeout} s after signal {sig}: SIGKILL")
            self.proc.kill()
            self.proc.wait(timeout=30)
        return time.monotonic()

    def log_problems(self) -> str:
        """Warnings and errors the server logged, by event and cause (read after stop)."""
        counts: collections.Counter[str] = collections.Counter()
        for log in self.logs:
            with contextlib.suppress(OSError):
                for line in log.read_text(errors="replace").splitlines():
                    if line.startswith("{"):
                        try:
                            entry = json.loads(line)
                        except ValueError:
                            continue
                        if entry.get("level") not in ("warning", "error", "critical"):
                            continue
                        exc = str(entry.get("exception", ""))
                        if "QueuePool limit" in exc:
                            cause = "pool timeout"
                        elif "database is locked" in exc:
                            cause = "database is locked"
                        elif exc:
                            cause = exc.strip().splitlines()[-1][:60]
                        else:
                            cause = ""
                        counts[f"{entry.get('event')}{f' ({cause})' if cause else ''}"] += 1
                    elif line.startswith("ERROR:"):
                        counts[f"uvicorn: {line[6:].strip()[:50]}"] += 1
                    elif line.startswith("sqlite3.OperationalError") or line.startswith(
                        "sqlalchemy.exc."
                    ):
                        counts[
                            f"uncaught {line.split(':')[0]}: {line.split(':', 1)[1][:50].strip()}"
                        ] += 1
        return "; ".join(f"{k}: {v}" for k, v in counts.most_common()) or "none"


# Databases and set-up -------------------------------------------------------------------
class BenchDB:
    """A fresh database with the sample district: SQLite file or PostgreSQL database."""

    def __init__(self, backend: str, tag: str, pg_url: str) -> None:
        self.backend, self.tag = backend, tag
        self.dir = WORK / f"{tag}-{backend}"
        if backend == "sqlite":
            self.url = f"sqlite+aiosqlite:///{self.dir}/cw.db"
        else:
            # A server URL, TCP (postgresql+asyncpg://postgres@127.0.0.1:5432) or a Unix
            # socket (postgresql+asyncpg://postgres@/?host=/var/run/postgresql).
            base, _, query = pg_url.partition("?")
            self.url = f"{base.rstrip('/')}/{PG_DB}" + (f"?{query}" if query else "")
        self.pg_base = pg_url

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDWINDOW_")}
        env.update(
            CLOUDWINDOW_DATABASE_URL=self.url,
            CLOUDWINDOW_DATA_DIR=str(self.dir / "data"),
            CLOUDWINDOW_LOG_LEVEL="WARNING",
            # The seeded kiosks all stand at one site: video admission (site bandwidth)
            # would cap the calls there; these benchmarks measure the queue.
            CLOUDWINDOW_MEDIA_ADMISSION_ENABLED="false",
        )
        return env

    def _psql(self, sql: str) -> None:
        base, _, query = self.pg_base.partition("?")
        user, hostport = base.split("://", 1)[1].rstrip("/").split("@", 1)
        host, _, port = hostport.partition(":")
        if not host:  # Unix socket: ?host=/dir
            host = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("host", "")
        subprocess.run(
            ["psql", "-h", host, "-p", port or "5432", "-U", user, "-d", "postgres", "-qc", sql],
            check=True,
            capture_output=True,
        )

    def create(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        if self.backend == "postgres":
            self._psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            self._psql(f"CREATE DATABASE {PG_DB}")
        try:
            subprocess.run(
                [str(VENV_BIN / "cloudwindow"), "demo", "--no-serve"],
                env=self.env,
                check=True,
                capture_output=True,
                cwd=str(self.dir),
            )
        except subprocess.CalledProcessError as exc:
            with contextlib.suppress(subprocess.CalledProcessError):
                self.drop()
            tail = exc.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise SystemExit(f"cloudwindow demo --no-serve failed: {tail}") from exc

    def drop(self) -> None:
        if self.backend == "postgres":
            self._psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def run_loop(coro: Any) -> Any:
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    except ImportError:
        return asyncio.run(coro)


async def seed(
    url: str, kiosks: int, agents: int = 0, queued: int = 0
) -> tuple[list[str], list[str]]:
    """Insert kiosks (returns their credentials), agents with a session token each
    (returns the tokens), set every skill group's wrap-up to 0 s, and queue ``queued``
    tickets for ITEM (one per kiosk, in order)."""
    from sqlalchemy import bindparam, func, select, update
    from sqlalchemy import insert as sa_insert

    from cloudwindow.accounts.models import AgentSkill, AuthSession, User
    from cloudwindow.accounts.security import token_hash
    from cloudwindow.catalog.models import ServiceItem, SkillGroup
    from cloudwindow.db import Database, utcnow
    from cloudwindow.fleet.models import Site, Terminal
    from cloudwindow.queueing import policy
    from cloudwindow.queueing.models import Ticket, TicketLog
    from cloudwindow.refcache import home_centres

    db = Database(url)
    creds: list[str] = []
    tokens: list[str] = []
    stamp = secrets.token_hex(3)
    try:
        async with db.transaction() as s:
            conn = await s.connection()
            now = utcnow()
            site_id = await s.scalar(
                select(Site.id).where(Site.type != "agent_office").order_by(Site.id).limit(1)
            )
            prefix = f"WSB{stamp}-"
            for start in range(0, kiosks, 5000):
                rows = [
                    {
                        "serial_number": f"{prefix}{i:06d}",
                        "name": f"压测云窗口 {i}",
                        "model": "basic",
                        "site_id": site_id,
                        "peripherals": [],
                        "status": "active",
                        "enrolled_at": now,
                        "active": True,
                    }
                    for i in range(start, min(kiosks, start + 5000))
                ]
                await conn.execute(sa_insert(Terminal.__table__), rows)
            ids = list(
                await s.scalars(
                    select(Terminal.id)
                    .where(Terminal.serial_number.like(f"{prefix}%"))
                    .order_by(Terminal.id)
                )
            )
            updates = []
            for tid in ids:
                cred = f"cwd_{tid}_{secrets.token_urlsafe(32)}"
                creds.append(cred)
                updates.append({"tid": tid, "h": token_hash(cred)})
            t = Terminal.__table__
            if updates:
                await conn.execute(
                    update(t)
                    .where(t.c.id == bindparam("tid"))
                    .values(credential_hash=bindparam("h")),
                    updates,
                )
            if agents:
                pw = await s.scalar(select(User.password_hash).where(User.username == "agent01"))
                home = await s.scalar(select(Site.id).where(Site.code == "S-ZC-AGENT-01"))
                await conn.execute(
                    sa_insert(User.__table__),
                    [
                        {
                            "username": f"wsb{stamp}{i:05d}",
                            "display_name": f"压测坐席{i}",
                            "password_hash": pw,
                            "roles": ["agent"],
                            "home_site_id": home,
                            "languages": ["zh-CN"],
                            "active": True,
                        }
                        for i in range(agents)
                    ],
                )
                uids = list(
                    await s.scalars(
                        select(User.id).where(User.username.like(f"wsb{stamp}%")).order_by(User.id)
                    )
                )
                await conn.execute(
                    sa_insert(AgentSkill.__table__),
                    [{"user_id": u, "skill_group_code": GROUP, "proficiency": 3} for u in uids],
                )
                sessions = []
                for u in uids:
                    token = f"cw_{secrets.token_urlsafe(32)}"
                    tokens.append(token)
                    sessions.append(
                        {
                            "token_hash": token_hash(token),
                            "user_id": u,
                            "expires_at": now + datetime.timedelta(hours=12),
                            "client_ip": "",
                        }
                    )
                await conn.execute(sa_insert(AuthSession.__table__), sessions)
            await s.execute(update(SkillGroup).values(wrap_up_seconds=0))
            if queued:
                item = await s.get(ServiceItem, ITEM)
                assert item is not None
                centres = await home_centres(s, item.department_code)
                rings = policy.rings_to_json(policy.build_rings(centres, [30]))
                base = now - datetime.timedelta(seconds=queued / 1000 + 1)
                await conn.execute(
                    sa_insert(Ticket.__table__),
                    [
                        {
                            "number": policy.ticket_number(2, i),
                            "service_item_code": ITEM,
                            "skill_group_code": item.skill_group_code,
                            "owner": f"device:{ids[i % len(ids)]}",
                            "source": "kiosk",
                            "terminal_id": ids[i % len(ids)],
                            "site_id": site_id,
                            "rank": 2,
                            "priority": "normal",
                            "state": "queued",
                            "enqueued_at": base + datetime.timedelta(milliseconds=i),
                            "rings": rings,
                            "excluded_agents": [],
                            "created_at": now,
                        }
                        for i in range(queued)
                    ],
                )
                tids = list(await s.scalars(select(Ticket.id).where(Ticket.state == "queued")))
                await conn.execute(
                    sa_insert(TicketLog.__table__),
                    [
                        {
                            "ticket_id": i,
                            "from_state": "",
                            "to_state": "queued",
                            "actor": "bench",
                            "note": "",
                            "at": now,
                        }
                        for i in tids
                    ],
                )
                assert await s.scalar(select(func.count()).select_from(Ticket)) >= queued
    finally:
        await db.dispose()
    return creds, tokens


async def db_query(url: str, sql: str) -> list[tuple[Any, ...]]:
    from sqlalchemy import text

    from cloudwindow.db import Database

    db = Database(url)
    try:
        async with db.read() as s:
            return [tuple(r) for r in (await s.execute(text(sql))).all()]
    finally:
        await db.dispose()


# One client connection (in-process, for offer/assign) ------------------------------------
def ws_connect(
    url: str, local_addr: tuple[str, int] | None = None, open_timeout: float = 20
) -> Any:
    from websockets.asyncio.client import connect

    return connect(
        url,
        compression=None,
        ping_interval=None,  # the application's own ping (protocol.md) keeps it alive
        open_timeout=open_timeout,
        close_timeout=2,
        proxy=None,
        max_size=2**20,
        local_addr=local_addr,
    )


class Conn:
    """An open, welcomed socket with a reader task that hands each message to ``on``."""

    def __init__(self, ws: Any, name: str, welcome: dict[str, Any]) -> None:
        self.ws, self.name, self.welcome = ws, name, welcome
        self.on: Callable[[Conn, dict[str, Any]], None] = lambda c, m: None
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.busy = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.on(self, json.loads(raw))
        except Exception:  # noqa: S110 - closed: recorded below
            pass
        self.closed_at = time.monotonic()
        self.close_code = self.ws.close_code

    def send(self, type_: str, data: dict[str, Any] | None = None, ref: Any = None) -> None:
        message: dict[str, Any] = {"type": type_, "data": data or {}}
        if ref is not None:
            message["ref"] = ref
        asyncio.get_running_loop().create_task(self._send(json.dumps(message)))

    async def _send(self, raw: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send(raw)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.transport.abort()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


async def open_conn(url: str, token: str, name: str, echo: bool = False) -> Conn:
    ws = await ws_connect(url)
    await ws.send(json.dumps({"type": "hello", "data": {"token": token, "last_event_id": None}}))
    async with asyncio.timeout(30):
        first = json.loads(await ws.recv())
    if first.get("type") == "error" or (not echo and first.get("type") != "welcome"):
        await ws.close()
        raise RuntimeError(f"{name}: hello refused: {first}")
    conn = Conn(ws, name, first)
    conn.start()
    return conn


async def open_many(
    url: str, tokens: list[str], prefix: str, concurrency: int = 50, echo: bool = False
) -> list[Conn]:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int, token: str) -> Conn:
        async with sem:
            return await open_conn(url, token, f"{prefix}{i}", echo)

    return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens))))


async def heartbeat(conns: list[Conn], stop: asyncio.Event, period: float = HEARTBEAT) -> None:
    """The protocol's client ping, spread evenly: each socket pings every ``period``."""
    if not conns:
        return
    step = period / len(conns)
    i = 0
    for _ in range(10_000_000):
        if stop.is_set():
            return
        conns[i % len(conns)].send("ping")
        i += 1  # noqa: SIM113
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(step, 0.002))


# Client processes (idle, reconnect) ------------------------------------------------------
class _Client:
    __slots__ = ("drops", "last_id", "token", "welcomed_at", "ws")

    def __init__(self, token: str) -> None:
        self.token = token
        self.last_id: int | None = None
        self.welcomed_at: float | None = None
        self.drops = 0
        self.ws: Any = None


class _Worker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.url: str = spec["url"]
        self.echo: bool = spec["echo"]
        self.local_addr = (spec["src"], 0)
        self.clients = [_Client(t) for t in spec["tokens"]]
        self.sem = asyncio.Semaphore(spec["concurrency"])
        self.stopping = False
        self.errors: collections.Counter[str] = collections.Counter()
        self.tasks: list[asyncio.Task[None]] = []

    async def client_loop(self, c: _Client) -> None:
        attempt = 0
        for _ in range(100_000):  # bounded: one iteration per (re)connection attempt
            if self.stopping:
                return
            ramp = c.welcomed_at is None
            if ramp:
                await self.sem.acquire()
            try:
                async with ws_connect(self.url, self.local_addr, open_timeout=15) as ws:
                    c.ws = ws
                    hello = {"token": c.token, "last_event_id": c.last_id}
                    await ws.send(json.dumps({"type": "hello", "data": hello}))
                    async with asyncio.timeout(30):
                        first = json.loads(await ws.recv())
                    if first.get("type") == "error":
                        raise RuntimeError(f"refused:{first['data'].get('error_id')}")
                    if first.get("type") == "welcome" and c.last_id is None:
                        c.last_id = int(first["data"].get("latest_event_id") or 0)
                    c.welcomed_at = time.monotonic()
                    attempt = 0
                    if ramp:
                        ramp = False
                        self.sem.release()
                    await self.idle(c, ws)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                name = type(exc).__name__
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self.errors[f"{name}:{code}" if code else name] += 1
            finally:
                c.ws = None
                if ramp:
                    self.sem.release()
            if self.stopping:
                return
            c.drops += 1
            delay = min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt)
            attempt = min(attempt + 1, 10)
            await asyncio.sleep(random.uniform(delay / 2, delay))

    async def idle(self, c: _Client, ws: Any) -> None:
        next_ping = time.monotonic() + random.uniform(1, HEARTBEAT)
        for _ in range(10_000_000):
            wait = next_ping - time.monotonic()
            if wait <= 0:
                await ws.send('{"type":"ping"}')
                next_ping += HEARTBEAT
                continue
            try:
                async with asyncio.timeout(wait):
                    raw = await ws.recv()
            except TimeoutError:
                continue
            if not self.echo and raw.startswith('{"id": ') and not raw.startswith('{"id": null'):
                event_id = json.loads(raw).get("id")
                if isinstance(event_id, int) and event_id > (c.last_id or 0):
                    c.last_id = event_id

    async def cmd_start(self, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
        started = time.monotonic()
        self.tasks = [asyncio.create_task(self.client_loop(c)) for c in self.clients]
        deadline = started + timeout
        while time.monotonic() < deadline:
            if all(c.welcomed_at is not None for c in self.clients):
                break
            await asyncio.sleep(0.05)
        welcomed = [c.welcomed_at for c in self.clients if c.welcomed_at is not None]
        return {
            "welcomed": len(welcomed),
            "seconds": (max(welcomed) - started) if welcomed else None,
            "errors": dict(self.errors),
        }

    async def cmd_wait(self, since: float, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(c.welcomed_at is not None and c.welcomed_at > since for c in self.clients):
                break
            await asyncio.sleep(0.02)
        times = [c.welcomed_at for c in self.clients if c.welcomed_at and c.welcomed_at > since]
        return {
            "times": times,
            "missing": len(self.clients) - len(times),
            "drops": sum(c.drops for c in self.clients),
            "errors": dict(self.errors),
        }

    def cmd_status(self) -> dict[str, Any]:
        return {
            "open": sum(1 for c in self.clients if c.ws is not None),
            "drops": sum(c.drops for c in self.clients),
            "errors": dict(self.errors),
        }

    async def cmd_stop(self) -> dict[str, Any]:
        self.stopping = True
        for c in self.clients:
            if c.ws is not None:
                with contextlib.suppress(Exception):
                    c.ws.transport.abort()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return {"stopped": len(self.clients)}


async def _worker_run(pipe: Any, spec: dict[str, Any]) -> None:
    w = _Worker(spec)
    loop = asyncio.get_running_loop()
    for _ in range(10_000):
        msg = await loop.run_in_executor(None, pipe.recv)
        cmd = msg[0]
        if cmd == "start":
            reply = await w.cmd_start(msg[1])
        elif cmd == "wait":
            reply = await w.cmd_wait(msg[1], msg[2])
        elif cmd == "status":
            reply = w.cmd_status()
        elif cmd == "reset_errors":
            w.errors.clear()
            reply = {}
        elif cmd == "stop":
            pipe.send(await w.cmd_stop())
            return
        else:
            reply = {"error": f"unknown {cmd}"}
        pipe.send(reply)


def worker_main(pipe: Any, spec: dict[str, Any]) -> None:
    pin_self()
    raise_nofile()
    run_loop(_worker_run(pipe, spec))


class Pool:
    """Client processes on core 1, each holding a share of the sockets."""

    def __init__(
        self, url: str, tokens: list[str], per_proc: int, echo: bool, concurrency: int = 100
    ) -> None:
        ctx = mp.get_context("spawn")
        self.pipes: list[Any] = []
        self.procs: list[Any] = []
        chunks = [tokens[i : i + per_proc] for i in range(0, len(tokens), per_proc)]
        for n, chunk in enumerate(chunks):
            parent, child = ctx.Pipe()
            spec = {
                "url": url,
                "tokens": chunk,
                "echo": echo,
                "src": f"127.0.{n + 1}.1",  # a source address per process: ports never run out
                "concurrency": concurrency,
            }
            proc = ctx.Process(target=worker_main, args=(child, spec), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def ask(self, msg: tuple[Any, ...], timeout: float) -> list[dict[str, Any]]:
        for pipe in self.pipes:
            pipe.send(msg)
        deadline = time.monotonic() + timeout
        replies = []
        for pipe in self.pipes:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise SystemExit(f"client process did not answer {msg[0]} within {timeout} s")
            replies.append(pipe.recv())
        return replies

    def close(self) -> None:
        with contextlib.suppress(SystemExit, OSError, EOFError):
            self.ask(("stop",), 60)
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)


def merge_errors(replies: Iterable[dict[str, Any]]) -> dict[str, int]:
    total: collections.Counter[str] = collections.Counter()
    for r in replies:
        total.update(r.get("errors", {}))
    return dict(total)


# idle ------------------------------------------------------------------------------------
def cmd_idle(args: argparse.Namespace) -> None:
    header("idle", args)
    db = BenchDB(args.db, "idle", args.pg_url)
    say(f"set-up: fresh {args.db} database, {args.conns + args.warmup} kiosks inserted …")
    db.create()
    creds, _ = run_loop(seed(db.url, args.conns + args.warmup))
    warm, creds = creds[: args.warmup], creds[args.warmup :]
    results: dict[str, dict[str, Any]] = {}
    try:
        for kind in ("echo", "cw"):
            port = args.port if kind == "cw" else args.port + 1
            url = f"ws://127.0.0.1:{port}/ws"
            server = Server(kind, port, db.env, db.dir)
            server.start()
            # Warm-up: the first sockets load code and fill caches; not counted.
            pool = Pool(url, warm, args.per_proc, echo=kind == "echo")
            pool.ask(("start", 60), 90)
            pool.close()
            time.sleep(args.settle)
            rss0, cpu0 = server.rss_kib(), server.cpu_seconds()
            pool = Pool(
                url, creds, args.per_proc, echo=kind == "echo", concurrency=args.concurrency
            )
            t0, s0 = time.monotonic(), server.sched()
            replies = pool.ask(("start", args.ramp_timeout), args.ramp_timeout + 60)
            ramp = time.monotonic() - t0
            cpu1 = server.cpu_seconds()
            waited = (server.sched()[1] - s0[1]) / ramp
            welcomed = sum(r["welcomed"] for r in replies)
            time.sleep(args.settle)
            rss1 = server.rss_kib()
            samples = [rss1]
            hold_end = time.monotonic() + args.hold
            while time.monotonic() < hold_end:
                time.sleep(min(5.0, max(0.0, hold_end - time.monotonic())))
                samples.append(server.rss_kib())
            status = pool.ask(("status",), 30)
            open_now = sum(r["open"] for r in status)
            drops = sum(r["drops"] for r in status)
            errors = merge_errors(status)
            pool.close()
            time.sleep(args.settle)
            rss2 = server.rss_kib()
            t_stop = time.monotonic()
            server.stop()
            stop_s = time.monotonic() - t_stop
            problems = server.log_problems()
            left = "n/a"
            if kind == "cw":
                pres = run_loop(
                    db_query(db.url, "SELECT count(*), coalesce(sum(connections),0) FROM presence")
                )[0]
                left = f"{pres[0]} rows ({pres[1]} connections)"
            rss_hold = max(samples)
            results[kind] = {
                "welcomed": welcomed,
                "open": open_now,
                "rss0": rss0,
                "rss1": rss1,
                "rss_hold": rss_hold,
                "rss2": rss2,
                "per_conn": (rss_hold - rss0) / max(1, welcomed),
                "ramp": ramp,
                "cpu_ms": (cpu1 - cpu0) * 1000 / max(1, welcomed),
                "waited": waited,
                "drops": drops,
                "errors": errors,
                "problems": problems,
                "left": left,
                "stop_s": stop_s,
            }
            r = results[kind]
            say(
                f"[{kind}] {welcomed}/{len(creds)} welcomed in {ramp:.1f} s "
                f"({welcomed / ramp:.0f}/s, server CPU {r['cpu_ms']:.2f} ms per connect, server "
                f"waiting for CPU {r['waited'] * 100:.0f} % of the ramp); "
                f"still open after {args.hold:.0f} s hold: {open_now}; drops {drops}; "
                f"client errors {errors or 'none'}"
            )
            say(
                f"[{kind}] server VmRSS before {rss0 / 1024:.1f} MiB · with sockets "
                f"{rss1 / 1024:.1f} MiB (max during hold {rss_hold / 1024:.1f} MiB) · after "
                f"closing them {rss2 / 1024:.1f} MiB → {r['per_conn']:.1f} KiB per connection"
            )
            say(f"[{kind}] server log, warnings and errors: {problems}")
            say(
                f"[{kind}] after all {welcomed} clients closed at once and a SIGTERM "
                f"({r['stop_s']:.1f} s to exit): presence rows left {left}"
            )
    finally:
        db.drop()
    cw, echo = results["cw"], results["echo"]
    say()
    say(f"RESULT idle, {args.conns} connections, one server process each, {args.db}:")
    say(f"  CloudWindow /ws : {cw['per_conn']:6.1f} KiB RSS per connection")
    say(f"  echo baseline   : {echo['per_conn']:6.1f} KiB RSS per connection")
    say(f"  gateway's own   : {cw['per_conn'] - echo['per_conn']:6.1f} KiB per connection")
    verdict = "met" if cw["per_conn"] <= 64 else "MISSED"
    say(f"  target ≤ 64 KiB per connection: {verdict}")


# offer -----------------------------------------------------------------------------------
async def _offer_run(
    url: str, creds: list[str], tokens: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    t_start = time.monotonic()
    kiosks = await open_many(url, creds, "k", concurrency=50)
    agents = await open_many(url, tokens, "a", concurrency=20)
    say(
        f"  connected {len(kiosks)} kiosks + {len(agents)} agents in "
        f"{time.monotonic() - t_start:.1f} s"
    )
    stop = asyncio.Event()
    sent: dict[str, float] = {}
    ticket_of: dict[str, int] = {}
    take_rtt: list[float] = []
    offer_at: dict[int, float] = {}
    done_at: dict[int, float] = {}
    ping_sent: dict[str, float] = {}
    ping_rtt: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    warm_refs: set[str] = set()

    def on_kiosk(c: Conn, m: dict[str, Any]) -> None:
        now = time.monotonic()
        t, ref = m.get("type"), m.get("ref")
        if t == "ticket.created" and ref in sent:
            ticket_of[ref] = m["data"]["ticket"]["id"]
            take_rtt.append(now - sent[ref])
        elif t == "pong" and ref in ping_sent:
            ping_rtt.append(now - ping_sent.pop(ref))
        elif t == "error":
            errors[f"kiosk:{m['data'].get('error_id')}"] += 1
            if isinstance(ref, str) and ref.startswith("t"):
                c.busy = False
        elif t == "ticket.updated" and m["data"]["ticket"]["state"] in FINAL_STATES:
            c.busy = False

    def on_agent(c: Conn, m: dict[str, Any]) -> None:
        now = time.monotonic()
        t, ref, data = m.get("type"), m.get("ref"), m.get("data") or {}
        if t == "offer":
            tid = data["ticket"]["id"]
            offer_at.setdefault(tid, now)
            c.send("offer.accept", {"ticket_id": tid}, f"a{tid}")
        elif t == "agent.status" and isinstance(ref, str):
            if ref.startswith("a"):
                c.send("session.end", {"ticket_id": int(ref[1:])}, f"e{ref[1:]}")
            elif ref.startswith("e"):
                done_at[int(ref[1:])] = now
                if data.get("state") != "ready":  # ready at once when wrap-up is 0
                    c.send("wrap_up.done", None, f"w{ref[1:]}")
        elif t == "error":
            errors[f"agent:{(ref or '?')[:1]}:{data.get('error_id')}"] += 1
            if isinstance(ref, str) and ref.startswith("a"):
                c.send("agent.state", {"state": "ready"}, "ready")
        elif t == "agent.state" and data.get("state") == "not_ready":
            c.send("agent.state", {"state": "ready"}, "ready")

    for k in kiosks:
        k.on = on_kiosk
    for a in agents:
        a.on = on_agent
        a.send("agent.state", {"state": "ready"}, "ready")
    hb = asyncio.create_task(heartbeat(kiosks + agents, stop))
    await asyncio.sleep(1.0)

    async def pinger() -> None:
        n = 0
        for _ in range(1_000_000):
            if stop.is_set():
                return
            ref = f"p{n}"
            n += 1  # noqa: SIM113
            ping_sent[ref] = time.monotonic()
            kiosks[n % len(kiosks)].send("ping", None, ref)
            await asyncio.sleep(1 / args.ping_rate)

    pings = asyncio.create_task(pinger())
    total = int(args.rate * (args.warmup_seconds + args.seconds))
    warm_n = int(args.rate * args.warmup_seconds)
    cursor = 0
    t0 = time.monotonic()
    late = 0
    busy_skips = 0
    for n in range(total):
        due = t0 + n / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.01:
            late += 1
        for _ in range(len(kiosks)):
            kiosk = kiosks[cursor % len(kiosks)]
            cursor += 1
            if not kiosk.busy and kiosk.closed_at is None:
                break
            busy_skips += 1
        kiosk.busy = True
        ref = f"t{n}"
        if n < warm_n:
            warm_refs.add(ref)
        sent[ref] = time.monotonic()
        kiosk.send("ticket.take", {"service_item_code": ITEM, "priority": "normal"}, ref)
    send_span = time.monotonic() - t0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        pending = [r for r in sent if r not in ticket_of or ticket_of[r] not in done_at]
        if not pending:
            break
        await asyncio.sleep(0.1)
    stop.set()
    pings.cancel()
    await asyncio.gather(hb, pings, return_exceptions=True)
    closed_early = sum(1 for c in kiosks + agents if c.closed_at is not None)
    latencies = [
        offer_at[ticket_of[r]] - t
        for r, t in sent.items()
        if r not in warm_refs and r in ticket_of and ticket_of[r] in offer_at
    ]
    measured = [r for r in sent if r not in warm_refs]
    await asyncio.gather(*(c.close() for c in kiosks + agents))
    return {
        "latencies": latencies,
        "measured": len(measured),
        "missing": len(measured) - len(latencies),
        "completed": sum(1 for r in measured if r in ticket_of and ticket_of[r] in done_at),
        "take_rtt": take_rtt,
        "ping_rtt": ping_rtt,
        "errors": dict(errors),
        "late": late,
        "busy_skips": busy_skips,
        "send_span": send_span,
        "total": total,
        "closed_early": closed_early,
    }


async def _echo_rtt(url: str, creds: list[str], args: argparse.Namespace) -> dict[str, Any]:
    conns = await open_many(url, creds, "e", concurrency=50, echo=True)
    stop = asyncio.Event()
    sent: dict[str, float] = {}
    rtt: list[float] = []

    def on(c: Conn, m: dict[str, Any]) -> None:
        ref = m.get("ref")
        if ref in sent:
            rtt.append(time.monotonic() - sent.pop(ref))

    for c in conns:
        c.on = on
    hb = asyncio.create_task(heartbeat(conns, stop))
    t0 = time.monotonic()
    total = int(args.rate * args.echo_seconds)
    for n in range(total):
        delay = t0 + n / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        ref = f"t{n}"
        sent[ref] = time.monotonic()
        conns[n % len(conns)].send(
            "ticket.take", {"service_item_code": ITEM, "priority": "normal"}, ref
        )
    await asyncio.sleep(1)
    stop.set()
    await hb
    await asyncio.gather(*(c.close() for c in conns))
    return {"rtt": rtt, "sent": total}


def cmd_offer(args: argparse.Namespace) -> None:
    header("offer", args)
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    summary: list[str] = []
    for backend in backends:
        db = BenchDB(backend, "offer", args.pg_url)
        say(
            f"[{backend}] set-up: fresh database, {args.kiosks} kiosks + {args.agents} agents, "
            "wrap-up 0 s"
        )
        db.create()
        creds, tokens = run_loop(seed(db.url, args.kiosks, args.agents))
        server = Server("cw", args.port, db.env, db.dir)
        try:
            server.start()
            cpu0, w0, s0 = server.cpu_seconds(), time.monotonic(), server.sched()
            r = run_loop(_offer_run(f"ws://127.0.0.1:{args.port}/ws", creds, tokens, args))
            wall = time.monotonic() - w0
            cpu = (server.cpu_seconds() - cpu0) / wall
            s1 = server.sched()
            waited = (s1[1] - s0[1]) / wall
        finally:
            server.stop()
            db.drop()
        problems = server.log_problems()
        say(
            f"[{backend}] sent {r['total']} ticket.take in {r['send_span']:.1f} s "
            f"({r['total'] / r['send_span']:.1f}/s; first {args.warmup_seconds:.0f} s = warm-up, "
            f"not counted; {r['late']} sends > 10 ms late; {r['busy_skips']} busy kiosks skipped)"
        )
        say(
            f"[{backend}] measured {r['measured']}: offer received for {len(r['latencies'])}, "
            f"missing {r['missing']}, completed {r['completed']}; client-visible errors "
            f"{r['errors'] or 'none'}; sockets closed early {r['closed_early']}; server CPU "
            f"{cpu * 100:.0f} % of core 0, runnable but waiting for CPU {waited * 100:.0f} % of "
            f"the time (other load); server log problems: {problems}"
        )
        say(f"[{backend}] " + lat_line("ticket.take → offer at agent", r["latencies"]))
        say(f"[{backend}] " + lat_line("ticket.take → ticket.created reply", r["take_rtt"]))
        say(
            f"[{backend}] "
            + lat_line(f"gateway ping → pong ({args.ping_rate}/s, same run)", r["ping_rtt"])
        )
        p99 = pct(r["latencies"], 99)
        ok = r["latencies"] and p99 <= 0.150 and r["missing"] == 0
        summary.append(
            f"  {backend:<9}: take→offer p50 {ms(pct(r['latencies'], 50))} · p95 "
            f"{ms(pct(r['latencies'], 95))} · p99 {ms(p99)} (n={len(r['latencies'])}, "
            f"missing {r['missing']}) → target p99 ≤ 150 ms {'met' if ok else 'MISSED'}"
        )
    # Baseline: the same socket count and message rate against the echo server.
    db = BenchDB("sqlite", "offer-echo", args.pg_url)
    db.dir.mkdir(parents=True, exist_ok=True)
    echo = Server("echo", args.port + 1, db.env, db.dir)
    try:
        echo.start()
        creds = [f"cwd_0_echo{i}" for i in range(args.kiosks + args.agents)]
        e = run_loop(_echo_rtt(f"ws://127.0.0.1:{args.port + 1}/ws", creds, args))
    finally:
        echo.stop()
    line = lat_line(
        f"echo baseline, {len(creds)} sockets, {args.rate}/s ticket.take-sized round trips",
        e["rtt"],
    )
    say(f"[echo] {line}")
    say()
    say(
        f"RESULT offer ({args.rate}/s for {args.seconds:.0f} s, {args.kiosks} kiosks, "
        f"{args.agents} agents):"
    )
    for s in summary:
        say(s)
    say(f"  echo RTT  : p50 {ms(pct(e['rtt'], 50))} · p99 {ms(pct(e['rtt'], 99))}")


# reconnect -------------------------------------------------------------------------------
def cmd_reconnect(args: argparse.Namespace) -> None:
    header("reconnect", args)
    db = BenchDB(args.db, "reconnect", args.pg_url)
    say(f"set-up: fresh {args.db} database, {args.conns} kiosks")
    db.create()
    creds, _ = run_loop(seed(db.url, args.conns))
    rows: list[str] = []
    try:
        for kind in args.kinds.split(","):
            port = args.port if kind == "cw" else args.port + 1
            url = f"ws://127.0.0.1:{port}/ws"
            server = Server(kind, port, db.env, db.dir)
            server.start()
            pool = Pool(
                url, creds, args.per_proc, echo=kind == "echo", concurrency=args.concurrency
            )
            try:
                t0 = time.monotonic()
                replies = pool.ask(("start", args.ramp_timeout), args.ramp_timeout + 60)
                welcomed = sum(r["welcomed"] for r in replies)
                say(f"[{kind}] {welcomed}/{len(creds)} connected in {time.monotonic() - t0:.1f} s")
                time.sleep(2)
                pool.ask(("reset_errors",), 30)
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    name = signal.Signals(sig).name
                    t_sig = time.monotonic()
                    t_exit = server.stop(sig, timeout=args.shutdown_timeout)
                    t_listen = server.start()
                    replies = pool.ask(
                        ("wait", t_sig, args.recover_timeout), args.recover_timeout + 60
                    )
                    times = sorted(t for r in replies for t in r["times"])
                    missing = sum(r["missing"] for r in replies)
                    after = [t - t_listen for t in times]
                    t_all = (times[-1] - t_listen) if times and not missing else float("inf")
                    errors = merge_errors(replies)
                    pool.ask(("reset_errors",), 30)
                    say(
                        f"[{kind} {name}] shutdown (signal → exit) {t_exit - t_sig:.2f} s · "
                        f"restart (exit → listening) {t_listen - t_exit:.2f} s · all "
                        f"{len(times)}/{len(creds)} welcomed again {t_all:.2f} s after listening "
                        f"(p50 {pct(after, 50):.2f} s, p99 {pct(after, 99):.2f} s; "
                        f"missing {missing})"
                    )
                    say(
                        f"[{kind} {name}] client-side failed attempts meanwhile: {errors or 'none'}"
                    )
                    if kind == "cw":
                        time.sleep(1)
                        pres = run_loop(
                            db_query(
                                db.url,
                                "SELECT count(*), coalesce(sum(connections),0), "
                                "coalesce(max(connections),0) FROM presence",
                            )
                        )[0]
                        say(
                            f"[{kind} {name}] presence table: {pres[0]} rows, connections summed "
                            f"{pres[1]}, max per principal {pres[2]} (sockets open: {len(creds)})"
                        )
                    rows.append(
                        f"  {kind:<4} {name:<7}: shutdown {t_exit - t_sig:6.2f} s · restart "
                        f"{t_listen - t_exit:5.2f} s · all welcomed {t_all:6.2f} s after listening "
                        f"(p50 {pct(after, 50):.2f} s, p99 {pct(after, 99):.2f} s) → target ≤ 10 s "
                        f"{'met' if t_all <= 10 else 'MISSED'}"
                    )
            finally:
                pool.close()
            if kind == "cw":
                time.sleep(args.settle)
                pres = run_loop(
                    db_query(db.url, "SELECT count(*), coalesce(sum(connections),0) FROM presence")
                )[0]
                say(
                    f"[cw] after every client closed (server still up, {args.settle:.0f} s later): "
                    f"presence rows {pres[0]}, connections summed {pres[1]} (expected 0)"
                )
            server.stop()
            if kind == "cw":
                say(f"[cw] server log, warnings and errors: {server.log_problems()}")
    finally:
        db.drop()
    say()
    say(f"RESULT reconnect ({args.conns} clients, {args.db}):")
    for r in rows:
        say(r)


# assign ----------------------------------------------------------------------------------
async def _closed_loop_pings(conns: list[Conn], seconds: float) -> float:
    """Each socket sends ``ping`` and waits for the answer, repeatedly: messages/s."""
    count = 0
    waiters: dict[int, asyncio.Future[None]] = {}

    def on(c: Conn, m: dict[str, Any]) -> None:
        fut = waiters.get(id(c))
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def one(c: Conn, until: float) -> None:
        nonlocal count
        loop = asyncio.get_running_loop()
        for _ in range(10_000_000):
            if time.monotonic() >= until:
                return
            waiters[id(c)] = loop.create_future()
            c.send("ping", None, "cl")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiters[id(c)], timeout=5)
                count += 1

    old = [c.on for c in conns]
    for c in conns:
        c.on = on
    t0 = time.monotonic()
    await asyncio.gather(*(one(c, t0 + seconds) for c in conns))
    elapsed = time.monotonic() - t0
    for c, fn in zip(conns, old, strict=True):
        c.on = fn
    return count / elapsed


async def _assign_run(url: str, tokens: list[str], args: argparse.Namespace) -> dict[str, Any]:
    agents = await open_many(url, tokens, "a", concurrency=20)
    ping_rate = await _closed_loop_pings(agents, args.ping_seconds)
    offer_at: dict[int, float] = {}
    done_at: dict[int, float] = {}
    errors: collections.Counter[str] = collections.Counter()
    steps: dict[str, list[float]] = collections.defaultdict(list)
    last: dict[int, float] = {}  # per agent socket: when its previous step's reply came

    def on_agent(c: Conn, m: dict[str, Any]) -> None:
        now = time.monotonic()
        t, ref, data = m.get("type"), m.get("ref"), m.get("data") or {}
        if t == "offer":
            tid = data["ticket"]["id"]
            offer_at.setdefault(tid, now)
            if id(c) in last:
                steps["ready → next offer"].append(now - last[id(c)])
            last[id(c)] = now
            c.send("offer.accept", {"ticket_id": tid}, f"a{tid}")
        elif t == "agent.status" and isinstance(ref, str):
            if ref[:1] in "aew" and id(c) in last:
                name = {
                    "a": "offer → accept reply",
                    "e": "→ session.end reply",
                    "w": "→ wrap_up.done reply",
                }
                steps[name[ref[0]]].append(now - last[id(c)])
                last[id(c)] = now
            if ref.startswith("a"):
                c.send("session.end", {"ticket_id": int(ref[1:])}, f"e{ref[1:]}")
            elif ref.startswith("e"):
                done_at[int(ref[1:])] = now
                if data.get("state") != "ready":  # ready at once when wrap-up is 0
                    c.send("wrap_up.done", None, f"w{ref[1:]}")
        elif t == "error":
            errors[f"{(ref or '?')[:1]}:{data.get('error_id')}"] += 1
            if isinstance(ref, str) and ref.startswith("w"):
                last[id(c)] = now
            if isinstance(ref, str) and ref.startswith("a"):
                c.send("agent.state", {"state": "ready"}, "ready")
        elif t == "agent.state" and data.get("state") == "not_ready":
            c.send("agent.state", {"state": "ready"}, "ready")

    stop = asyncio.Event()
    for a in agents:
        a.on = on_agent
    hb = asyncio.create_task(heartbeat(agents, stop))
    t0 = time.monotonic()
    for a in agents:
        a.send("agent.state", {"state": "ready"}, "ready")
    deadline = t0 + args.timeout
    while time.monotonic() < deadline and len(done_at) < args.tickets:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    stop.set()
    await hb
    await asyncio.gather(*(c.close() for c in agents))
    return {
        "t0": t0,
        "offers": sorted(offer_at.values()),
        "done": sorted(done_at.values()),
        "errors": dict(errors),
        "ping_rate": ping_rate,
        "steps": dict(steps),
    }


def per_second(times: list[float], origin: float) -> list[int]:
    if not times:
        return []
    buckets = collections.Counter(int(t - origin) for t in times)
    return [buckets.get(i, 0) for i in range(max(buckets) + 1)]


def cmd_assign(args: argparse.Namespace) -> None:
    header("assign", args)
    db = BenchDB(args.db, "assign", args.pg_url)
    say(
        f"set-up: fresh {args.db} database, {args.tickets} tickets queued, {args.agents} "
        "agents, wrap-up 0 s"
    )
    db.create()
    _, tokens = run_loop(seed(db.url, args.tickets, args.agents, queued=args.tickets))
    server = Server("cw", args.port, db.env, db.dir)
    try:
        server.start()
        cpu0, w0, s0 = server.cpu_seconds(), time.monotonic(), server.sched()
        r = run_loop(_assign_run(f"ws://127.0.0.1:{args.port}/ws", tokens, args))
        wall = time.monotonic() - w0
        cpu = (server.cpu_seconds() - cpu0) / wall
        waited = (server.sched()[1] - s0[1]) / wall
        time.sleep(1)
        states = run_loop(
            db_query(db.url, "SELECT state, count(*) FROM tickets GROUP BY state ORDER BY state")
        )
        offered = run_loop(
            db_query(
                db.url,
                "SELECT count(*), min(at), max(at) FROM ticket_log WHERE to_state = 'offered'",
            )
        )[0]
        completed_log = run_loop(
            db_query(
                db.url,
                "SELECT count(*), min(at), max(at) FROM ticket_log WHERE to_state = 'completed'",
            )
        )[0]
        offered_at = run_loop(
            db_query(db.url, "SELECT at FROM ticket_log WHERE to_state = 'offered' ORDER BY at")
        )
    finally:
        server.stop()
        db.drop()
    problems = server.log_problems()
    done, t0 = r["done"], r["t0"]
    n = len(done)
    span = (done[-1] - t0) if done else float("nan")
    lo, hi = (done[int(n * 0.1)], done[int(n * 0.9) - 1]) if n >= 20 else (float("nan"),) * 2
    steady = (int(n * 0.9) - int(n * 0.1)) / (hi - lo) if n >= 20 and hi > lo else float("nan")

    def as_dt(v: Any) -> datetime.datetime:
        return v if isinstance(v, datetime.datetime) else datetime.datetime.fromisoformat(str(v))

    off_n, off_lo, off_hi = offered
    off_span = (as_dt(off_hi) - as_dt(off_lo)).total_seconds() if off_n else float("nan")
    off_times = [as_dt(row[0]).timestamp() for row in offered_at]
    off_sec = per_second(off_times, off_times[0]) if off_times else []
    done_sec = per_second(done, t0)
    say(
        f"gateway baseline: {args.agents} agents' closed-loop ping → pong on /ws: "
        f"{r['ping_rate']:.0f} messages/s"
    )
    say(
        f"completed {n}/{args.tickets} tickets in {span:.1f} s after the agents went ready "
        f"→ {n / span:.0f} completed/s end to end; steady (10 %–90 % of completions) "
        f"{steady:.0f}/s"
    )
    say(f"completions per second: {done_sec}")
    say(
        f"ticket_log to_state='offered': {off_n} rows over {off_span:.1f} s → "
        f"{off_n / off_span if off_n else 0:.0f} offered/s (median of per-second counts "
        f"{statistics.median(off_sec) if off_sec else 0}, max {max(off_sec) if off_sec else 0})"
    )
    say(f"offered per second: {off_sec}")
    say(f"ticket_log to_state='completed': {completed_log[0]} rows; tickets by state: {states}")
    for name, values in r["steps"].items():
        say("agent step " + lat_line(name, values))
    say(
        f"agent-side errors: {r['errors'] or 'none'}; server CPU {cpu * 100:.0f} % of core 0, "
        f"runnable but waiting for CPU {waited * 100:.0f} % of the time; server log: {problems}"
    )
    # Baseline: the same closed-loop pings against the echo server.
    edir = WORK / "assign-echo"
    edir.mkdir(parents=True, exist_ok=True)
    echo = Server("echo", args.port + 1, dict(os.environ), edir)
    try:
        echo.start()

        async def echo_pings() -> float:
            conns = await open_many(
                f"ws://127.0.0.1:{args.port + 1}/ws", ["x"] * args.agents, "e", echo=True
            )
            rate = await _closed_loop_pings(conns, args.ping_seconds)
            await asyncio.gather(*(c.close() for c in conns))
            return rate

        echo_rate = run_loop(echo_pings())
    finally:
        echo.stop()
    say(
        f"echo baseline: {args.agents} sockets' closed-loop round trips: {echo_rate:.0f} messages/s"
    )
    say()
    say(f"RESULT assign ({args.db}, {args.tickets} tickets, {args.agents} agents, wrap-up 0 s):")
    say(
        f"  completed/s end to end : {n / span:.0f} (steady {steady:.0f}) → target ≥ 300 "
        f"{'met' if n / span >= 300 else 'MISSED'}"
    )
    say(f"  offered transitions/s  : {off_n / off_span if off_n else 0:.0f} (ticket_log)")
    say(f"  /ws ping msgs/s        : {r['ping_rate']:.0f} (echo server: {echo_rate:.0f})")


# Command line ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description="Realtime gateway benchmarks",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8200, help="CloudWindow port; echo = +1")
    parser.add_argument(
        "--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432", help="PostgreSQL server"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="diagnosis: run the CloudWindow server under pyinstrument, reports in this folder",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("idle", help="RSS per idle connection")
    p.add_argument("--conns", type=int, default=10_000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--per-proc", type=int, default=5000, help="sockets per client process")
    p.add_argument("--concurrency", type=int, default=100, help="handshakes in flight per process")
    p.add_argument("--ramp-timeout", type=float, default=300)
    p.add_argument("--hold", type=float, default=10, help="seconds to hold the sockets open")
    p.add_argument("--settle", type=float, default=5)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.set_defaults(fn=cmd_idle)

    p = sub.add_parser("offer", help="ticket.take → offer latency")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--kiosks", type=int, default=1000)
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--rate", type=float, default=20.0, help="ticket.take per second")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--warmup-seconds", type=float, default=5.0)
    p.add_argument("--ping-rate", type=float, default=5.0)
    p.add_argument("--echo-seconds", type=float, default=20.0)
    p.set_defaults(fn=cmd_offer)

    p = sub.add_parser("reconnect", help="time for all clients to come back after a restart")
    p.add_argument("--conns", type=int, default=5000)
    p.add_argument("--per-proc", type=int, default=2500)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--kinds", default="cw,echo")
    p.add_argument("--ramp-timeout", type=float, default=300)
    p.add_argument("--recover-timeout", type=float, default=120)
    p.add_argument("--shutdown-timeout", type=float, default=180)
    p.add_argument("--settle", type=float, default=10)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.set_defaults(fn=cmd_reconnect)

    p = sub.add_parser("assign", help="assignments per second")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    p.add_argument("--tickets", type=int, default=3000)
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    p.add_argument("--ping-seconds", type=float, default=5.0)
    p.set_defaults(fn=cmd_assign)

    args = parser.parse_args()
    global PROFILE_DIR
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        PROFILE_DIR = args.profile
    pin_self()
    raise_nofile()
    WORK.mkdir(parents=True, exist_ok=True)
    args.fn(args)


if __name__ == "__main__":
    main()
