"""Shared list plumbing: page parameters, the page envelope and a counting query."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel
from sqlalchemy import Select, func
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class PageParams(BaseModel):
    page: int = 1
    page_size: int = 20


def page_params(
    page: Annotated[int, Query(ge=1, le=100_000, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, description="Rows per page")] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


async def fetch_page(
    session: AsyncSession, stmt: Select[Any], params: PageParams
) -> tuple[list[Any], int]:
    """Rows of one page of ``stmt`` plus the total row count of the unpaged query.

    One round trip: the total rides along as ``COUNT(*) OVER ()`` (SQLite ≥ 3.25 and
    PostgreSQL); only a page past the end needs a separate count. ``stmt`` selects one
    entity, without GROUP BY.
    """
    paged = (
        stmt.add_columns(func.count().over().label("_total"))
        .limit(params.page_size)
        .offset((params.page - 1) * params.page_size)
    )
    rows = (await session.execute(paged)).all()
    if rows:
        return [row[0] for row in rows], int(rows[0][-1])
    if params.page == 1:
        return [], 0
    count = stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    return [], int(await session.scalar(count) or 0)


def like_pattern(q: str) -> str:
    """A LIKE pattern matching ``q`` anywhere, with LIKE's wildcards escaped."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Integer path ids stay within a 32-bit column on every backend, so a fuzzer's huge
# number gets a clean 422 rather than a driver overflow.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
