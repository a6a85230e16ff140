"""What every dashboard page is built from.

- ``router()``: an ``APIRouter`` whose routes render a domain error (403, 404, 409...) as an
  HTML page with its status, send every reply with the dashboard's security headers, and stay
  out of the OpenAPI document.
- ``page(permission, action)``: the dependency that gives a route the signed-in ``Viewer``
  (its principal, a database session, the runtime) after the same permission check the API
  makes; on a POST it first checks the form's CSRF token.
- ``render(request, "x.html", ...)``: a page from ``templates/``, laid out by ``base.html``.
- ``done(request, url)``: after a POST, the redirect to the page that shows its result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from credira.api.deps import Runtime, runtime
from credira.auth.principal import Principal
from credira.dashboard import sessions
from credira.errors import CrediraError, Forbidden, PayloadTooLarge, ValidationFailed
from credira.kit.clock import Clock

PREFIX = "/dashboard"
SIGN_IN = f"{PREFIX}/sign-in"
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 64 * 1024

# No script or style from anywhere but the dashboard itself, no inline script, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages show an account's data: no copy in a shared cache or the browser's back-forward one.
    "Cache-Control": "no-store",
}


def cookie_name(secure: bool) -> str:
    # The __Host- prefix makes the browser refuse the cookie unless Secure, host-only and Path=/.
    return "__Host-credira_session" if secure else "credira_session"


class NotSignedIn(Exception):
    """No live session: a page redirects to the sign-in, a form is refused (401)."""


class BadForm(Exception):
    """A POST whose CSRF token is missing or wrong (a forged form): refused (403)."""


@dataclass
class Viewer:
    """The signed-in user of one request: its principal, its database session, the runtime."""

    principal: Principal
    session: AsyncSession
    runtime: Runtime
    request: Request
    csrf_token: str
    user_name: str
    form: dict[str, str] = field(default_factory=dict)

    @property
    def account_id(self) -> str:
        assert self.principal.account_id is not None  # a session is always a user's
        return self.principal.account_id

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def can(self, permission: str) -> bool:
        return self.principal.can(permission)

    def require(self, permission: str, action: str) -> None:
        """The API's check, worded as the API words it."""
        if not self.principal.can(permission):
            raise Forbidden(f"You don't have permission to {action}")

    async def commit(self) -> None:
        await self.session.commit()


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(runtime(request).settings.dashboard_cookie_secure))


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the only kind the dashboard posts)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PayloadTooLarge("The form is too large")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return {}
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=200))


def page(
    permission: str | None = None, action: str = "view this page"
) -> Callable[[Request], AsyncIterator[Viewer]]:
    """The signed-in viewer, refused (403 page) without ``permission``. A GET reads in a
    read-only session; a POST checks the CSRF token, then writes in one the route commits."""

    async def dependency(request: Request) -> AsyncIterator[Viewer]:
        rt = runtime(request)
        token = session_token(request)
        posting = request.method not in ("GET", "HEAD")
        maker = rt.sessionmaker if posting else rt.read_sessionmaker
        async with maker() as session:
            signed_in = await sessions.resolve(session, rt.settings, rt.clock, token)
            if signed_in is None or token is None:
                raise NotSignedIn
            form: dict[str, str] = {}
            if posting:
                form = await read_form(request)
                sent = form.get(FORM_FIELD) or request.headers.get(CSRF_HEADER)
                if not sessions.csrf_matches(token, sent):
                    raise BadForm
            if signed_in.touch_due:
                await _touch(rt, session, signed_in, posting)
            viewer = Viewer(
                signed_in.principal, session, rt, request, signed_in.csrf_token,
                signed_in.user_name, form,
            )  # fmt: skip
            request.state.dashboard_viewer = viewer
            if permission is not None:
                viewer.require(permission, action)
            yield viewer

    return dependency


