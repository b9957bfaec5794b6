"""Planner's staffing table from Erlang C and Erlang A (pure; uses ``erlang``)."""

from __future__ import annotations

import math

from cloudwindow.queueing import erlang
from cloudwindow.queueing.schemas import StaffingPlan, StaffingRow

# A cloud-window skill group is staffed by tens of agents; beyond this, refuse.
MAX_AGENTS = 2_000


def plan(
    arrivals_per_hour: float,
    mean_handle_seconds: float,
    target_answer_seconds: float,
    target_level: float,
    mean_patience_seconds: float | None = None,
) -> StaffingPlan:
    """Agents needed for the target, and the measures around that number."""
    rate = arrivals_per_hour / 3600.0
    needed = erlang.agents_for_service_level(
        rate, mean_handle_seconds, target_answer_seconds, target_level, max_agents=MAX_AGENTS
    )
    needed_a = None
    if mean_patience_seconds is not None:
        # Abandonment only lightens the load, so Erlang A never needs more agents than
        # Erlang C: a binary search over 1..needed (a dozen evaluations) is enough.
        lo, hi = 1, max(needed, 1)
        while lo < hi:
            mid = (lo + hi) // 2
            result = erlang.erlang_a(rate, mean_handle_seconds, mid, mean_patience_seconds)
            if result.service_level(target_answer_seconds) >= target_level:
                hi = mid
            else:
                lo = mid + 1
        needed_a = lo
    low = max(1, min(needed, needed_a or needed) - 2)
    rows = []
    for n in range(low, max(needed, needed_a or 0) + 4):
        traffic = rate * mean_handle_seconds
        asa = erlang.average_speed_of_answer(rate, mean_handle_seconds, n)
        row = StaffingRow(
            agents=n,
            service_level=round(
                erlang.service_level(rate, mean_handle_seconds, n, target_answer_seconds), 4
            ),
            asa_seconds=None if math.isinf(asa) else round(asa, 1),
            p_wait=round(erlang.erlang_c(traffic, n), 4),
        )
        if mean_patience_seconds is not None:
            a = erlang.erlang_a(rate, mean_handle_seconds, n, mean_patience_seconds)
            row.p_abandon = round(a.p_abandon, 4)
            row.service_level_with_abandonment = round(a.service_level(target_answer_seconds), 4)
        rows.append(row)
    return StaffingPlan(
        traffic_erlangs=round(rate * mean_handle_seconds, 3),
        agents_needed=needed,
        agents_needed_with_abandonment=needed_a,
        rows=rows,
    )
