"""Signing in with an API key, and out.

The sign-in form is guarded by a double-submit token (a random value in a short-lived cookie
and in the form), so another site cannot sign a browser in to an account of its choosing."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from credira.api.deps import runtime
from credira.dashboard import sessions
from credira.dashboard.web import (
    FORM_FIELD,
    PREFIX,
    SIGN_IN,
    Viewer,
    cookie_name,
    done,
    page,
    read_form,
    render,
    router,
    session_token,
)

pages = router()

_SIGN_IN_COOKIE = "credira_sign_in"


def _set_cookie(request: Request, response: Response, name: str, value: str, path: str) -> None:
    # HttpOnly: no script reads it; SameSite=Lax: no other site's form or fetch sends it.
    secure = runtime(request).settings.dashboard_cookie_secure
    response.set_cookie(name, value, path=path, secure=secure, httponly=True, samesite="lax")


def _form(request: Request, *, status: int = 200, error: str | None = None) -> Response:
    nonce = secrets.token_urlsafe(24)
    # Over plain http a browser may drop the Secure cookie: say what to set, before it happens.
    plain = request.url.scheme == "http" and runtime(request).settings.dashboard_cookie_secure
    response = render(
        request,
        "sign_in.html",
        status=status,
        title="Sign in",
        nonce=nonce,
        error=error,
        plain_http=plain,
    )
    _set_cookie(request, response, _SIGN_IN_COOKIE, nonce, SIGN_IN)
    return response


@pages.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    """The sign-in form (an API key)."""
    return _form(request)


@pages.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Exchange an API key for a session cookie; the key itself is never stored or sent back."""
    rt = runtime(request)
    form = await read_form(request)
    nonce = request.cookies.get(_SIGN_IN_COOKIE)
    sent = form.get(FORM_FIELD, "")
    if not nonce or not sent or not secrets.compare_digest(nonce, sent):
        return _form(request, status=403, error="The form expired. Please try again.")
    async with rt.sessionmaker() as session:
        # Sessions past their end are dropped as others sign in: no table grows without bound.
        await sessions.forget_expired(session, rt.settings, rt.clock)
        token = await sessions.sign_in(session, rt.settings, rt.clock, form.get("api_key", ""))
        previous = session_token(request)
        if token is not None and previous is not None:
            # Signing in again replaces the browser's session rather than leaving it behind.
            await sessions.sign_out(session, previous)
        await session.commit()
    if token is None:
        return _form(request, status=401, error="That key is not an active user's API key.")
    response = done(request, PREFIX)
    secure = rt.settings.dashboard_cookie_secure
    _set_cookie(request, response, cookie_name(secure), token, "/")
    response.delete_cookie(_SIGN_IN_COOKIE, path=SIGN_IN)
    return response


@pages.post("/sign-out")
async def sign_out(request: Request, viewer: Annotated[Viewer, Depends(page())]) -> Response:
    """End the session: its row is deleted, so the cookie (and any form of it) is worthless."""
    token = session_token(request)
    if token is not None:
        await sessions.sign_out(viewer.session, token)
        await viewer.commit()
    response = done(request, SIGN_IN)
    secure = viewer.runtime.settings.dashboard_cookie_secure
    response.delete_cookie(cookie_name(secure), path="/", secure=secure, httponly=True)
    return response
