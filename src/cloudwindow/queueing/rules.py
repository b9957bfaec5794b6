"""Pure routing decisions and wait estimates for the cloud-window queue (no I/O).

Routing rule (what a supervisor trusts): waiting tickets are served in the global order
``(rank, enqueued_at, id)``; each ticket takes the longest-idle eligible ready agent
(smallest ``idle_since``, tie → lower id) not already taken; a ticket with no eligible
agent keeps waiting and the next ticket is considered. ``route`` gives that batch decision;
``Router`` is the incremental index a server keeps between decisions, whose cost grows
with the number of distinct queues, not with the number of waiting tickets.

A ticket whose offer times out (or that an agent declines) is removed and re-added with
its ORIGINAL ``enqueued_at`` (and, usually, the agent in ``excluded_agents``), so it
returns to its place in line, not to the back.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass
from heapq import heapify, heappop, heappush
from itertools import count

# Lazily deleted heaps are rebuilt once they hold more than this many entries beyond
# twice their live ones: small enough to bound memory, large enough to amortise the copy.
_COMPACT_SLACK = 32


@dataclass(frozen=True, slots=True)
class RingStep:
    """One bullseye ring: once the ticket has waited ``after_seconds``, agents whose home
    centre is in ``centres`` (None = any centre) become eligible for it."""

    after_seconds: float
    centres: frozenset[int] | None


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    """A ticket waiting for an agent.

    ``rank`` is the priority class (0 = elderly 70+/disabled, 1 = appointment, 2 = normal;
    lower first). ``enqueued_at`` is the ticket's ORIGINAL place in line: a ticket whose
    offer timed out is re-added with the same value and so returns to its place.
    """

    id: int
    skill_group: str
    rank: int
    enqueued_at: float
    rings: tuple[RingStep, ...]
    excluded_agents: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class ReadyAgent:
    """An agent ready for a ticket; smaller ``idle_since`` (longer idle) is served first."""

    id: int
    skills: frozenset[str]
    centre: int | None
    idle_since: float


@dataclass(frozen=True, slots=True)
class Assignment:
    """One routing decision: offer ticket ``ticket_id`` to agent ``agent_id``."""

    ticket_id: int
    agent_id: int


def eligible_centres(ticket: WaitingTicket, now: float) -> frozenset[int] | None:
    """Home centres of the agents eligible for ``ticket`` at ``now``; None means any centre.

    The union of the centres of every ring open at ``now`` (``after_seconds`` <= time
    waited). An empty set when no ring is open yet: the ticket is eligible for nobody.
    """
    waited = now - ticket.enqueued_at
    centres: set[int] = set()
    for ring in ticket.rings:
        if ring.after_seconds <= waited:
            if ring.centres is None:
                return None
            centres |= ring.centres
    return frozenset(centres)


def is_eligible(ticket: WaitingTicket, agent: ReadyAgent, now: float) -> bool:
    """Whether ``agent`` may be offered ``ticket`` at ``now``: skill, not excluded, centre."""
    if ticket.skill_group not in agent.skills or agent.id in ticket.excluded_agents:
        return False
    centres = eligible_centres(ticket, now)
    return centres is None or (agent.centre is not None and agent.centre in centres)


def route(
    tickets: Iterable[WaitingTicket], agents: Iterable[ReadyAgent], now: float
) -> list[Assignment]:
    """The batch routing decision at ``now``, in the order the decisions are made.

    Tickets are taken in the global order ``(rank, enqueued_at, id)``; each takes the
    longest-idle (``idle_since``, then id) eligible agent not already taken, or keeps
    waiting. Identical to that sequential greedy, computed with a ``Router``. Raises
    ValueError on duplicate ticket or agent ids.
    """
    router = Router()
    for ticket in tickets:
        router.add_ticket(ticket)
    for agent in agents:
        router.add_agent(agent)
    return router.assign_all(now)


class _Queue:
    """Tickets sharing (skill group, rank, rings, excluded agents), by (enqueued_at, id).

    Sharing all of these makes eligibility monotone along the queue: an earlier ticket has
    waited at least as long, so its open rings are a superset of a later ticket's. Hence if
    the head has no eligible agent, no ticket of the queue has one.
    """

    __slots__ = (
        "_thresholds",
        "centres",
        "excluded",
        "head",
        "heap",
        "key",
        "live",
        "rank",
        "skill",
    )

    def __init__(self, key: _QueueKey) -> None:
        skill, rank, rings, excluded = key
        self.key = key
        self.skill = skill
        self.rank = rank
        self.excluded = excluded
        ordered = sorted(rings, key=lambda r: r.after_seconds)
        self.heap: list[tuple[float, int, int]] = []  # (enqueued_at, id, seq), lazy deletion
        self.live = 0
        self.head: _Head | None = None  # this queue's entry in the sorted heads list
        # Cumulative eligible centres once the first i+1 rings (by opening time) are open.
        thresholds: list[float] = []
        centres: list[frozenset[int] | None] = []
        acc: frozenset[int] | None = frozenset()
        for ring in ordered:
            if acc is not None:
                acc = None if ring.centres is None else acc | ring.centres
            thresholds.append(ring.after_seconds)
            centres.append(acc)
        self._thresholds = thresholds
        self.centres = centres

    def centres_at(self, waited: float) -> frozenset[int] | None:
        """Eligible centres for a ticket of this queue that has waited ``waited`` seconds."""
        i = bisect_right(self._thresholds, waited)
        return frozenset() if i == 0 else self.centres[i - 1]


class _AgentHeap:
    """Agents holding one skill (at one centre, or at any centre) by (idle_since, id)."""

    __slots__ = ("heap", "live")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, int]] = []  # (idle_since, id, seq), lazy deletion
        self.live = 0


_QueueKey = tuple[str, int, tuple[RingStep, ...], frozenset[int]]
# (rank, enqueued_at, id, seq, queue): seq is unique, so ordering never compares queues.
_Head = tuple[int, float, int, int, _Queue]


class Router:
    """Incremental routing index; decisions identical to ``route``'s sequential greedy.

    Tickets live in queues keyed by (skill group, rank, rings, excluded agents), each a
    heap on (enqueued_at, id). The current head of every non-empty queue sits in one
    list sorted on (rank, enqueued_at, id) (bisect: one entry per queue, replaced when the
    head changes, so the walk below meets no stale entries; the insertion memmove is one
    pointer per queue). Agents live in heaps on
    (idle_since, id) per (skill, centre) and per (skill, any centre). The heaps use lazy
    deletion: entries carry a sequence number and are live while their id maps to it.

    A decision walks the queue heads in global order and stops at the first one with an
    eligible free agent; a head without one blocks its whole queue (monotone
    eligibility, see ``_Queue``). Cost per decision: O(heads visited · centres in the
    open rings), independent of queue length; a head whose skill no ready agent holds is
    skipped with one dict lookup.

    Excluded agents: tickets with different ``excluded_agents`` go to different queues, so
    the monotonicity argument stays exact and a later ticket overtakes an earlier one of
    the same class only when the earlier one is not eligible for that agent. Declined
    tickets are rare, so this adds few queues; in the worst case (every ticket declined by
    a different agent) the cost degrades to linear in the number of such tickets. Finding
    the best non-excluded agent walks the agent heap best-first, visiting only the
    excluded (and not yet purged) entries ahead of the answer.
    """

    def __init__(self) -> None:
        self._seq = count()
        self._tickets: dict[int, tuple[WaitingTicket, int, _Queue]] = {}
        self._ticket_seq: dict[int, int] = {}
        self._queues: dict[_QueueKey, _Queue] = {}
        self._heads: list[_Head] = []  # sorted
        self._agents: dict[int, ReadyAgent] = {}
        self._agent_seq: dict[int, int] = {}
        self._agent_heaps: dict[tuple[str, int | None], _AgentHeap] = {}

    @property
    def ticket_count(self) -> int:
        """Number of waiting tickets in the index."""
        return len(self._tickets)

    @property
    def queue_count(self) -> int:
        """Number of non-empty queues: what the cost of a decision grows with."""
        return len(self._queues)

    @property
    def agent_count(self) -> int:
        """Number of ready agents in the index."""
        return len(self._agents)

    # ---- tickets -------------------------------------------------------------------------

    def add_ticket(self, ticket: WaitingTicket) -> None:
        """Add a waiting ticket. Re-add a timed-out ticket with its original ``enqueued_at``
        so it returns to its place. Raises ValueError on a duplicate id or a non-finite
        ``enqueued_at``/NaN ring time."""
        if ticket.id in self._tickets:
            raise ValueError(f"ticket {ticket.id} is already waiting")
        if not math.isfinite(ticket.enqueued_at):
            raise ValueError("enqueued_at must be finite")
        if any(math.isnan(r.after_seconds) for r in ticket.rings):
            raise ValueError("ring after_seconds must not be NaN")
        key: _QueueKey = (ticket.skill_group, ticket.rank, ticket.rings, ticket.excluded_agents)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue(key)
        seq = next(self._seq)
        heappush(queue.heap, (ticket.enqueued_at, ticket.id, seq))
        queue.live += 1
        self._tickets[ticket.id] = (ticket, seq, queue)
        self._ticket_seq[ticket.id] = seq
        if len(queue.heap) > 2 * queue.live + _COMPACT_SLACK:
            self._compact_queue(queue)
        self._refresh_head(queue)

    def remove_ticket(self, ticket_id: int) -> WaitingTicket | None:
        """Remove a ticket (taken, cancelled, offered); returns it, or None if unknown."""
        record = self._tickets.pop(ticket_id, None)
        if record is None:
            return None
        ticket, _, queue = record
        del self._ticket_seq[ticket_id]
        queue.live -= 1
        if queue.live == 0:
            del self._queues[queue.key]
            queue.heap.clear()
            self._drop_head(queue)
        else:
            self._refresh_head(queue)
        return ticket

    def _compact_queue(self, queue: _Queue) -> None:
        seqs = self._ticket_seq
        queue.heap = [e for e in queue.heap if seqs.get(e[1]) == e[2]]
        heapify(queue.heap)

    def _refresh_head(self, queue: _Queue) -> None:
        # Keeps the invariant: the heads list holds exactly the current head of every
        # non-empty queue, and every queue's heap top is live.
        heap, seqs = queue.heap, self._ticket_seq
        while seqs.get(heap[0][1]) != heap[0][2]:
            heappop(heap)
        enqueued_at, ticket_id, seq = heap[0]
        if queue.head is not None and queue.head[3] == seq:
            return
        self._drop_head(queue)
        queue.head = (queue.rank, enqueued_at, ticket_id, seq, queue)
        insort(self._heads, queue.head)

    def _drop_head(self, queue: _Queue) -> None:
        if queue.head is not None:
            i = bisect_left(self._heads, queue.head)
            assert self._heads[i] is queue.head
            del self._heads[i]
            queue.head = None

    # ---- agents --------------------------------------------------------------------------

    def add_agent(self, agent: ReadyAgent) -> None:
        """Add a ready agent. Raises ValueError on a duplicate id or a NaN ``idle_since``."""
        if agent.id in self._agents:
            raise ValueError(f"agent {agent.id} is already ready")
        if math.isnan(agent.idle_since):
            raise ValueError("idle_since must not be NaN")
        seq = next(self._seq)
        self._agents[agent.id] = agent
        self._agent_seq[agent.id] = seq
        entry = (agent.idle_since, agent.id, seq)
        for key in _agent_keys(agent):
            heap = self._agent_heaps.get(key)
            if heap is None:
                heap = self._agent_heaps[key] = _AgentHeap()
            heappush(heap.heap, entry)
            heap.live += 1
            if len(heap.heap) > 2 * heap.live + _COMPACT_SLACK:
                seqs = self._agent_seq
                heap.heap = [e for e in heap.heap if seqs.get(e[1]) == e[2]]
                heapify(heap.heap)

    def remove_agent(self, agent_id: int) -> ReadyAgent | None:
        """Remove a ready agent (offered, logged out, busy); returns it, or None if unknown."""
        agent = self._agents.pop(agent_id, None)
        if agent is None:
            return None
        del self._agent_seq[agent_id]
        for key in _agent_keys(agent):
            heap = self._agent_heaps[key]
            heap.live -= 1
            if heap.live == 0:
                del self._agent_heaps[key]
        return agent

    def _best_in(self, heap: _AgentHeap, excluded: frozenset[int]) -> tuple[float, int, int] | None:
        entries, seqs = heap.heap, self._agent_seq
        while entries and seqs.get(entries[0][1]) != entries[0][2]:
            heappop(entries)
        if not entries:
            return None
        top = entries[0]
        if top[1] not in excluded:
            return top
        # Best-first walk of the heap array: yields entries in sorted order, visiting only
        # those smaller than the answer (the excluded and stale ones) and their children.
        frontier = [(top, 0)]
        size = len(entries)
        while frontier:
            entry, i = heappop(frontier)
            if seqs.get(entry[1]) == entry[2] and entry[1] not in excluded:
                return entry
            for child in (2 * i + 1, 2 * i + 2):
                if child < size:
                    heappush(frontier, (entries[child], child))
        return None

    def _best_agent(self, queue: _Queue, enqueued_at: float, now: float) -> int | None:
        """Longest-idle eligible agent for a ticket of ``queue`` enqueued at ``enqueued_at``."""
        heaps = self._agent_heaps
        anywhere = heaps.get((queue.skill, None))
        if anywhere is None:  # nobody ready holds the skill: the cheap, common rejection
            return None
        centres = queue.centres_at(now - enqueued_at)
        if centres is None:
            found = self._best_in(anywhere, queue.excluded)
            return None if found is None else found[1]
        best: tuple[float, int, int] | None = None
        for centre in centres:
            heap = heaps.get((queue.skill, centre))
            if heap is not None:
                entry = self._best_in(heap, queue.excluded)
                if entry is not None and (best is None or entry < best):
                    best = entry
        return None if best is None else best[1]

    # ---- decisions -----------------------------------------------------------------------

    def _assign(self, ticket_id: int, agent_id: int) -> Assignment:
        self.remove_ticket(ticket_id)
        self.remove_agent(agent_id)
        return Assignment(ticket_id, agent_id)

    def next_assignment(self, now: float) -> Assignment | None:
        """The single next decision at ``now``, removing its ticket and agent from the index.

        The globally first ticket (rank, enqueued_at, id) that has an eligible ready agent,
        with its longest-idle eligible agent; None when no ticket can be served.
        """
        if not self._agents:
            return None
        for _, enqueued_at, ticket_id, _, queue in self._heads:
            agent_id = self._best_agent(queue, enqueued_at, now)
            if agent_id is not None:
                return self._assign(ticket_id, agent_id)  # ends the walk: heads changes
        return None

    def assign_all(self, now: float) -> list[Assignment]:
        """All decisions at ``now`` (the batch ``route``), removing them from the index.

        Equal to calling ``next_assignment(now)`` until it returns None, but a queue whose
        head finds no agent is dropped for the rest of the call (agents only get taken),
        so the cost is O((decisions + queues) · log) rather than per-decision walks.
        """
        pending = list(self._heads)  # sorted, hence already a heap
        out: list[Assignment] = []
        while pending and self._agents:
            _, enqueued_at, ticket_id, _, queue = heappop(pending)
            agent_id = self._best_agent(queue, enqueued_at, now)
            if agent_id is None:
                continue  # the queue is blocked for the rest of this call
            out.append(self._assign(ticket_id, agent_id))
            if queue.live:
                enqueued_at, ticket_id, seq = queue.heap[0]
                heappush(pending, (queue.rank, enqueued_at, ticket_id, seq, queue))
        return out


def _agent_keys(agent: ReadyAgent) -> list[tuple[str, int | None]]:
    # (skill, None) indexes the agent for tickets eligible at any centre; an agent with
    # no home centre can only serve those.
    keys: list[tuple[str, int | None]] = []
    for skill in agent.skills:
        keys.append((skill, None))
        if agent.centre is not None:
            keys.append((skill, agent.centre))
    return keys


# ---- wait estimates -----------------------------------------------------------------------


def expected_wait_seconds(
    position: int,
    agents_serving: int,
    mean_handle_seconds: float,
    *,
    free_agents: int = 0,
    wrap_up_seconds: float = 0.0,
) -> float:
    """Expected wait of the ticket at 1-based ``position`` in its queue.

    Model: the ``agents_serving`` agents of the group (ready, ringing, in session or
    wrapping up) each take a new ticket every ``h + w`` seconds on average: an
    exponential handle time of mean ``mean_handle_seconds`` (h) followed by the wrap-up
    (w). With all of them busy, departures form a Poisson process of rate n/(h + w), so the
    expected time until ``position`` departures is ``position · (h + w) / n`` —
    memorylessness makes this independent of how long the current calls have lasted.
    ``free_agents`` of them are ready right now and take the first ``free_agents``
    tickets at once (wait 0), so only the rest of the line waits for departures.
    Returns 0 for ``position`` <= ``free_agents`` and ``math.inf`` when no agent serves
    the group (the caller shows "no agent available").
    """
    if mean_handle_seconds < 0 or math.isnan(mean_handle_seconds):
        raise ValueError("mean_handle_seconds must be >= 0")
    if wrap_up_seconds < 0 or math.isnan(wrap_up_seconds):
        raise ValueError("wrap_up_seconds must be >= 0")
    ahead = position - max(0, free_agents)
    if ahead <= 0:
        return 0.0
    if agents_serving <= 0:
        return math.inf
    return ahead * (mean_handle_seconds + wrap_up_seconds) / agents_serving


class HandleTimeStats:
    """Exponentially weighted mean handle time of one skill group (one instance per group).

    A sample ``half_life`` samples old weighs half as much as the newest. The mean is the
    weighted average of the samples seen (weights normalised, so the first sample is the
    mean exactly rather than being dragged towards the prior); ``prior_seconds`` is used
    until a sample arrives.
    """

    __slots__ = ("_decay", "_prior", "_samples", "_weight", "_weighted_sum")

    def __init__(self, half_life: float = 50.0, prior_seconds: float = 300.0) -> None:
        """``half_life`` in number of samples (> 0); ``prior_seconds`` (>= 0)."""
        if not half_life > 0 or math.isinf(half_life):
            raise ValueError("half_life must be a positive number of samples")
        if not (prior_seconds >= 0 and math.isfinite(prior_seconds)):
            raise ValueError("prior_seconds must be finite and >= 0")
        self._decay = 0.5 ** (1.0 / half_life)
        self._prior = float(prior_seconds)
        self._weighted_sum = 0.0
        self._weight = 0.0
        self._samples = 0

    def update(self, sample_seconds: float) -> None:
        """Record one handle time in seconds (finite, >= 0)."""
        if not (sample_seconds >= 0 and math.isfinite(sample_seconds)):
            raise ValueError("a handle time must be finite and >= 0")
        self._weighted_sum = self._decay * self._weighted_sum + sample_seconds
        self._weight = self._decay * self._weight + 1.0
        self._samples += 1

    @property
    def mean(self) -> float:
        """The current estimate in seconds (the prior until the first sample)."""
        if self._samples == 0:
            return self._prior
        # Clamp: rounding could put the ratio a hair outside the samples' range.
        return max(0.0, self._weighted_sum / self._weight)

    @property
    def samples(self) -> int:
        """Number of samples recorded."""
        return self._samples
