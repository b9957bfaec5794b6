"""Routing benchmark: decisions of the incremental Router against a naive scan.

    taskset -c 1 .venv/bin/python bench/routing_bench.py [--decisions N] [--naive N]

Builds a waiting line of tickets over 30 skill groups (ranks 0/1/2 at 10/20/70 %, a
bullseye of 2–3 rings of 3–5 centres around one of 20 home centres, 2 % carrying an
excluded agent after a missed offer) and 1,000 agents holding 2–5 skills each. Two
scenarios, each timing only the decision call (``next_assignment``), with the line kept
at its size by adding a ticket after every decision:

* ready pool — all 1,000 agents ready; the agent taken is re-added as just-idle;
* one agent frees up — agents are busy and become ready one at a time (the usual server
  case: a long line, and an agent finishing a call asks for the next ticket);
* nothing eligible — the only ready agent holds a skill no ticket needs: the worst case,
  where every decision walks everything it has (Router: queue heads; naive: tickets).

The naive reference (the line kept sorted; per decision, walk it in order and scan all
ready agents for each ticket) runs the same scenarios at 10,000 tickets, with fewer
decisions. Target: ≥ 5,000 decisions/s and p99 ≤ 1 ms at 10,000 tickets / 1,000 agents,
and no growth with the length of the line.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import time
from bisect import insort
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cloudwindow.queueing.rules import (
    Assignment,
    ReadyAgent,
    RingStep,
    Router,
    WaitingTicket,
    is_eligible,
)

SKILLS = [f"skill-{i:02d}" for i in range(30)]
CENTRES = list(range(1, 21))
AGENTS = 1_000


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pinned = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return (
        f"{platform.node()} · {os.cpu_count()} cores ({pinned} usable) · {cpu} · Python "
        f"{platform.python_version()} · {platform.system()} {platform.release()}"
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class World:
    """Deterministic generator of tickets and agents."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.next_ticket = 0
        self.profiles: dict[int, tuple[RingStep, ...]] = {}
        for origin in CENTRES:
            others = [c for c in CENTRES if c != origin]
            self.rng.shuffle(others)
            rings = [RingStep(0.0, frozenset([origin, *others[: self.rng.randint(2, 4)]]))]
            del others[:4]
            for after in (120.0, 300.0)[: self.rng.randint(1, 2)]:
                rings.append(RingStep(after, frozenset(others[: self.rng.randint(3, 5)])))
                del others[:5]
            self.profiles[origin] = tuple(rings)

    def ticket(self, enqueued_at: float) -> WaitingTicket:
        self.next_ticket += 1
        rng = self.rng
        roll = rng.random()
        excluded = frozenset([rng.randrange(AGENTS)]) if rng.random() < 0.02 else frozenset()
        return WaitingTicket(
            id=self.next_ticket,
            skill_group=rng.choice(SKILLS),
            rank=0 if roll < 0.1 else 1 if roll < 0.3 else 2,
            enqueued_at=enqueued_at,
            rings=self.profiles[rng.choice(CENTRES)],
            excluded_agents=excluded,
        )

    def agent(self, agent_id: int, idle_since: float) -> ReadyAgent:
        rng = self.rng
        return ReadyAgent(
            id=agent_id,
            skills=frozenset(rng.sample(SKILLS, rng.randint(2, 5))),
            centre=rng.choice(CENTRES),
            idle_since=idle_since,
        )


class NaiveRouter:
    """The reference rule done the obvious way: sorted line, full agent scan per ticket."""

    def __init__(self) -> None:
        self.line: list[tuple[int, float, int, WaitingTicket]] = []
        self.agents: dict[int, ReadyAgent] = {}

    def add_ticket(self, t: WaitingTicket) -> None:
        insort(self.line, (t.rank, t.enqueued_at, t.id, t))

    def add_agent(self, a: ReadyAgent) -> None:
        self.agents[a.id] = a

    def next_assignment(self, now: float) -> Assignment | None:
        for i, (_, _, _, t) in enumerate(self.line):
            best: ReadyAgent | None = None
            for a in self.agents.values():
                if is_eligible(t, a, now) and (
                    best is None or (a.idle_since, a.id) < (best.idle_since, best.id)
                ):
                    best = a
            if best is not None:
                del self.line[i]
                del self.agents[best.id]
                return Assignment(t.id, best.id)
        return None


Decider = Router | NaiveRouter


def run(
    make: Callable[[], Decider], tickets: int, decisions: int, scenario: str, seed: int = 1
) -> dict[str, float]:
    """Time ``decisions`` calls of next_assignment; returns rate and latency figures."""
    world = World(seed)
    router = make()
    now = 10_000.0
    for _ in range(tickets):
        router.add_ticket(world.ticket(now - world.rng.uniform(0.0, 600.0)))
    agents = {i: world.agent(i, now - world.rng.uniform(0.0, 60.0)) for i in range(AGENTS)}
    busy = list(agents)
    if scenario == "ready pool":
        for a in agents.values():
            router.add_agent(a)
        busy.clear()
    elif scenario == "nothing eligible":
        router.add_agent(ReadyAgent(AGENTS, frozenset({"skill-rare"}), CENTRES[0], now))
        busy.clear()
    latencies: list[float] = []
    misses = 0
    clock = time.perf_counter
    for _ in range(decisions):
        now += 0.05
        if scenario != "ready pool" and busy:
            freed = busy.pop(world.rng.randrange(len(busy)))
            agents[freed] = replace(agents[freed], idle_since=now)
            router.add_agent(agents[freed])
        t0 = clock()
        decision = router.next_assignment(now)
        latencies.append(clock() - t0)
        if decision is None:
            misses += 1
            continue
        router.add_ticket(world.ticket(now))
        if scenario == "ready pool":
            back = agents[decision.agent_id] = replace(agents[decision.agent_id], idle_since=now)
            router.add_agent(back)
        else:
            busy.append(decision.agent_id)
    total = sum(latencies)
    out = {
        "decisions/s": len(latencies) / total,
        "p50 ms": pct(latencies, 50) * 1e3,
        "p99 ms": pct(latencies, 99) * 1e3,
        "max ms": max(latencies) * 1e3,
        "no decision": float(misses),
    }
    if isinstance(router, Router):
        out["queues"] = float(router.queue_count)
    return out


def show(label: str, figures: dict[str, float]) -> None:
    queues = f"  queues {figures['queues']:>5.0f}" if "queues" in figures else " " * 14
    print(
        f"  {label:<34} {figures['decisions/s']:>10,.0f}/s   p50 {figures['p50 ms']:7.3f} ms"
        f"   p99 {figures['p99 ms']:7.3f} ms   max {figures['max ms']:7.3f} ms{queues}"
        f"   no decision {figures['no decision']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=300)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    now = datetime.datetime.now(datetime.UTC)
    print(f"date: {now:%Y-%m-%d %H:%M} UTC")
    print(f"agents: {AGENTS}, skills: {len(SKILLS)}, centres: {len(CENTRES)}")
    for scenario in ("ready pool", "one agent frees up", "nothing eligible"):
        print(f"\nscenario: {scenario}")
        for tickets in (1_000, 10_000, 100_000):
            show(f"Router, {tickets:,} waiting", run(Router, tickets, args.decisions, scenario))
        for tickets in (1_000, 10_000, 100_000)[: 3 if scenario == "nothing eligible" else 2]:
            show(f"naive, {tickets:,} waiting", run(NaiveRouter, tickets, args.naive, scenario))


if __name__ == "__main__":
    main()
