from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import FileResponse, PlainTextResponse

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import respond
from credira.api.responses import errors_for, listing, reply
from credira.call import repository, service
from credira.call.schemas import CallCreate, CallCreated, CallDetailRead, CallRead
from credira.errors import InvalidRequest, NotFound
from credira.invoice import service as invoice_service
from credira.kit.pagination import Page
from credira.ratelimit.http import limit_create_call

router = APIRouter(prefix="/calls", tags=["Calls"])
media = APIRouter(tags=["Media"])


@router.post(
    "",
    status_code=201,
    summary="Create Call",
    responses={**reply(CallCreated, 201), **errors_for(400, 401, 403, 404, 409, 422, 429)},
)
async def create_call(
    body: CallCreate,
    ctx: Annotated[Ctx, Depends(require("calls:write", "create calls"))],
) -> JSONResponse:
    """Trigger a new call to a customer, now or at ``scheduled_time``.

    The call goes through the same worker and the same rules as a callout: it is placed only
    inside the debtor's calling window and within the contact limits, so it may wait. The
    reply's ``status`` is ``initiated``; follow it with ``GET /calls/{id}``.

    Placing calls has a tighter rate limit per account (``CREDIRA_RATE_LIMIT_CREATE_CALL``,
    10 a minute by default): past it, ``RATE_LIMITED`` "Too many call requests. Please wait
    before making another call." with ``Retry-After``."""
    await limit_create_call(ctx.request, ctx.runtime.rate_limiter, ctx.account_id)
    call, callout = await service.create(
        ctx.session,
        ctx.principal,
        ctx.account_id,
        body,
        ctx.clock.now(),
        ctx.runtime.settings.public_url,
    )
    response = await respond(
        ctx,
        service.create_reply(call, callout),
        status=201,
        message="Call has been initiated successfully",
    )
    ctx.runtime.wake_worker()
    return response


@router.get(
    "",
    summary="Get Calls",
    responses={**listing(CallRead, "calls"), **errors_for(400, 401, 403, 404, 422)},
)
async def list_calls(
    ctx: Annotated[Ctx, Depends(require("calls:read", "access calls"))],
    page: Annotated[Page, Depends(page_params("call", whole_by_default=True))],
    invoice_id: Annotated[
        str | None,
        Query(description="The unique identifier of the invoice to retrieve calls for"),
    ] = None,
) -> JSONResponse:
    """Retrieve all calls associated with an invoice: an empty array when there are none,
    ``NOT_FOUND`` when the invoice is unknown."""
    if invoice_id is None:
        raise InvalidRequest("Missing required parameter: invoice_id")
    invoice = await invoice_service.get(ctx.session, ctx.account_id, invoice_id)
    items, more, total = await repository.list_for_invoice(
        ctx.session, ctx.account_id, invoice.id, page
    )
    public = ctx.runtime.settings.public_url
    return await respond(
        ctx, [service.to_read(c, public) for c in items], total_calls=total, has_more=more
    )


@router.get(
    "/{call_id}",
    summary="Get Call by ID",
    responses={**reply(CallDetailRead), **errors_for(400, 401, 403, 404)},
)
async def get_call(
    call_id: str,
    ctx: Annotated[Ctx, Depends(require("calls:read", "access this call"))],
) -> JSONResponse:
    """One call with its detail fields: timing, cost, quality, sentiment, keywords, summary."""
    call = await service.get(ctx.session, ctx.account_id, call_id)
    return await respond(ctx, service.to_detail(call, ctx.runtime.settings.public_url))


def _split(name: str, suffixes: tuple[str, ...]) -> str:
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix not in suffixes:
        raise NotFound("No such file")
    return stem


@media.get(
    "/transcriptions/{name}",
    summary="Call transcript",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **errors_for(400, 401, 403, 404)},
)
async def get_transcription(
    name: str,
    ctx: Annotated[Ctx, Depends(require("calls:read", "access this transcript"))],
) -> PlainTextResponse:
    """The transcript of a call (``{call_id}.txt``), for the account that owns the call."""
    call = await service.get(ctx.session, ctx.account_id, _split(name, ("txt",)))
    if not call.transcript:
        raise NotFound("Transcript not found")
    return PlainTextResponse(call.transcript + "\n")


@media.get(
    "/recordings/{name}",
    summary="Call recording",
    response_class=FileResponse,
    responses={
        200: {"content": {"audio/wav": {}, "audio/mpeg": {}}},
        **errors_for(400, 401, 403, 404),
    },
)
async def get_recording(
    name: str,
    ctx: Annotated[Ctx, Depends(require("calls:read", "access this recording"))],
) -> FileResponse:
    """The audio of a call (``{call_id}.wav`` or ``.mp3``), for the account that owns it.

    A recording the voice provider keeps is fetched from it on the first request (the
    simulator speaks it then), so that one may take a moment; ``NOT_FOUND`` when the provider
    no longer has it."""
    stem = _split(name, ("wav", "mp3"))
    call = await service.get(ctx.session, ctx.account_id, stem)
    path = service.recording_file(call, name.rpartition(".")[2])
    if not path.is_file():
        # Fetching or speaking the audio takes a while: hold no database connection meanwhile.
        await ctx.session.close()
        await service.fetch_recording(ctx.session, call, path, ctx.runtime.voice)
    return FileResponse(path)
