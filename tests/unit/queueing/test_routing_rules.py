"""Routing decisions: eligibility by skill, exclusion and bullseye rings; the batch route and
the incremental Router against a naive sequential greedy and a brute-force characterisation."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudwindow.queueing.rules import (
    Assignment,
    ReadyAgent,
    RingStep,
    Router,
    WaitingTicket,
    eligible_centres,
    is_eligible,
    route,
)

# ---- reference implementations (independent of rules.py) ---------------------------------


def eligible_ref(t: WaitingTicket, a: ReadyAgent, now: float) -> bool:
    """Eligibility written straight from the specification."""
    if t.skill_group not in a.skills or a.id in t.excluded_agents:
        return False
    open_rings = [r for r in t.rings if r.after_seconds <= now - t.enqueued_at]
    if any(r.centres is None for r in open_rings):
        return True
    return any(r.centres is not None and a.centre in r.centres for r in open_rings)


def route_reference(
    tickets: Sequence[WaitingTicket], agents: Sequence[ReadyAgent], now: float
) -> list[Assignment]:
    """The O(T·A) sequential greedy: tickets by (rank, enqueued_at, id), each takes the
    longest-idle (idle_since, id) eligible agent not yet taken."""
    taken: set[int] = set()
    out: list[Assignment] = []
    for t in sorted(tickets, key=lambda t: (t.rank, t.enqueued_at, t.id)):
        best: ReadyAgent | None = None
        for a in agents:
            if a.id in taken or not eligible_ref(t, a, now):
                continue
            if best is None or (a.idle_since, a.id) < (best.idle_since, best.id):
                best = a
        if best is not None:
            taken.add(best.id)
            out.append(Assignment(t.id, best.id))
    return out


def brute_force(
    tickets: Sequence[WaitingTicket], agents: Sequence[ReadyAgent], now: float
) -> list[frozenset[tuple[int, int]]]:
    """Every matching satisfying the rule stated declaratively (no processing order):
    an assigned ticket holds the longest-idle eligible agent among those not held by a
    ticket before it; an unassigned ticket has no eligible agent outside those held by
    tickets before it. Exactly one matching should qualify."""
    order = sorted(tickets, key=lambda t: (t.rank, t.enqueued_at, t.id))
    pos = {t.id: i for i, t in enumerate(order)}
    by_id = {a.id: a for a in agents}
    pairs = [(t.id, a.id) for t in tickets for a in agents if eligible_ref(t, a, now)]
    found: list[frozenset[tuple[int, int]]] = []
    for size in range(min(len(tickets), len(agents)) + 1):
        for combo in itertools.combinations(pairs, size):
            ts = [p[0] for p in combo]
            ag = [p[1] for p in combo]
            if len(set(ts)) < size or len(set(ag)) < size:
                continue
            holder = dict(combo)
            ok = True
            for t in order:
                before = {holder[u.id] for u in order[: pos[t.id]] if u.id in holder}
                free = [a for a in agents if a.id not in before and eligible_ref(t, a, now)]
                best = min(free, key=lambda a: (a.idle_since, a.id), default=None)
                mine = holder.get(t.id)
                if (best is None) != (mine is None) or (
                    best is not None and mine is not None and by_id[mine] != best
                ):
                    ok = False
                    break
            if ok:
                found.append(frozenset(combo))
    return found


# ---- strategies -------------------------------------------------------------------------

SKILLS = ("a", "b", "c")
CENTRES = (1, 2, 3)

ring_centres = st.one_of(st.none(), st.frozensets(st.sampled_from(CENTRES), max_size=3))
rings_st = st.lists(
    st.builds(RingStep, st.sampled_from([0.0, 5.0, 10.0, 30.0]), ring_centres),
    min_size=0,
    max_size=3,
).map(tuple)


@st.composite
def instances(
    draw: st.DrawFn, max_tickets: int = 10, max_agents: int = 8
) -> tuple[list[WaitingTicket], list[ReadyAgent], float]:
    """Small random instances with shared ring profiles, ties in times and exclusions."""
    agent_ids = draw(st.lists(st.integers(0, 30), unique=True, max_size=max_agents))
    agents = [
        ReadyAgent(
            id=i,
            skills=draw(st.frozensets(st.sampled_from(SKILLS), max_size=3)),
            centre=draw(st.one_of(st.none(), st.sampled_from(CENTRES))),
            idle_since=float(draw(st.integers(0, 6))),
        )
        for i in agent_ids
    ]
    profiles = draw(st.lists(rings_st, min_size=1, max_size=3))
    ticket_ids = draw(st.lists(st.integers(0, 50), unique=True, max_size=max_tickets))
    excluded = st.one_of(
        st.just(frozenset[int]()),
        st.frozensets(st.sampled_from(agent_ids), max_size=2) if agent_ids else st.nothing(),
    )
    tickets = [
        WaitingTicket(
            id=i,
            skill_group=draw(st.sampled_from(SKILLS)),
            rank=draw(st.integers(0, 2)),
            enqueued_at=float(draw(st.integers(0, 20))),
            rings=draw(st.sampled_from(profiles)),
            excluded_agents=draw(excluded),
        )
        for i in ticket_ids
    ]
    now = float(draw(st.integers(0, 45)))
    return tickets, agents, now


# ---- table-driven eligibility -------------------------------------------------------------

BULLSEYE = (
    RingStep(0.0, frozenset({1})),
    RingStep(60.0, frozenset({2, 3})),
    RingStep(180.0, None),
)


def ticket(
    id: int = 1,
    skill: str = "a",
    rank: int = 2,
    at: float = 0.0,
    rings: tuple[RingStep, ...] = BULLSEYE,
    excluded: frozenset[int] = frozenset(),
) -> WaitingTicket:
    return WaitingTicket(id, skill, rank, at, rings, excluded)


def agent(id: int = 1, skills: str = "a", centre: int | None = 1, idle: float = 0.0) -> ReadyAgent:
    return ReadyAgent(id, frozenset(skills), centre, idle)


@pytest.mark.parametrize(
    ("rings", "waited", "expected"),
    [
        (BULLSEYE, 0.0, frozenset({1})),
        (BULLSEYE, 59.9, frozenset({1})),
        (BULLSEYE, 60.0, frozenset({1, 2, 3})),
        (BULLSEYE, 180.0, None),
        ((RingStep(10.0, frozenset({1})),), 5.0, frozenset()),  # no ring open yet
        ((), 100.0, frozenset()),  # no rings at all: nobody
        ((RingStep(0.0, None),), 0.0, None),
        # rings need not be listed in opening order
        ((RingStep(30.0, frozenset({4})), RingStep(0.0, frozenset({5}))), 30.0, frozenset({4, 5})),
        ((RingStep(30.0, None), RingStep(0.0, frozenset({5}))), 29.0, frozenset({5})),
    ],
)
def test_eligible_centres(
    rings: tuple[RingStep, ...], waited: float, expected: frozenset[int] | None
) -> None:
    assert eligible_centres(ticket(at=1000.0, rings=rings), 1000.0 + waited) == expected


@pytest.mark.parametrize(
    ("t", "a", "now", "expected"),
    [
        (ticket(), agent(), 0.0, True),
        (ticket(), agent(skills="b"), 0.0, False),  # skill missing
        (ticket(), agent(skills="ab"), 0.0, True),
        (ticket(excluded=frozenset({1})), agent(), 0.0, False),  # declined before
        (ticket(), agent(centre=2), 59.0, False),  # outer ring not open yet
        (ticket(), agent(centre=2), 60.0, True),
        (ticket(), agent(centre=9), 179.0, False),
        (ticket(), agent(centre=9), 180.0, True),  # any centre
        (ticket(), agent(centre=None), 179.0, False),  # no home centre: only "any"
        (ticket(), agent(centre=None), 180.0, True),
        (ticket(at=50.0), agent(), 10.0, False),  # now before enqueued_at: no ring open
    ],
)
def test_is_eligible(t: WaitingTicket, a: ReadyAgent, now: float, expected: bool) -> None:
    assert is_eligible(t, a, now) is expected
    assert eligible_ref(t, a, now) is expected


# ---- table-driven routing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tickets", "agents", "now", "expected"),
    [
        ("empty", [], [], 0.0, []),
        ("no agents", [ticket()], [], 0.0, []),
        (
            "priority class before age",
            [ticket(1, rank=2, at=0.0), ticket(2, rank=0, at=50.0)],
            [agent(7)],
            60.0,
            [(2, 7)],
        ),
        (
            "older first within a class, then id",
            [ticket(3, at=5.0), ticket(2, at=5.0), ticket(1, at=9.0)],
            [agent(7)],
            10.0,
            [(2, 7)],
        ),
        (
            "longest idle agent, tie by lower id",
            [ticket(1)],
            [agent(9, idle=3.0), agent(8, idle=1.0), agent(4, idle=1.0)],
            0.0,
            [(1, 4)],
        ),
        (
            "each ticket takes the next longest idle",
            [ticket(1, at=0.0), ticket(2, at=1.0)],
            [agent(5, idle=2.0), agent(6, idle=1.0)],
            1.0,
            [(1, 6), (2, 5)],
        ),
        (
            "blocked ticket does not block a later one with another skill",
            [ticket(1, skill="a", at=0.0), ticket(2, skill="b", at=1.0)],
            [agent(5, skills="b")],
            1.0,
            [(2, 5)],
        ),
        (
            "ring not open: an agent at a far centre waits for the wider ring",
            [ticket(1, at=0.0)],
            [agent(5, centre=2)],
            30.0,
            [],
        ),
        (
            "older ticket's wider ring reaches the far agent; the newer one's does not",
            [ticket(1, at=0.0), ticket(2, at=100.0)],
            [agent(5, centre=2)],
            120.0,
            [(1, 5)],
        ),
        (
            "newer ticket overtakes only because the older one excluded the agent",
            [ticket(1, at=0.0, excluded=frozenset({5})), ticket(2, at=1.0)],
            [agent(5)],
            2.0,
            [(2, 5)],
        ),
        (
            "excluded agent skipped for the next longest idle",
            [ticket(1, excluded=frozenset({5}))],
            [agent(5, idle=0.0), agent(6, idle=1.0)],
            0.0,
            [(1, 6)],
        ),
        (
            "homeless agent serves only an 'any centre' ring",
            [ticket(1, at=0.0), ticket(2, at=150.0)],
            [agent(5, centre=None), agent(6, centre=1, idle=9.0)],
            200.0,
            [(1, 5), (2, 6)],
        ),
    ],
)
def test_route_table(
    name: str,
    tickets: list[WaitingTicket],
    agents: list[ReadyAgent],
    now: float,
    expected: list[tuple[int, int]],
) -> None:
    got = route(tickets, agents, now)
    assert [(x.ticket_id, x.agent_id) for x in got] == expected, name
    assert got == route_reference(tickets, agents, now), name


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ValueError):
        route([ticket(1), ticket(1)], [], 0.0)
    with pytest.raises(ValueError):
        route([], [agent(1), agent(1)], 0.0)
    with pytest.raises(ValueError):
        Router().add_ticket(ticket(at=float("nan")))
    with pytest.raises(ValueError):
        Router().add_agent(agent(idle=float("nan")))


def test_offer_timeout_returns_to_place() -> None:
    """A ticket whose offer timed out is re-added with its ORIGINAL enqueued_at (and the
    agent excluded): it is back at its place, ahead of tickets that arrived after it."""
    r = Router()
    for t in (ticket(1, at=0.0), ticket(2, at=5.0), ticket(3, at=9.0)):
        r.add_ticket(t)
    r.add_agent(agent(7))
    assert r.next_assignment(10.0) == Assignment(1, 7)
    # agent 7 missed the offer: ticket 1 comes back, agent 7 comes back later
    r.add_ticket(ticket(1, at=0.0, excluded=frozenset({7})))
    r.add_agent(agent(8, idle=11.0))
    r.add_agent(agent(7, idle=12.0))
    assert r.next_assignment(12.0) == Assignment(1, 8)
    assert r.next_assignment(12.0) == Assignment(2, 7)
    assert r.ticket_count == 1 and r.agent_count == 0


def test_remove_unknown_returns_none() -> None:
    r = Router()
    assert r.remove_ticket(1) is None and r.remove_agent(1) is None
    r.add_ticket(ticket(1))
    assert r.remove_ticket(1) == ticket(1)
    assert r.next_assignment(0.0) is None and r.assign_all(0.0) == []


# ---- properties -----------------------------------------------------------------------


@settings(max_examples=400)
@given(instances())
def test_route_equals_sequential_greedy(
    inst: tuple[list[WaitingTicket], list[ReadyAgent], float],
) -> None:
    tickets, agents, now = inst
    assert route(tickets, agents, now) == route_reference(tickets, agents, now)


@settings(max_examples=300)
@given(instances())
def test_route_properties(inst: tuple[list[WaitingTicket], list[ReadyAgent], float]) -> None:
    tickets, agents, now = inst
    got = route(tickets, agents, now)
    t_by = {t.id: t for t in tickets}
    a_by = {a.id: a for a in agents}
    holder = {x.ticket_id: x.agent_id for x in got}
    # (a) only eligible pairs; each ticket and each agent at most once
    assert len(holder) == len(got) == len(set(holder.values()))
    assert all(eligible_ref(t_by[x.ticket_id], a_by[x.agent_id], now) for x in got)
    free = [a for a in agents if a.id not in set(holder.values())]
    waiting = [t for t in tickets if t.id not in holder]
    # (b) maximal: no free agent is eligible for a waiting ticket
    assert not any(eligible_ref(t, a, now) for t in waiting for a in free)
    for x in got:
        t2, a = t_by[x.ticket_id], a_by[x.agent_id]
        for t1 in waiting:
            if not eligible_ref(t1, a, now):
                continue
            # (c) no overtaking within a class by a ticket the earlier one could have had
            same_class = t1.skill_group == t2.skill_group and t1.rank == t2.rank
            assert not (same_class and (t1.enqueued_at, t1.id) < (t2.enqueued_at, t2.id))
            # (d) no waiting ticket of a better priority class could have had this agent
            assert not t1.rank < t2.rank
    # (e) longest idle: each assigned agent is the longest idle among those eligible
    # and not taken by a ticket decided earlier (route returns decisions in order)
    taken: set[int] = set()
    for x in got:
        t = t_by[x.ticket_id]
        pool = [a for a in agents if a.id not in taken and eligible_ref(t, a, now)]
        assert min(pool, key=lambda a: (a.idle_since, a.id)).id == x.agent_id
        taken.add(x.agent_id)


@settings(max_examples=150)
@given(instances(max_tickets=4, max_agents=4))
def test_route_is_the_unique_brute_force_matching(
    inst: tuple[list[WaitingTicket], list[ReadyAgent], float],
) -> None:
    tickets, agents, now = inst
    matchings = brute_force(tickets, agents, now)
    got = frozenset((x.ticket_id, x.agent_id) for x in route(tickets, agents, now))
    assert matchings == [got]


@settings(max_examples=200)
@given(instances())
def test_next_assignment_repeated_equals_assign_all(
    inst: tuple[list[WaitingTicket], list[ReadyAgent], float],
) -> None:
    tickets, agents, now = inst
    r = Router()
    for t in tickets:
        r.add_ticket(t)
    for a in agents:
        r.add_agent(a)
    steps: list[Assignment] = []
    while (x := r.next_assignment(now)) is not None:
        steps.append(x)
    assert steps == route_reference(tickets, agents, now)


class Model:
    """What the Router must agree with: plain dicts and the reference greedy."""

    def __init__(self) -> None:
        self.tickets: dict[int, WaitingTicket] = {}
        self.agents: dict[int, ReadyAgent] = {}

    def next(self, now: float) -> Assignment | None:
        out = route_reference(list(self.tickets.values()), list(self.agents.values()), now)
        if not out:
            return None
        del self.tickets[out[0].ticket_id], self.agents[out[0].agent_id]
        return out[0]


def _run_ops(rng: random.Random, steps: int, check_every: int = 1) -> None:
    r, m = Router(), Model()
    profiles = [
        BULLSEYE,
        (RingStep(0.0, frozenset({2})), RingStep(20.0, frozenset({1, 3}))),
        (RingStep(0.0, None),),
        (RingStep(15.0, frozenset({1, 2})),),
    ]
    now = 0.0
    next_id = 0
    for step in range(steps):
        op = rng.random()
        now += rng.choice([0.0, 0.0, 1.0, 7.0])
        if op < 0.30:
            next_id += 1
            t = WaitingTicket(
                next_id,
                rng.choice(SKILLS),
                rng.randrange(3),
                now - rng.choice([0.0, 0.0, 10.0, 40.0]),
                rng.choice(profiles),
            )
            r.add_ticket(t)
            m.tickets[t.id] = t
        elif op < 0.45 and m.tickets:
            # requeue after a timeout: original place, the agent that missed it excluded
            t = rng.choice(list(m.tickets.values()))
            assert r.remove_ticket(t.id) == t
            back = WaitingTicket(
                t.id,
                t.skill_group,
                t.rank,
                t.enqueued_at,
                t.rings,
                t.excluded_agents | {rng.randrange(12)},
            )
            r.add_ticket(back)
            m.tickets[t.id] = back
        elif op < 0.55 and m.tickets:
            t = rng.choice(list(m.tickets.values()))
            assert r.remove_ticket(t.id) == m.tickets.pop(t.id)
        elif op < 0.75:
            aid = rng.randrange(12)
            if aid in m.agents:
                assert r.remove_agent(aid) == m.agents.pop(aid)
            else:
                a = ReadyAgent(
                    aid,
                    frozenset(rng.sample(SKILLS, rng.randint(1, 2))),
                    rng.choice([None, 1, 2, 3]),
                    now - rng.choice([0.0, 3.0]),
                )
                r.add_agent(a)
                m.agents[aid] = a
        elif op < 0.97:
            assert r.next_assignment(now) == m.next(now), step
        else:
            expected = route_reference(list(m.tickets.values()), list(m.agents.values()), now)
            assert r.assign_all(now) == expected, step
            for x in expected:
                del m.tickets[x.ticket_id], m.agents[x.agent_id]
        assert r.ticket_count == len(m.tickets) and r.agent_count == len(m.agents)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_router_operation_sequences_match_model(seed: int) -> None:
    _run_ops(random.Random(seed), 120)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_router_long_run_with_heap_compaction(seed: int) -> None:
    # Long enough that lazily deleted entries pile up and every heap gets compacted.
    _run_ops(random.Random(seed), 6000)


def test_heaps_stay_bounded_under_churn() -> None:
    # Removing tickets and agents from the middle of their heaps leaves dead entries that
    # never reach the top; the heaps must be compacted and decisions stay right.
    rng = random.Random(7)
    r, m = Router(), Model()
    for i in range(300):
        t = ticket(i, at=float(i), rings=(RingStep(0.0, None),))
        r.add_ticket(t)
        m.tickets[i] = t
    for i in range(60):
        a = agent(i, centre=i % 3, idle=float(i))
        r.add_agent(a)
        m.agents[i] = a
    next_ticket, next_idle = 300, 60.0
    for _ in range(5000):
        victim = rng.choice(sorted(m.tickets)[1:])  # never the head
        r.remove_ticket(victim)
        del m.tickets[victim]
        t = ticket(next_ticket, at=float(next_ticket), rings=(RingStep(0.0, None),))
        r.add_ticket(t)
        m.tickets[t.id] = t
        next_ticket += 1
        gone = rng.choice(sorted(m.agents, key=lambda i: m.agents[i].idle_since)[1:])
        r.remove_agent(gone)
        back = agent(gone, centre=gone % 3, idle=next_idle)
        next_idle += 1.0
        r.add_agent(back)
        m.agents[gone] = back
    queues = list(r._queues.values())
    assert len(queues) == 1 and len(queues[0].heap) <= 2 * 300 + 32
    assert all(len(h.heap) <= 2 * h.live + 32 for h in r._agent_heaps.values())
    for _ in range(20):
        assert r.next_assignment(1e6) == m.next(1e6)
