"""Cursor pagination (``limit``, ``starting_after``) shared by every list endpoint.

Ids sort by creation time, so a page is a range scan: ``id > :starting_after ORDER BY id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Select

from credira.kit.ids import check_id

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    limit: int
    starting_after: str | None

    def apply(self, query: Select[T], id_column: Any) -> Select[T]:
        if self.starting_after is not None:
            query = query.where(id_column > self.starting_after)
        return query.order_by(id_column).limit(self.limit + 1)

    def split(self, rows: list[Any]) -> tuple[list[Any], bool]:
        return rows[: self.limit], len(rows) > self.limit


def page_params(kind: str) -> Any:
    """A dependency reading ``limit`` and ``starting_after`` for ids of ``kind``.

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, a thread hand-off per request.
    """

    async def dependency(
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description="Page size (default 100, at most 1000)")
        ] = DEFAULT_LIMIT,
        starting_after: Annotated[
            str | None, Query(description="Return objects created after this id")
        ] = None,
    ) -> Page:
        if starting_after is not None:
            check_id(kind, starting_after)
        return Page(limit, starting_after)

    return dependency
