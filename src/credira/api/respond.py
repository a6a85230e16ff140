"""Building success replies: envelope, status, ETag, commit and the idempotency record."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from credira.api import idempotency
from credira.api.deps import Ctx
from credira.api.fast_json import JSONResponse
from credira.errors import PreconditionFailed
from credira.kit.envelope import dumps, success_body


def etag_of(version: int) -> str:
    return f'"{version}"'


def check_if_match(ctx: Ctx, version: int) -> None:
    """Honour ``If-Match`` on writes: the client's copy must be the current one."""
    header = ctx.request.headers.get("if-match")
    if header is None:
        return
    tags = [t.strip() for t in header.split(",")]
    current = etag_of(version)
    if "*" in tags or current in tags or f"W/{current}" in tags:
        return
    raise PreconditionFailed(
        f"If-Match {header} does not match the current ETag {current}; fetch it and retry"
    )


async def respond(
    ctx: Ctx,
    data: Any,
    *,
    status: int = 200,
    message: str | None = None,
    version: int | None = None,
    shown_once: str | None = None,
    **extra_meta: Any,
) -> JSONResponse:
    """Commit the request's transaction and reply. Writes pass ``message``.

    ``shown_once`` names a field of ``data`` shown only in this reply: an idempotent replay gets it
    as null, since it is stored nowhere in clear.
    """
    meta: dict[str, Any] = dict(extra_meta)
    if message is not None:
        meta["message"] = message
    envelope = success_body(data, ctx.request_id, **meta)
    body = dumps(envelope)
    headers = {"ETag": etag_of(version)} if version is not None else {}
    intent = ctx.idempotency
    if intent is not None:
        stored = body
        if shown_once is not None:
            stored = dumps(_without_secret(envelope, shown_once))
        await idempotency.store(ctx.session, intent, status, stored, ctx.clock.now())
    if ctx.session.in_transaction():
        try:
            await ctx.session.commit()
        except IntegrityError:
            await ctx.session.rollback()
            if intent is None:
                raise
            # A concurrent request with the same key won; replay its reply.
            await idempotency.check_stored(ctx.session, intent)
            raise
    return JSONResponse(body, status_code=status, headers=headers)


def _without_secret(envelope: dict[str, Any], secret: str) -> dict[str, Any]:
    data = {**envelope["data"], secret: None}
    note = f"{secret} is shown only once; rotate the key if it was lost"
    meta = {**envelope["meta"], "message": f"{envelope['meta'].get('message', '')} ({note})"}
    return {**envelope, "data": data, "meta": meta}