async def _touch(
    rt: Runtime, session: AsyncSession, signed_in: sessions.SignedIn, posting: bool
) -> None:
    if posting:
        # Written with the form's own change, in the request's transaction.
        await sessions.touch(session, rt.clock, signed_in)
        return
    await session.rollback()  # the read's connection goes back before the write takes one
    async with rt.sessionmaker() as writer:
        await sessions.touch(writer, rt.clock, signed_in)
        await writer.commit()


# Templates ---------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _money(amount: Decimal | float | str | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    text = f"{Decimal(str(amount)):,.2f}"
    return f"{text} {currency}" if currency else text


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["money"] = _money
    env.globals["prefix"] = PREFIX
    return env


templates = _environment()


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str  # under PREFIX, "" for the overview
    permission: str | None = None


# The header's links, in order; a page module appends its own (``NAV.append(...)``) when it is
# registered in ``credira.dashboard.routes``. Items the viewer lacks the permission for are hidden.
NAV: list[NavItem] = []


def url(path: str = "", **query: str | int | None) -> str:
    """A dashboard URL: ``url("/callouts", status="scheduled")``; empty values are dropped."""
    kept = {k: str(v) for k, v in query.items() if v not in (None, "")}
    return PREFIX + path + (f"?{urlencode(kept)}" if kept else "")


templates.globals["url"] = url


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    title: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` (which extends ``base.html``) with ``context``; the viewer, its
    CSRF token and the navigation it may see are added."""
    viewer: Viewer | None = getattr(request.state, "dashboard_viewer", None)
    nav = [
        n for n in NAV if viewer is not None and (n.permission is None or viewer.can(n.permission))
    ]
    current = request.url.path
    html = templates.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf_token=viewer.csrf_token if viewer is not None else "",
        csrf_field=FORM_FIELD,
        nav=nav,
        current=current,
        title=title,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def done(request: Request, to: str) -> Response:
    """After a POST: see ``to`` (303, so a reload does not post again; htmx follows it too)."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": to})
    return RedirectResponse(to, status_code=303)


# Routes ------------------------------------------------------------------------------------

_ERROR_TITLES = {
    400: "Bad request",
    401: "Signed out",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    412: "Changed meanwhile",
    422: "Invalid value",
    429: "Too many requests",
    503: "Unavailable",
}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    title = _ERROR_TITLES.get(status, "Error")
    return render(request, "error.html", status=status, title=title, message=message)


def _protect(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class PageRoute(APIRoute):
    """A dashboard route: errors become pages, and every reply carries the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except NotSignedIn:
                if request.method in ("GET", "HEAD"):
                    if request.headers.get("hx-request") == "true":
                        response = Response(status_code=204, headers={"HX-Redirect": SIGN_IN})
                    else:
                        response = RedirectResponse(SIGN_IN, status_code=303)
                else:
                    message = "Your session has ended. Sign in again, then repeat the action."
                    response = error_page(request, 401, message)
            except BadForm:
                message = (
                    "This form did not come from your current session (it was opened before "
                    "you signed in again, or on another site). Nothing was changed."
                )
                response = error_page(request, 403, message)
            except RequestValidationError:
                response = error_page(request, 400, "The request is not one this page takes.")
            except CrediraError as exc:
                status = exc.status if 400 <= exc.status < 600 else 500
                response = error_page(request, status, exc.message)
            return _protect(response)

        return handle


def router() -> APIRouter:
    """A router for dashboard pages; paths are relative to ``/dashboard``."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def form_value(form: Mapping[str, str], name: str) -> str | None:
    """A form field, stripped; None when absent or empty."""
    value = form.get(name, "").strip()
    return value or None


def back_to(form: Mapping[str, str], default: str) -> str:
    """Where a form asks to go after it (field ``back``): a dashboard path only, never
    another site (an open redirect)."""
    back = form.get("back", "")
    if back.startswith(PREFIX) and not back.startswith("//") and "\\" not in back:
        return back
    return default


def utc_time(value: str | None) -> datetime:
    """A ``datetime-local`` input's value, read as UTC (the form says so)."""
    if value is None:
        raise ValidationFailed("Choose the new time", field="scheduled_time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("Not a date and time", field="scheduled_time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
