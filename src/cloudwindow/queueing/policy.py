"""Pure queue policy: priority classes and bullseye rings (no I/O)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from cloudwindow.queueing.rules import RingStep


class Priority(StrEnum):
    NORMAL = "normal"
    ELDERLY = "elderly"  # 70 岁以上老年人
    DISABLED = "disabled"  # 残疾人
    APPOINTMENT = "appointment"  # 预约


# Lower rank is served first; first come, first served within a rank.
RANK = {Priority.ELDERLY: 0, Priority.DISABLED: 0, Priority.APPOINTMENT: 1, Priority.NORMAL: 2}
NUMBER_PREFIX = {0: "P", 1: "Y", 2: "A"}  # 优先 / 预约 / 普通


def ticket_number(rank: int, ticket_id: int) -> str:
    """The number a citizen sees and hears called: A023, P007."""
    return f"{NUMBER_PREFIX[rank]}{ticket_id % 1000:03d}"


def build_rings(home_centres: frozenset[int], overflow_after: list[int]) -> list[RingStep]:
    """Bullseye rings for a ticket: first the agent offices at the item's own level
    (``home_centres``), then after each overflow delay the next ring outward; the last
    ring is every centre. With no home centre, every centre is eligible at once."""
    if not home_centres:
        return [RingStep(0.0, None)]
    rings = [RingStep(0.0, home_centres)]
    rings.append(RingStep(float(overflow_after[0] if overflow_after else 0), None))
    return rings


def rings_to_json(rings: list[RingStep]) -> list[list[object]]:
    return [[r.after_seconds, sorted(r.centres) if r.centres is not None else None] for r in rings]


def rings_from_json(raw: list[list[Any]]) -> tuple[RingStep, ...]:
    return tuple(
        RingStep(float(after), frozenset(int(c) for c in centres) if centres is not None else None)
        for after, centres in raw
    )
