"""The list endpoints' ``limit`` and ``starting_after`` query parameters, read into a
``credira.kit.pagination.Page``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from credira.kit.ids import check_id
from credira.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page


def page_params(kind: str, *, whole_by_default: bool = False) -> Any:
    """A dependency reading ``limit`` and ``starting_after`` for ids of ``kind``.

    ``whole_by_default``: without ``limit``, the whole list (a list the documentation shows
    without pages); else a page of ``DEFAULT_LIMIT``.

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, a thread hand-off per request.
    """

    def page(limit: int | None, starting_after: str | None, request: Request) -> Page:
        if starting_after is not None:
            check_id(kind, starting_after)
        return Page(limit, starting_after, request.app.state.runtime.settings.list_max_items)

    if whole_by_default:

        async def whole(
            request: Request,
            limit: Annotated[
                int | None,
                Query(
                    ge=1,
                    le=MAX_LIMIT,
                    description="Page size, at most 1000; without it, the whole list",
                ),
            ] = None,
            starting_after: Annotated[
                str | None, Query(description="Return objects created after this id")
            ] = None,
        ) -> Page:
            return page(limit, starting_after, request)

        return whole

    async def paged(
        request: Request,
        limit: Annotated[
            int,
            Query(
                ge=1,
                le=MAX_LIMIT,
                description="Page size (default 100, at most 1000)",
            ),
        ] = DEFAULT_LIMIT,
        starting_after: Annotated[
            str | None, Query(description="Return objects created after this id")
        ] = None,
    ) -> Page:
        return page(limit, starting_after, request)

    return paged
