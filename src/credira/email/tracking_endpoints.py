"""The links inside an email: the open pixel, click redirects and the unsubscribe page.

They need no API key: a link's signature is its credential (see ``credira.email.tracking``).
They sit outside ``/v1`` because recipients' mail clients, not API clients, call them.

Decisions:

- The pixel answers the same transparent GIF whatever the token, so it tells nobody whether a
  token is genuine and a mail client never shows a broken image; only a genuine token of a
  known email records the open.
- A click token that does not verify, or whose email is unknown, answers ``NOT_FOUND`` and
  redirects nowhere: the endpoint only ever redirects to a target it signed itself.
- ``GET /u/{token}`` only shows a page (link scanners and prefetchers follow GETs); the opt-out
  happens on ``POST``, as RFC 8058 requires. Any POST body is accepted: the signed URL is the
  consent, and mail providers send ``List-Unsubscribe=One-Click`` form-encoded or nothing.
- Opens and clicks are the recipient's telemetry, not an edit of the email: they set their
  column only while it is empty, and leave the row's version (its ETag) alone, so a worker that
  is updating the same email at that moment never loses its write to a version conflict. Only
  the first open, the first click and the first unsubscribe change the email, so only they
  append an event (``email.opened``, ``email.clicked``, ``email.unsubscribed``), in the same
  transaction; a click that is also the first sign of an open appends both, the open first.
- These links need no key, so what they make the database do is bounded per client address
  (``CREDIRA_RATE_LIMIT_LINKS``, default 60 a minute; an IPv6 client by its /64; the address is
  the connection's peer, or the X-Forwarded-For entry of a ``CREDIRA_TRUSTED_PROXIES`` proxy).
  Only requests with a genuine token count (a forged one costs an HMAC, no query). Past the
  limit the recipient still gets what the link is for, and only our telemetry is lost:

  - the pixel: the same image, the open not recorded (a 429 would show a broken image, and a
    mail client would not retry it anyway);
  - a click: the redirect to the signed target, on the signature alone (no query at all), the
    click not recorded: a real reader must always reach the page;
  - unsubscribe (POST): an opt-out is never refused or dropped (a 429 to a mail provider's
    one-click request may never be retried, and the law wants it honoured): one not yet made
    is written as usual, which can happen once per email, so it stays bounded; a repeated one
    is answered from a read, without writing. The page (GET) writes nothing and is not counted.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from credira.api.deps import Runtime, runtime
from credira.api.responses import errors_for
from credira.email import repository, state, tracking
from credira.errors import NotFound
from credira.ratelimit.http import admit_link
from credira.secret.service import signing_key
from credira.suppression import repository as suppressions

router = APIRouter(tags=["Email tracking"])

# A 1x1 GIF whose only colour is transparent (43 bytes).
PIXEL = bytes.fromhex(
    "47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"
)
_LINK_NOT_FOUND = "Link not found"


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """No key, so no 401: the listed statuses, a bad path (422), a fault or the database down."""
    keep = {*statuses, 422, 500, 503}
    return {k: v for k, v in errors_for(*statuses).items() if k in keep}


async def _key(rt: Runtime) -> bytes:
    """The signing key, loaded now if the database was not reachable when the app started."""
    if not rt.signing_key:
        rt.signing_key = await signing_key(rt.settings, rt.sessionmaker, clock=rt.clock)
    return rt.signing_key


async def _admitted(request: Request, rt: Runtime) -> bool:
    """Whether this use of a link by the request's client is within the link limit."""
    return await admit_link(request, rt.rate_limiter, trusted_proxies=rt.settings.trusted_proxies)


async def _record_open(session: AsyncSession, tracking_id: str, now: datetime) -> None:
    email = await repository.mark_opened(session, tracking_id, now)
    if email is not None:
        state.opened(session, email, now)


@router.get(
    "/t/o/{token}.gif",
    summary="Email open pixel",
    response_class=Response,
    responses={
        200: {"description": "A 1x1 transparent GIF", "content": {"image/gif": {}}},
        **_errors(),
    },
)
async def open_pixel(token: str, request: Request) -> Response:
    """The 1x1 image at the end of every HTML email. The first fetch with a genuine token sets
    the email's ``opened_time``; later fetches change nothing. Any token gets the same image,
    and so does a client past the link limit (its open is not recorded)."""
    rt = runtime(request)
    tracking_id = tracking.verify_open(token, await _key(rt))
    if tracking_id is not None and await _admitted(request, rt):
        async with rt.sessionmaker() as session:
            await _record_open(session, tracking_id, rt.clock.now())
            await session.commit()
    return Response(PIXEL, media_type="image/gif")


