"""Cost of the live queue's write actions, in-process, on a fresh database.

Two measurements, both against the real database (no sockets, so this is the server's
own cost per action; ``ws_bench.py`` measures the same through the gateway):

* ``cycle``: one ticket's whole life, one action at a time, for ``--cycles`` tickets:
  ``take`` → ``match`` → ``accept`` → ``end`` → ``wrap_up.done``. Per action: wall time
  p50/p99 and SQL statements sent.
* ``match``: ``--queued`` tickets waiting and ``--agents`` ready agents; how long the
  matcher needs to persist all the assignments it can make (ticket offered + agent
  offered + logs + outbox events, committed) → persisted assignments per second.

    taskset -c 1 .venv/bin/python bench/queue_actions_bench.py --db postgres
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ws_bench import GROUP, ITEM, BenchDB, code_state, machine, seed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(url: str, args: argparse.Namespace) -> None:
    from sqlalchemy import event, func, select

    from cloudwindow.accounts.models import User
    from cloudwindow.accounts.permissions import DEVICE_PERMISSIONS, permissions_for
    from cloudwindow.accounts.principal import Principal
    from cloudwindow.config import Settings
    from cloudwindow.fleet.models import Terminal
    from cloudwindow.queueing import actions
    from cloudwindow.queueing.models import Ticket
    from cloudwindow.queueing.schemas import SetAgentState, TakeTicket
    from cloudwindow.services import Services

    await seed(url, kiosks=max(args.cycles, args.queued, 10), agents=max(args.agents, 1))
    services = Services.standalone(Settings(database_url=url, log_level="WARNING"))
    statements = 0
    trace = False

    @event.listens_for(services.db.engine.sync_engine, "before_cursor_execute")
    def count(_c: Any, _cur: Any, sql: str, *_: Any) -> None:
        nonlocal statements
        statements += 1
        if trace:
            print("    SQL", " ".join(sql.split())[:150])

    # Where an action's CPU goes: inside ORM flushes (unit of work: INSERT/UPDATE of
    # changed rows), and inside the driver's execute of each statement (both nest: a
    # flush's statements count in both).
    split = {"flush": 0.0, "execute": 0.0}
    marks: dict[str, float] = {}

    from sqlalchemy.orm import Session

    @event.listens_for(Session, "before_flush")
    def flush_start(*_: Any) -> None:
        marks["flush"] = time.process_time()

    @event.listens_for(Session, "after_flush_postexec")
    def flush_end(*_: Any) -> None:
        split["flush"] += time.process_time() - marks.pop("flush", time.process_time())

    @event.listens_for(services.db.engine.sync_engine, "before_cursor_execute")
    def execute_start(*_: Any) -> None:
        marks["execute"] = time.process_time()

    @event.listens_for(services.db.engine.sync_engine, "after_cursor_execute")
    def execute_end(*_: Any) -> None:
        split["execute"] += time.process_time() - marks.pop("execute", time.process_time())

    async with services.db.read() as s:
        kiosks = [
            Principal("device", t.id, t.serial_number, permissions=DEVICE_PERMISSIONS)
            for t in await s.scalars(
                select(Terminal).where(Terminal.serial_number.like("WSB%")).order_by(Terminal.id)
            )
        ]
        agents = [
            Principal(
                "user", u.id, u.username, roles=("agent",), permissions=permissions_for(["agent"])
            )
            for u in await s.scalars(
                select(User).where(User.username.like("wsb%")).order_by(User.id)
            )
        ]
    times: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    sqls: dict[str, list[int]] = defaultdict(list)

    in_flush: dict[str, list[float]] = defaultdict(list)
    in_execute: dict[str, list[float]] = defaultdict(list)

    async def timed(name: str, coro: Any) -> Any:
        nonlocal statements
        before, started, cpu0 = statements, time.perf_counter(), time.process_time()
        flush0, execute0 = split["flush"], split["execute"]
        result = await coro
        times[name].append(time.perf_counter() - started)
        cpu[name].append(time.process_time() - cpu0)
        sqls[name].append(statements - before)
        in_flush[name].append(split["flush"] - flush0)
        in_execute[name].append(split["execute"] - execute0)
        return result

    # cycle: one agent, one ticket at a time
    agent = agents[0]
    await actions.do_set_agent_state(services, agent, SetAgentState(state="ready"))
    for i in range(args.cycles + 5):
        kiosk = kiosks[i % len(kiosks)]
        view = await timed(
            "take", actions.do_take_ticket(services, kiosk, TakeTicket(service_item_code=ITEM))
        )
        made = await timed("match", actions.do_match(services))
        assert made == 1, made
        await timed("accept", actions.do_accept_offer(services, agent, view.id))
        await timed("end", actions.do_end_session(services, agent, view.id))
        await timed("wrap_up.done", actions.do_finish_wrap_up(services, agent))
        if args.trace and i == 3:
            trace = True
            print("trace of one ticket's life:")
        if i == 4:  # warm-up done
            trace = False
            times.clear()
            cpu.clear()
            sqls.clear()
            in_flush.clear()
            in_execute.clear()
    print(f"cycle ({args.cycles} tickets, one at a time):")
    total = total_cpu = 0.0
    for name in ("take", "match", "accept", "end", "wrap_up.done"):
        values = times[name]
        total += statistics.mean(values)
        total_cpu += statistics.mean(cpu[name])
        print(
            f"  {name:13s} wall p50 {pct(values, 50) * 1000:6.2f} p99 {pct(values, 99) * 1000:6.2f}"
            f" mean {statistics.mean(values) * 1000:6.2f} ms;"
            f" CPU of this process mean {statistics.mean(cpu[name]) * 1000:5.2f} ms;"
            f" SQL {statistics.mean(sqls[name]):.1f}"
            f" (CPU in flush {statistics.mean(in_flush[name]) * 1000:5.2f},"
            f" in statement execute {statistics.mean(in_execute[name]) * 1000:5.2f})"
        )
    print(f"  whole life    wall mean {total * 1000:.1f} ms, CPU mean {total_cpu * 1000:.1f} ms")

    # match: many queued, many ready
    await actions.do_set_agent_state(services, agent, SetAgentState(state="offline"))
    for kiosk in kiosks[: args.queued]:
        await actions.do_take_ticket(services, kiosk, TakeTicket(service_item_code=ITEM))
    for a in agents[: args.agents]:
        await actions.do_set_agent_state(services, a, SetAgentState(state="ready"))
    before, started, cpu0 = statements, time.perf_counter(), time.process_time()
    made = rounds = 0
    while True:
        n = await actions.do_match(services)
        rounds += 1
        if n == 0:
            break
        made += n
    elapsed = time.perf_counter() - started
    used = time.process_time() - cpu0
    async with services.db.read() as s:
        offered = await s.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.state == "offered")
        )
    print(
        f"match: {args.queued} queued ({GROUP}), {args.agents} ready agents → {made} assignments"
        f" persisted in {elapsed * 1000:.0f} ms over {rounds} rounds"
        f" ({statements - before} SQL; CPU of this process {used * 1000:.0f} ms)"
        f" = {made / elapsed:,.0f} assignments/s;"
        f" offered in the database: {offered}"
    )
    await services.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument(
        "--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432", help="server"
    )
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--queued", type=int, default=3000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--trace", action="store_true", help="print the SQL of one cycle")
    args = parser.parse_args()
    args.cycles = max(args.cycles, 10)
    print(f"# queue_actions_bench {args.db}: {machine()}; code {code_state()}")
    db = BenchDB(args.db, "actions", args.pg_url)
    db.create()
    try:
        asyncio.run(run(db.url, args))
    finally:
        db.drop()


if __name__ == "__main__":
    main()
