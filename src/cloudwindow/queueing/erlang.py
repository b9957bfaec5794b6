"""Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M) staffing formulas, pure and stdlib only.

Units: rates per second, times in seconds, traffic in erlangs (arrival rate × mean handle
time). Erlang B is computed with its stable recursion, never with factorials; Erlang A
from the birth-death stationary distribution (in log space, truncated once the tail is
below 1e-16 of the mass), as in Garnett, Mandelbaum & Reiman (2002) and Mandelbaum &
Zeltyn, "The M/M/n+G queue: summary of performance measures".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Erlang A truncation: stop once the remaining tail is below this fraction of the mass.
_TAIL = 1e-17
# Refuse (rather than hang) when the queue part would need more states than this: only
# an overloaded system with near-infinite patience gets there.
_MAX_QUEUE_STATES = 2_000_000
# Uniformisation sub-interval length in units of the uniformisation rate: keeps
# exp(-Λτ) far from underflow and the Poisson series short.
_UNIFORM_STEP = 30.0
_POISSON_EPS = 1e-14


def _check_servers(servers: int) -> None:
    if servers < 0:
        raise ValueError("servers must be >= 0")


def _check_rate(name: str, value: float, *, positive: bool = False) -> None:
    ok = value > 0 if positive else value >= 0
    if not (ok and math.isfinite(value)):
        raise ValueError(f"{name} must be finite and {'> 0' if positive else '>= 0'}")


def erlang_b(traffic_erlangs: float, servers: int) -> float:
    """Blocking probability of M/M/n/n with ``traffic_erlangs`` offered to ``servers``.

    Recursion B(0) = 1, B(k) = A·B(k-1) / (k + A·B(k-1)): every term is in [0, 1].
    """
    _check_rate("traffic_erlangs", traffic_erlangs)
    _check_servers(servers)
    b = 1.0
    for k in range(1, servers + 1):
        ab = traffic_erlangs * b
        b = ab / (k + ab)
    return b


def _c_from_b(traffic: float, servers: int, b: float) -> float:
    # Standard identity C = n·B / (n - A·(1 - B)), valid for A < n.
    return servers * b / (servers - traffic * (1.0 - b))


def erlang_c(traffic_erlangs: float, servers: int) -> float:
    """Probability that an arrival waits in M/M/n (Erlang C); 1.0 when traffic >= servers."""
    _check_rate("traffic_erlangs", traffic_erlangs)
    _check_servers(servers)
    if traffic_erlangs >= servers:
        return 1.0
    return _c_from_b(traffic_erlangs, servers, erlang_b(traffic_erlangs, servers))


def service_level(
    arrival_rate_per_s: float, mean_handle_s: float, servers: int, target_answer_s: float
) -> float:
    """Erlang C probability of being answered within ``target_answer_s``.

    1 - C·exp(-(n - A)·t/h). 1.0 with no arrivals; 0.0 when overloaded (A >= n), where
    the steady-state wait is unbounded.
    """
    _check_rate("arrival_rate_per_s", arrival_rate_per_s)
    _check_rate("mean_handle_s", mean_handle_s, positive=True)
    _check_rate("target_answer_s", target_answer_s)
    _check_servers(servers)
    if arrival_rate_per_s == 0:
        return 1.0
    traffic = arrival_rate_per_s * mean_handle_s
    if traffic >= servers:
        return 0.0
    c = erlang_c(traffic, servers)
    return 1.0 - c * math.exp(-(servers - traffic) * target_answer_s / mean_handle_s)


def average_speed_of_answer(arrival_rate: float, mean_handle: float, servers: int) -> float:
    """Erlang C mean wait over all arrivals, C·h/(n - A); ``math.inf`` when n <= A."""
    _check_rate("arrival_rate", arrival_rate)
    _check_rate("mean_handle", mean_handle, positive=True)
    _check_servers(servers)
    if arrival_rate == 0:
        return 0.0
    traffic = arrival_rate * mean_handle
    if servers <= traffic:
        return math.inf
    return erlang_c(traffic, servers) * mean_handle / (servers - traffic)


def _check_level(target_level: float) -> None:
    if not 0 < target_level < 1:
        raise ValueError("target_level must be in (0, 1)")


def agents_for_service_level(
    arrival_rate: float,
    mean_handle: float,
    target_answer_s: float,
    target_level: float,
    max_agents: int = 10_000,
) -> int:
    """Smallest n whose Erlang C service level reaches ``target_level`` (0 < level < 1).

    0 with no arrivals. Raises ValueError if more than ``max_agents`` would be needed.
    Walks n upwards carrying the Erlang B recursion along, so the cost is O(n).
    """
    _check_rate("arrival_rate", arrival_rate)
    _check_rate("mean_handle", mean_handle, positive=True)
    _check_rate("target_answer_s", target_answer_s)
    _check_level(target_level)
    if arrival_rate == 0:
        return 0
    traffic = arrival_rate * mean_handle
    b = 1.0
    for n in range(1, max_agents + 1):
        ab = traffic * b
        b = ab / (n + ab)
        if traffic < n:
            c = _c_from_b(traffic, n, b)
            level = 1.0 - c * math.exp(-(n - traffic) * target_answer_s / mean_handle)
            if level >= target_level:
                return n
    raise ValueError(f"more than {max_agents} agents needed")


# ---- Erlang A --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErlangAResult:
    """Steady-state measures of M/M/n+M (Erlang A), seen by an arriving customer.

    ``p_wait``: P(W > 0). ``p_abandon``: P(abandon). ``mean_wait_s``: E[time in queue]
    over all arrivals, served or abandoning. ``mean_queue_length``: E[waiting customers].
    """

    arrival_rate: float
    servers: int
    p_wait: float
    p_abandon: float
    mean_wait_s: float
    mean_queue_length: float
    _service_rate: float = field(repr=False)  # n·μ, total rate of service completions
    _theta: float = field(repr=False)  # 1 / mean patience; 0 = infinite patience
    _p_immediate: float = field(repr=False)  # P(served at once), summed on its own
    _queue_probs: tuple[float, ...] = field(repr=False)  # P(arrival finds n + j), j = 0..

    def service_level(self, target_answer_s: float) -> float:
        """P(served and waited <= ``target_answer_s``): abandoners count as missed.

        A customer finding j others waiting is served after j+1 stages: in stage i (i
        customers ahead) the line moves at rate nμ + iθ (a service completion or an
        abandonment ahead) while the customer itself abandons at rate θ. This absorbing
        chain is evaluated for all starting states at once by uniformisation (sums of
        non-negative Poisson-weighted terms, so no cancellation).
        """
        if not target_answer_s >= 0:
            raise ValueError("target_answer_s must be >= 0")
        immediate = self._p_immediate
        if math.isinf(target_answer_s):
            return 1.0 - self.p_abandon if math.isfinite(self.mean_wait_s) else immediate
        if self._theta == 0:
            # Infinite patience: Erlang C, whose waiting time given a wait is
            # exponential with rate nμ - λ.
            slack = self._service_rate - self.arrival_rate
            if slack <= 0:
                return immediate
            return 1.0 - self.p_wait * math.exp(-slack * target_answer_s)
        return immediate + _served_within(
            self._queue_probs, self._service_rate, self._theta, target_answer_s
        )


def _served_within(probs: tuple[float, ...], nmu: float, theta: float, t: float) -> float:
    """Sum over j of probs[j] · P(served within t | j ahead on arrival), by uniformisation."""
    if not probs or nmu == 0:
        return 0.0
    top = len(probs) - 1
    rate = nmu + (top + 1) * theta  # largest total out-rate (stage top: moves + own loss)
    move = [(nmu + i * theta) / rate for i in range(top + 1)]  # line advances
    stay = [1.0 - (nmu + (i + 1) * theta) / rate for i in range(top + 1)]
    v = list(probs)
    served = 0.0
    remaining = rate * t
    while remaining > 0:
        x = min(remaining, _UNIFORM_STEP)
        remaining -= x
        # One sub-interval: v(τ) = Σ_k Pois(k; x) · v·P^k, P the uniformised jump chain.
        weight = math.exp(-x)
        acc = [weight * p for p in v]
        acc_served = 0.0
        cumulative = weight
        k = 0
        cur = v
        while cumulative < 1.0 - _POISSON_EPS and k < x + 40.0 * math.sqrt(x) + 40:
            k += 1
            gain = cur[0] * move[0]
            nxt = [cur[i] * stay[i] + cur[i + 1] * move[i + 1] for i in range(top)]
            nxt.append(cur[top] * stay[top])
            cur = nxt
            weight *= x / k
            cumulative += weight
            # served mass gained by step k counts for every later step too
            acc_served += gain * (1.0 - (cumulative - weight))
            for i in range(top + 1):
                acc[i] += weight * cur[i]
        served += acc_served
        v = acc
        if sum(v) < _TAIL:  # everyone still waiting is served or gone: nothing left to add
            break
    return served


def erlang_a(
    arrival_rate: float, mean_handle: float, servers: int, mean_patience: float
) -> ErlangAResult:
    """Erlang A (M/M/n+M): Poisson arrivals, exponential handle times and patience.

    ``mean_patience`` may be ``math.inf`` (no abandonment: Erlang C, closed form). The
    stationary distribution of the birth-death chain (birth λ; death kμ for k <= n,
    nμ + jθ in state n + j) is computed in log space and truncated once the tail is
    negligible; then P(wait) = Σ_{k>=n} π_k, E[Lq] = Σ j·π_{n+j}, abandonment rate θ·E[Lq]
    so P(abandon) = θ·E[Lq]/λ, and E[W] = E[Lq]/λ by Little's law.
    """
    _check_rate("arrival_rate", arrival_rate)
    _check_rate("mean_handle", mean_handle, positive=True)
    _check_servers(servers)
    if not mean_patience > 0:
        raise ValueError("mean_patience must be > 0")
    mu = 1.0 / mean_handle
    nmu = servers * mu
    theta = 0.0 if math.isinf(mean_patience) else 1.0 / mean_patience
    if arrival_rate == 0:
        return ErlangAResult(arrival_rate, servers, 0.0, 0.0, 0.0, 0.0, nmu, theta, 1.0, ())
    if theta == 0:
        traffic = arrival_rate * mean_handle
        if traffic >= servers:
            return ErlangAResult(
                arrival_rate, servers, 1.0, 0.0, math.inf, math.inf, nmu, theta, 0.0, ()
            )
        c = erlang_c(traffic, servers)
        wait = c / (nmu - arrival_rate)
        return ErlangAResult(
            arrival_rate, servers, c, 0.0, wait, wait * arrival_rate, nmu, theta, 1.0 - c, ()
        )

    log_lam = math.log(arrival_rate)
    logs = [0.0]
    level = 0.0
    for k in range(1, servers + 1):
        level += log_lam - math.log(k * mu)
        logs.append(level)
    peak = max(logs)
    j = 0
    while True:
        j += 1
        if j > _MAX_QUEUE_STATES:
            raise ValueError("patience too long for an overloaded system to truncate")
        level += log_lam - math.log(nmu + j * theta)
        logs.append(level)
        peak = max(peak, level)
        # Terms are log-concave (death rates increase), so once the next ratio r < 1 the
        # tail after this term is at most term · r/(1 - r).
        ratio = arrival_rate / (nmu + (j + 1) * theta)
        if ratio < 1 and level + math.log(ratio / (1 - ratio)) < peak + math.log(_TAIL):
            break
    weights = [math.exp(x - peak) for x in logs]
    total = math.fsum(weights)
    probs = [w / total for w in weights]
    queue_probs = tuple(probs[servers:])
    p_wait = min(1.0, math.fsum(queue_probs))
    lq = math.fsum(i * p for i, p in enumerate(queue_probs))
    return ErlangAResult(
        arrival_rate,
        servers,
        p_wait,
        min(1.0, theta * lq / arrival_rate),
        lq / arrival_rate,
        lq,
        nmu,
        theta,
        # summed apart from p_wait so that, e.g., no servers gives exactly 0
        min(1.0, math.fsum(probs[:servers])),
        queue_probs,
    )


def agents_for_service_level_a(
    arrival_rate: float,
    mean_handle: float,
    mean_patience: float,
    target_answer_s: float,
    target_level: float,
    max_agents: int = 10_000,
) -> int:
    """Smallest n whose Erlang A service level (served within the target) reaches the level.

    Binary search (the level increases with n). 0 with no arrivals. Raises ValueError if
    more than ``max_agents`` would be needed.
    """
    _check_rate("arrival_rate", arrival_rate)
    _check_rate("target_answer_s", target_answer_s)
    _check_level(target_level)
    if arrival_rate == 0:
        return 0

    def ok(n: int) -> bool:
        return (
            erlang_a(arrival_rate, mean_handle, n, mean_patience).service_level(target_answer_s)
            >= target_level
        )

    # Start the doubling near the offered load: fewer agents than that rarely suffice.
    hi = min(max_agents, max(1, int(arrival_rate * mean_handle)))
    lo = 0
    while not ok(hi):
        lo = hi
        if hi >= max_agents:
            raise ValueError(f"more than {max_agents} agents needed")
        hi = min(max_agents, hi * 2)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
