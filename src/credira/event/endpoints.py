from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.respond import respond
from credira.api.responses import errors_for, listing, reply
from credira.errors import ValidationFailed
from credira.event import repository, service
from credira.event.repository import EventFilter
from credira.event.schemas import EventRead
from credira.event.types import OBJECT_ID_PATTERN, TYPE_FILTER_PATTERN, matcher
from credira.kit.ids import check_id
from credira.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from credira.kit.validation import UTCTime

router = APIRouter(prefix="/events", tags=["Events"])


def _invalid(field: str, details: str) -> ValidationFailed:
    error = ValidationFailed(f"Invalid value for {field}", details=details, field=field)
    return error


@router.get(
    "",
    summary="List Events",
    responses={**listing(EventRead, "events"), **errors_for(400, 401, 403, 422)},
)
async def list_events(
    ctx: Annotated[Ctx, Depends(require("events:read", "read events"))],
    type: Annotated[
        str | None,
        Query(
            max_length=1000,
            pattern=TYPE_FILTER_PATTERN,
            description="Event types, comma-separated; `callout.*` matches every callout event",
        ),
    ] = None,
    object_id: Annotated[
        str | None,
        Query(
            pattern=OBJECT_ID_PATTERN,
            description="Events of this object: a callout, call, email or invoice id",
        ),
    ] = None,
    invoice_id: Annotated[
        str | None, Query(description="Events of this invoice and of its callouts, calls, emails")
    ] = None,
    created_after: Annotated[
        UTCTime | None, Query(description="Only events created after this time (ISO 8601)")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size (default 100, at most 1000)")
    ] = DEFAULT_LIMIT,
    starting_after: Annotated[
        str | None, Query(description="Continue with the events older than this event id")
    ] = None,
) -> JSONResponse:
    """The account's events, newest first. Each is one change: ``data`` is the object as the
    API showed it right after the change. Kept for the retention period
    (``CREDIRA_EVENT_RETENTION_DAYS``, 30 days by default)."""
    types: set[str] = set()
    prefixes: set[str] = set()
    if type:
        try:
            types, prefixes = matcher(type.split(","))
        except ValueError as exc:
            raise _invalid(
                "type", f"Unknown event type {str(exc)!r}; see the README for the list"
            ) from None
    if invoice_id is not None:
        check_id("invoice", invoice_id)
    if starting_after is not None:
        check_id("event", starting_after)
    where = EventFilter(types, prefixes, object_id, invoice_id, created_after)
    items, more, total = await repository.list_events(
        ctx.session, ctx.account_id, where, limit=limit, starting_after=starting_after
    )
    return await respond(
        ctx, [service.to_read(e) for e in items], total_events=total, has_more=more
    )


@router.get(
    "/{event_id}",
    summary="Get Event",
    responses={**reply(EventRead), **errors_for(400, 401, 403, 404)},
)
async def get_event(
    event_id: str,
    ctx: Annotated[Ctx, Depends(require("events:read", "read events"))],
) -> JSONResponse:
    """One event of the caller's account."""
    found = await service.get(ctx.session, ctx.account_id, event_id)
    return await respond(ctx, service.to_read(found))
