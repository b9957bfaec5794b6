"""Shared list plumbing: page parameters, the page envelope and a counting query."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
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
    """Rows of one page of ``stmt`` plus the total row count of the unpaged query."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (
        await session.scalars(
            stmt.limit(params.page_size).offset((params.page - 1) * params.page_size)
        )
    ).all()
    return list(rows), int(total or 0)


def like_pattern(q: str) -> str:
    """A LIKE pattern matching ``q`` anywhere, with LIKE's wildcards escaped."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Integer path ids stay within a 32-bit column on every backend, so a fuzzer's huge
# number gets a clean 422 rather than a driver overflow.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
