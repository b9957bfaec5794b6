"""In-process wake-ups between actions and the node's background loops.

An action that changes the queue calls ``signals.queue_changed(groups)`` after commit;
the node's matcher wakes at once instead of waiting for its next tick, and the position
broadcaster recomputes the groups marked dirty. Losing a signal is harmless: the loops
also run on a timer, and every decision is made from the database, never from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class Signals:
    def __init__(self) -> None:
        self.match = asyncio.Event()
        self.dirty_groups: set[str] = set()
        self.all_dirty = False  # agents changed: every group's wait estimate may move

    def queue_changed(
        self, skill_groups: Iterable[str] | None = None, *, match: bool = True
    ) -> None:
        """Positions of these groups (None: all) may have moved. ``match=False`` when the
        change cannot make a new pair (an offer accepted, the matcher's own offers): the
        matcher is not woken for a round that would find nothing."""
        if skill_groups is None:
            self.all_dirty = True
        else:
            self.dirty_groups.update(skill_groups)
        if match:
            self.match.set()

    def take_dirty(self) -> tuple[bool, set[str]]:
        all_dirty, groups = self.all_dirty, self.dirty_groups
        self.all_dirty, self.dirty_groups = False, set()
        return all_dirty, groups
