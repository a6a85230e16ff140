"""Cursor pagination (``limit``, ``starting_after``) shared by every list endpoint.

Ids sort by creation time, so a page is a range scan: ``id > :starting_after ORDER BY id``.

The lists Credira's documentation shows without pages (callouts and calls of an invoice, emails
of a callout, email templates) answer the whole list when no ``limit`` is sent, since a client
written from that documentation never sends one: one query, at most ``list_max_items`` rows
(a setting), and past that a refusal that says to page, never a silently shortened list. Our own
lists (invoices, users, voice agents) answer a page of ``DEFAULT_LIMIT`` by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request
from sqlalchemy import Select

from credira.errors import InvalidRequest
from credira.kit.ids import check_id

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# The most items a documented list answers without ``limit`` (``CREDIRA_LIST_MAX_ITEMS``).
DEFAULT_LIST_MAX_ITEMS = 10_000

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """``limit`` None: the whole list, refused (not cut short) past ``bound`` items."""

    limit: int | None
    starting_after: str | None
    bound: int = DEFAULT_LIST_MAX_ITEMS

    @property
    def fetch(self) -> int:
        """Rows to read: one more than the page (or the bound), to tell whether there is more."""
        return (self.bound if self.limit is None else self.limit) + 1

    def apply(self, query: Select[T], id_column: Any) -> Select[T]:
        if self.starting_after is not None:
            query = query.where(id_column > self.starting_after)
        return query.order_by(id_column).limit(self.fetch)

    def split(self, rows: list[Any]) -> tuple[list[Any], bool]:
        if self.limit is None:
            if len(rows) > self.bound:
                raise InvalidRequest(
                    f"The list has more than {self.bound} items, more than one reply holds; "
                    f"page through it with limit (at most {MAX_LIMIT}) and starting_after"
                )
            return rows, False
        return rows[: self.limit], len(rows) > self.limit


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
