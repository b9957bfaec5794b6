"""Erlang B/C/A against textbook values, exact rational formulas, closed forms worked by
hand, limiting behaviour, and a discrete-event simulation of M/M/n+M."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudwindow.queueing.erlang import (
    agents_for_service_level,
    agents_for_service_level_a,
    average_speed_of_answer,
    erlang_a,
    erlang_b,
    erlang_c,
    service_level,
)

# ---- independent references ---------------------------------------------------------------


def exact_b(a: Fraction, n: int) -> Fraction:
    """Erlang B by its factorial definition, in exact rationals."""
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    return terms[-1] / sum(terms)


def exact_c(a: Fraction, n: int) -> Fraction:
    """Erlang C by its textbook definition, in exact rationals (A < n)."""
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def mmn_m_by_hand(lam: float, mu: float, n: int, theta: float, t: float) -> dict[str, float]:
    """M/M/n+M straight from the birth-death chain (plain products, fine for small cases),
    with the served-within-t probability from the explicit hypoexponential CDF: a
    customer finding j waiting is served with probability Π (nμ+iθ)/(nμ+(i+1)θ) after a
    sum of Exp(nμ+(i+1)θ), i = 0..j (distinct rates, so the classic formula applies)."""
    weights = [1.0]
    k = 0
    while True:
        k += 1
        death = min(k, n) * mu + max(k - n, 0) * theta
        weights.append(weights[-1] * lam / death)
        if k > n + 5 and weights[-1] < 1e-18 * sum(weights):
            break
    total = sum(weights)
    pi = [w / total for w in weights]
    queue = pi[n:]
    lq = sum(j * p for j, p in enumerate(queue))
    sl = sum(pi[:n])
    for j, p in enumerate(queue):
        served = math.prod((n * mu + i * theta) / (n * mu + (i + 1) * theta) for i in range(j + 1))
        rates = [n * mu + (i + 1) * theta for i in range(j + 1)]
        tail = sum(
            math.exp(-r * t) * math.prod(s / (s - r) for s in rates if s != r) for r in rates
        )
        sl += p * served * (1.0 - tail)
    return {
        "p_wait": sum(queue),
        "p_abandon": theta * lq / lam,
        "mean_wait": lq / lam,
        "service_level": sl,
    }


def simulate_mmn_m(
    lam: float, h: float, n: int, patience: float, customers: int, seed: int, t_sl: float
) -> dict[str, float]:
    """Customer-level FCFS simulation. A customer's wait if it stays is the time until the
    earliest server frees (earlier customers either took a server or left without using
    one), so servers' next-free times in a heap give every customer's fate exactly."""
    rng = random.Random(seed)
    free = [0.0] * n
    clock = 0.0
    warm = customers // 20
    waited = abandoned = within = 0
    total_wait = 0.0
    for i in range(customers + warm):
        clock += rng.expovariate(lam)
        wait = max(0.0, free[0] - clock)
        patience_left = rng.expovariate(1.0 / patience)
        served = wait <= patience_left
        if served:
            heapq.heapreplace(free, clock + wait + rng.expovariate(1.0 / h))
        if i < warm:
            continue
        waited += wait > 0
        abandoned += not served
        total_wait += wait if served else patience_left
        within += served and wait <= t_sl
    return {
        "p_wait": waited / customers,
        "p_abandon": abandoned / customers,
        "mean_wait": total_wait / customers,
        "service_level": within / customers,
    }


# ---- Erlang B and C -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("traffic", "servers", "expected"),
    [
        (10.0, 11, 0.6821),
        (2.0, 3, 4 / 9),
        (10.0, 14, 0.1741),
        (1.0, 2, 1 / 3),
        (10.0, 10, 1.0),  # saturated: everyone waits
        (12.0, 10, 1.0),
        (0.0, 1, 0.0),
        (0.0, 0, 1.0),
    ],
)
def test_erlang_c_textbook(traffic: float, servers: int, expected: float) -> None:
    assert erlang_c(traffic, servers) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize(
    ("traffic", "servers", "expected"),
    [(10.0, 10, 0.2146), (1.0, 1, 0.5), (2.0, 2, 0.4), (5.0, 0, 1.0), (0.0, 3, 0.0)],
)
def test_erlang_b_textbook(traffic: float, servers: int, expected: float) -> None:
    assert erlang_b(traffic, servers) == pytest.approx(expected, abs=5e-5)


@given(st.integers(1, 40), st.integers(0, 400))
def test_erlang_b_and_c_match_exact_rationals(servers: int, tenths: int) -> None:
    a = Fraction(tenths, 10)
    assert erlang_b(float(a), servers) == pytest.approx(float(exact_b(a, servers)), rel=1e-12)
    if a < servers:
        assert erlang_c(float(a), servers) == pytest.approx(float(exact_c(a, servers)), rel=1e-10)


def test_large_systems_do_not_overflow() -> None:
    c = erlang_c(5000.0, 5100)
    assert 0.0 < c < 1.0
    assert 0.0 < erlang_b(10_000.0, 10_000) < 1.0
    # 15,000 erlangs: the O(n) walk carries the recursion along, no factorials anywhere
    n = agents_for_service_level(50.0, 300.0, 20.0, 0.8, max_agents=20_000)
    assert 15_000 < n < 15_200


def test_call_centre_example() -> None:
    # 100 calls per 30 minutes, 3-minute handle time (A = 10 erlangs), 14 agents:
    # P(wait) = 17.41 %, SL(20 s) = 1 - 0.1741·e^{-4·20/180} = 88.84 %, ASA = 0.1741·180/4.
    lam, h = 100 / 1800, 180.0
    assert service_level(lam, h, 14, 20.0) == pytest.approx(
        1 - 0.174132 * math.exp(-80 / 180), abs=1e-5
    )
    assert service_level(lam, h, 14, 20.0) == pytest.approx(0.8884, abs=5e-5)
    assert average_speed_of_answer(lam, h, 14) == pytest.approx(0.174132 * 180 / 4, abs=1e-4)
    assert agents_for_service_level(lam, h, 20.0, 0.80) == 14  # 13 agents give 79.6 %
    assert service_level(lam, h, 13, 20.0) < 0.80 <= service_level(lam, h, 14, 20.0)


def test_edge_cases_of_service_level_and_asa() -> None:
    assert service_level(0.0, 300.0, 0, 20.0) == 1.0
    assert service_level(1.0, 10.0, 10, 20.0) == 0.0  # overloaded
    assert service_level(0.1, 10.0, 5, 0.0) == pytest.approx(1 - erlang_c(1.0, 5))
    assert average_speed_of_answer(1.0, 10.0, 10) == math.inf
    assert average_speed_of_answer(0.0, 10.0, 0) == 0.0
    assert agents_for_service_level(0.0, 300.0, 20.0, 0.8) == 0
    with pytest.raises(ValueError):
        agents_for_service_level(100.0, 300.0, 20.0, 0.8, max_agents=100)
    for bad in (
        lambda: erlang_b(-1.0, 3),
        lambda: erlang_c(1.0, -1),
        lambda: service_level(1.0, 0.0, 3, 20.0),
        lambda: service_level(math.nan, 10.0, 3, 20.0),
        lambda: agents_for_service_level(1.0, 10.0, 20.0, 1.0),
    ):
        with pytest.raises(ValueError):
            bad()


@given(st.floats(0.01, 200.0), st.floats(0.0, 600.0), st.floats(0.05, 0.99))
def test_agents_for_service_level_is_minimal(traffic: float, t: float, level: float) -> None:
    h = 300.0
    lam = traffic / h
    n = agents_for_service_level(lam, h, t, level)
    assert service_level(lam, h, n, t) >= level
    assert service_level(lam, h, n - 1, t) < level


@given(st.floats(0.1, 100.0), st.integers(1, 150), st.floats(0.0, 300.0))
def test_service_level_increases_with_agents_and_time(
    traffic: float, servers: int, t: float
) -> None:
    lam, h = traffic / 180.0, 180.0
    sl = service_level(lam, h, servers, t)
    assert 0.0 <= sl <= 1.0
    assert service_level(lam, h, servers + 1, t) >= sl - 1e-12
    assert service_level(lam, h, servers, t + 10.0) >= sl - 1e-12


# ---- Erlang A -----------------------------------------------------------------------------


def test_erlang_a_worked_by_hand() -> None:
    # λ = μ = θ = 1, one server: death rate in state k is k, so π is Poisson(1):
    # P(wait) = 1 - 1/e; E[Lq] = E[K] - P(K ≥ 1) = 1/e = P(abandon) = E[W].
    r = erlang_a(1.0, 1.0, 1, 1.0)
    assert r.p_wait == pytest.approx(1 - math.exp(-1), rel=1e-12)
    assert r.p_abandon == pytest.approx(math.exp(-1), rel=1e-12)
    assert r.mean_wait_s == pytest.approx(math.exp(-1), rel=1e-12)
    # A customer finding nobody waiting is served within t w.p. ½(1 - e^{-2t}).
    # Over all states the chance to be served at all is 1 - P(abandon).
    assert r.service_level(0.0) == pytest.approx(math.exp(-1), rel=1e-12)
    assert r.service_level(math.inf) == pytest.approx(1 - math.exp(-1), rel=1e-12)
    assert r.service_level(1e4) == pytest.approx(1 - math.exp(-1), rel=1e-9)


@pytest.mark.parametrize(
    ("lam", "mu", "n", "theta", "t"),
    [
        (1.0, 1.0, 1, 1.0, 0.7),
        (2.0, 1.0, 3, 0.5, 1.5),
        (4.0, 1.0, 3, 0.8, 0.4),  # overloaded but stable thanks to abandonment
        (0.5, 0.1, 6, 0.05, 12.0),
    ],
)
def test_erlang_a_matches_explicit_formulas(
    lam: float, mu: float, n: int, theta: float, t: float
) -> None:
    r = erlang_a(lam, 1 / mu, n, 1 / theta)
    ref = mmn_m_by_hand(lam, mu, n, theta, t)
    assert r.p_wait == pytest.approx(ref["p_wait"], rel=1e-9)
    assert r.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-9)
    assert r.mean_wait_s == pytest.approx(ref["mean_wait"], rel=1e-9)
    assert r.service_level(t) == pytest.approx(ref["service_level"], rel=1e-8)


@settings(deadline=None, max_examples=60)
@given(st.floats(0.5, 60.0), st.floats(1.05, 2.0), st.floats(0.0, 120.0))
def test_erlang_a_converges_to_erlang_c(traffic: float, headroom: float, t: float) -> None:
    h = 120.0
    n = math.ceil(traffic * headroom)
    lam = traffic / h
    r = erlang_a(lam, h, n, 1e9 * h)
    assert r.p_wait == pytest.approx(erlang_c(traffic, n), rel=1e-4)
    assert r.mean_wait_s == pytest.approx(average_speed_of_answer(lam, h, n), rel=1e-4)
    assert r.service_level(t) == pytest.approx(service_level(lam, h, n, t), rel=1e-4, abs=1e-7)
    assert r.p_abandon < 1e-6
    exact = erlang_a(lam, h, n, math.inf)  # infinite patience is Erlang C in closed form
    assert exact.p_wait == pytest.approx(erlang_c(traffic, n), rel=1e-12)
    assert exact.p_abandon == 0.0
    assert exact.service_level(t) == pytest.approx(service_level(lam, h, n, t), rel=1e-12)


def test_erlang_a_infinite_patience_overloaded() -> None:
    r = erlang_a(1.0, 20.0, 10, math.inf)
    assert (r.p_wait, r.p_abandon, r.mean_wait_s) == (1.0, 0.0, math.inf)
    assert r.service_level(60.0) == 0.0


@settings(deadline=None, max_examples=40)
@given(st.floats(0.5, 40.0), st.floats(10.0, 600.0), st.floats(0.0, 60.0))
def test_abandonment_falls_and_service_level_rises_with_agents(
    traffic: float, patience: float, t: float
) -> None:
    h = 300.0
    lam = traffic / h
    results = [erlang_a(lam, h, n, patience) for n in range(0, math.ceil(traffic * 2) + 3)]
    for fewer, more in itertools.pairwise(results):
        assert more.p_abandon <= fewer.p_abandon + 1e-12
        assert more.p_wait <= fewer.p_wait + 1e-12
        assert more.service_level(t) >= fewer.service_level(t) - 1e-9
    # no server: everyone waits and abandons
    assert results[0].p_wait == pytest.approx(1.0) and results[0].p_abandon == pytest.approx(1.0)
    assert results[0].service_level(t) == 0.0


@settings(deadline=None, max_examples=40)
@given(st.floats(0.5, 40.0), st.integers(1, 80), st.floats(5.0, 900.0))
def test_erlang_a_identities(traffic: float, servers: int, patience: float) -> None:
    h = 180.0
    lam = traffic / h
    r = erlang_a(lam, h, servers, patience)
    # exponential patience: P(abandon) = θ·E[W]
    assert r.p_abandon == pytest.approx(r.mean_wait_s / patience, rel=1e-9)
    # throughput: served work cannot exceed capacity, λ(1 - P(Ab))·h <= n
    assert lam * (1 - r.p_abandon) * h <= servers * (1 + 1e-9)
    assert r.mean_queue_length == pytest.approx(lam * r.mean_wait_s)
    # service level: starts at "no wait", grows with t, ends at "served at all"
    levels = [r.service_level(t) for t in (0.0, 5.0, 20.0, 60.0, 300.0)]
    assert levels[0] == pytest.approx(1 - r.p_wait, abs=1e-12)
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(levels))
    assert r.service_level(math.inf) == pytest.approx(1 - r.p_abandon, abs=1e-12)
    assert r.service_level(1e6) == pytest.approx(1 - r.p_abandon, abs=1e-9)


def test_erlang_a_many_more_agents_than_traffic() -> None:
    r = erlang_a(10 / 300, 300.0, 40, 120.0)
    assert r.p_wait < 1e-12 and r.p_abandon < 1e-12
    assert r.service_level(0.0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("lam", "h", "n", "patience", "t"),
    [
        (1.0, 10.0, 10, 20.0, 10.0),  # critically loaded, impatient
        (1 / 30, 300.0, 12, 120.0, 20.0),  # 2 citizens a minute, 5-minute service
    ],
)
def test_erlang_a_matches_simulation(
    lam: float, h: float, n: int, patience: float, t: float
) -> None:
    r = erlang_a(lam, h, n, patience)
    sim = simulate_mmn_m(lam, h, n, patience, 200_000, seed=0, t_sl=t)
    assert sim["p_wait"] == pytest.approx(r.p_wait, rel=0.03)
    assert sim["p_abandon"] == pytest.approx(r.p_abandon, rel=0.03)
    assert sim["mean_wait"] == pytest.approx(r.mean_wait_s, rel=0.03)
    assert sim["service_level"] == pytest.approx(r.service_level(t), rel=0.03)


@settings(deadline=None, max_examples=25)
@given(st.floats(0.5, 80.0), st.floats(30.0, 600.0), st.floats(0.0, 60.0), st.floats(0.3, 0.95))
def test_agents_for_service_level_a_is_minimal(
    traffic: float, patience: float, t: float, level: float
) -> None:
    h = 240.0
    lam = traffic / h
    n = agents_for_service_level_a(lam, h, patience, t, level)
    assert erlang_a(lam, h, n, patience).service_level(t) >= level
    assert erlang_a(lam, h, n - 1, patience).service_level(t) < level


def test_agents_for_service_level_a_edges() -> None:
    assert agents_for_service_level_a(0.0, 300.0, 120.0, 20.0, 0.8) == 0
    # infinite patience: the same answer as Erlang C
    assert agents_for_service_level_a(100 / 1800, 180.0, math.inf, 20.0, 0.8) == 14
    with pytest.raises(ValueError):
        agents_for_service_level_a(10.0, 300.0, 120.0, 20.0, 0.8, max_agents=100)
    with pytest.raises(ValueError):
        erlang_a(1.0, 10.0, 3, 0.0)
    with pytest.raises(ValueError):
        erlang_a(1.0, 10.0, 3, 60.0).service_level(-1.0)