@router.get(
    "/t/c/{token}",
    summary="Email link redirect",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "Redirect to the link's signed target"}, **_errors(404)},
)
async def click(token: str, request: Request) -> RedirectResponse:
    """Redirect to the target signed into the link and set the email's ``clicked_time`` (and
    ``opened_time``, when the pixel was blocked) on the first click. A link that was not made
    here, or was altered, is ``NOT_FOUND`` and redirects nowhere. A client past the link limit
    is redirected all the same, on the link's signature alone, and its click is not recorded."""
    rt = runtime(request)
    found = tracking.verify_click(token, await _key(rt))
    if found is None:
        raise NotFound(_LINK_NOT_FOUND)
    if not await _admitted(request, rt):
        return RedirectResponse(found.target, status_code=302)
    async with rt.sessionmaker() as session:
        known = await repository.id_by_tracking_id(session, found.tracking_id)
        if known is None:
            raise NotFound(_LINK_NOT_FOUND)
        now = rt.clock.now()
        # The open first (a blocked pixel): the click's event then shows both.
        await _record_open(session, found.tracking_id, now)
        email = await repository.mark_clicked(session, found.tracking_id, now)
        if email is not None:
            state.clicked(session, email, now)
        await session.commit()
    return RedirectResponse(found.target, status_code=302)


def _masked(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def _page(title: str, body: str) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{html.escape(title)}</title></head>'
        '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;'
        f'padding:0 1rem;color:#111827"><h1 style="font-size:1.4rem">{html.escape(title)}</h1>'
        f"{body}</body></html>"
    )
    return HTMLResponse(document)


_HTML: dict[int | str, dict[str, Any]] = {
    200: {"description": "A short HTML page", "content": {"text/html": {}}}
}


@router.get(
    "/u/{token}",
    summary="Unsubscribe page",
    response_class=HTMLResponse,
    responses={**_HTML, **_errors(404)},
)
async def unsubscribe_page(token: str, request: Request) -> HTMLResponse:
    """The page behind the unsubscribe link in an email's body: it offers a button that POSTs
    to the same address. Showing it changes nothing (link scanners open links too)."""
    rt = runtime(request)
    tracking_id = tracking.verify_unsubscribe(token, await _key(rt))
    if tracking_id is None:
        raise NotFound(_LINK_NOT_FOUND)
    async with rt.read_sessionmaker() as session:
        email = await repository.by_tracking_id(session, tracking_id)
        if email is None:
            raise NotFound(_LINK_NOT_FOUND)
        if email.unsubscribed:
            return _page(
                "You are unsubscribed",
                f"<p>{html.escape(_masked(email.recipient_email))} no longer receives these "
                "emails.</p>",
            )
        address = html.escape(_masked(email.recipient_email))
    return _page(
        "Unsubscribe",
        f"<p>Stop sending these emails to <strong>{address}</strong>?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit" style="font-size:1rem;padding:.5rem 1rem">Unsubscribe</button>'
        "</form>",
    )


@router.post(
    "/u/{token}",
    summary="One-click unsubscribe",
    response_class=HTMLResponse,
    responses={**_HTML, **_errors(400, 404, 413)},
)
async def unsubscribe(token: str, request: Request) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (body ``List-Unsubscribe=One-Click``, form-encoded, or
    empty): marks the email ``unsubscribed`` and suppresses its address for the account, so no
    later email goes to it. Repeating it changes nothing more. It is never refused for the
    link limit: past it, only a repeated request is answered without writing."""
    rt = runtime(request)
    tracking_id = tracking.verify_unsubscribe(token, await _key(rt))
    if tracking_id is None:
        raise NotFound(_LINK_NOT_FOUND)
    if not await _admitted(request, rt):
        async with rt.read_sessionmaker() as session:
            email = await repository.by_tracking_id(session, tracking_id)
            if email is None:
                raise NotFound(_LINK_NOT_FOUND)
            if email.unsubscribed:
                return _unsubscribed(email.recipient_email)
    async with rt.sessionmaker() as session:
        email = await repository.by_tracking_id(session, tracking_id)
        if email is None:
            raise NotFound(_LINK_NOT_FOUND)
        account_id, address, email_id = email.account_id, email.recipient_email, email.id
        now = rt.clock.now()
        changed = await repository.mark_unsubscribed(session, email_id)
        if changed is not None:
            state.unsubscribed(session, changed, now)
        await suppressions.suppress(
            session,
            account_id,
            "email",
            address,
            reason="the recipient unsubscribed",
            source=email_id,
            now=now,
        )
        await session.commit()
    return _unsubscribed(address)


def _unsubscribed(address: str) -> HTMLResponse:
    return _page(
        "You are unsubscribed",
        f"<p>{html.escape(_masked(address))} will receive no more of these emails.</p>",
    )
