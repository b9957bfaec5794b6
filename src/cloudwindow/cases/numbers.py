"""Case numbers (办件编号): ``CW`` + China-local date + ``-`` + a six-digit daily sequence,
e.g. ``CW20261127-000042`` — readable aloud, unique, and sorted like the filing order.

The sequence comes from ``case_number_counters`` (one row per day), bumped with a single
upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``) inside the opening transaction:
the row lock it takes makes two nodes opening cases at once get different numbers, and
a rolled-back opening returns its number (no gaps from failures, no duplicates ever).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.cases.deadlines import china_date
from cloudwindow.cases.models import CaseNumberCounter

PREFIX = "CW"
_LOOSE = re.compile(r"^CW(\d{8})(\d{6,9})$")


def format_number(day: str, seq: int) -> str:
    return f"{PREFIX}{day}-{seq:06d}"


def normalize_number(raw: str) -> str | None:
    """The canonical number a citizen meant (``cw 20261127 000042`` → ``CW20261127-000042``),
    or None if it cannot be one."""
    compact = re.sub(r"[\s\-_]", "", raw).upper()
    m = _LOOSE.match(compact)
    return format_number(m.group(1), int(m.group(2))) if m else None


async def next_case_number(session: AsyncSession, now: datetime) -> str:
    """Allocate the next number of ``now``'s day (China time), in the caller's transaction."""
    day = china_date(now).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(CaseNumberCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(
            index_elements=[CaseNumberCounter.day], set_={"last": CaseNumberCounter.last + 1}
        )
        .returning(CaseNumberCounter.last)
    )
    seq = (await session.execute(stmt)).scalar_one()
    return format_number(day, int(seq))
