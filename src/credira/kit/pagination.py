"""Cursor pagination (``limit``, ``starting_after``) shared by every list endpoint.

Ids sort by creation time, so a page is a range scan: ``id > :starting_after ORDER BY id``.

The lists Credira's documentation shows without pages (callouts and calls of an invoice, emails
of a callout, email templates) answer the whole list when no ``limit`` is sent, since a client
written from that documentation never sends one: one query, at most ``list_max_items`` rows
(a setting), and past that a refusal that says to page, never a silently shortened list. Our own
lists (invoices, users, voice agents) answer a page of ``DEFAULT_LIMIT`` by default. The
query parameters are read at the HTTP edge (``credira.api.pagination``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select

from credira.errors import InvalidRequest

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
