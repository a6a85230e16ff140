"""The lists of invoices, calls and emails (filters, newest first, a page at a time, refreshed
while the worker changes them), one email with its delivery details, and the reconciliation of
an unconfirmed email through the API's own service (``POST /v1/emails/{id}/reconcile``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from credira.call.state import CallStatus
from credira.dashboard import lists_repository as repository
from credira.dashboard.web import Viewer, done, form_value, page, render, router, url
from credira.email import service as email_service
from credira.email.schemas import EmailReconcile
from credira.email.state import EmailStatus
from credira.errors import InvalidRequest, ValidationFailed
from credira.invoice.state import InvoiceStatus
from credira.kit.ids import check_id
from credira.overview.service import OUTCOMES

pages = router()

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# How often a list asks for itself again (htmx), so it follows the worker's changes.
REFRESH_SECONDS = 10


def _choice(value: str | None, allowed: list[str], label: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise InvalidRequest(f"Unknown {label} {value!r}")
    return value


def _cursor(kind: str, before: str | None) -> str | None:
    return check_id(kind, before) if before else None


def _limit(value: int | None) -> int:
    if value is None:
        return PAGE_SIZE
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    return value


def _list_page(
    request: Request,
    template: str,
    title: str,
    rows: list[Any],
    more: bool,
    path: str,
    filters: dict[str, str | int | None],
    **context: Any,
) -> Response:
    first_page = url(path, **filters)
    next_page = url(path, **filters, before=rows[-1].id) if more and rows else None
    here = url(path, **filters, before=request.query_params.get("before"))
    # A refresh asks for the table alone (``HX-Request``), the rest of the page stays.
    fragment = request.headers.get("hx-request") == "true"
    return render(
        request,
        template,
        title=title,
        rows=rows,
        next_page=next_page,
        first_page=first_page,
        here=here,
        filters=filters,
        fragment=fragment,
        refresh=REFRESH_SECONDS,
        **context,
    )


@pages.get("/invoices")
async def list_invoices(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("invoices:read", "access invoices"))],
    status: str | None = None,
    before: str | None = None,
    limit: int | None = None,
) -> Response:
    """The account's invoices, newest first, of one status when chosen."""
    statuses = [s.value for s in InvoiceStatus]
    wanted = _choice(status, statuses, "invoice status")
    rows, more = await repository.invoices(
        viewer.session,
        viewer.account_id,
        status=wanted,
        before=_cursor("invoice", before),
        limit=_limit(limit),
    )
    return _list_page(
        request, "list_invoices.html", "Invoices", rows, more, "/invoices",
        {"status": wanted, "limit": limit}, statuses=statuses,
    )  # fmt: skip


@pages.get("/calls")
async def list_calls(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("calls:read", "access calls"))],
    status: str | None = None,
    outcome: str | None = None,
    before: str | None = None,
    limit: int | None = None,
) -> Response:
    """The account's calls, newest first, of one status or outcome when chosen."""
    statuses = [s.value for s in CallStatus]
    wanted = _choice(status, statuses, "call status")
    said = _choice(outcome, list(OUTCOMES), "outcome")
    rows, more = await repository.calls(
        viewer.session,
        viewer.account_id,
        status=wanted,
        outcome=said,
        before=_cursor("call", before),
        limit=_limit(limit),
    )
    numbers = await repository.invoice_numbers(
        viewer.session, viewer.account_id, {c.invoice_id for c in rows}
    )
    return _list_page(
        request, "list_calls.html", "Calls", rows, more, "/calls",
        {"status": wanted, "outcome": said, "limit": limit}, statuses=statuses, outcomes=OUTCOMES,
        numbers=numbers,
    )  # fmt: skip


@pages.get("/emails")
async def list_emails(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("emails:read", "access emails"))],
    status: str | None = None,
    before: str | None = None,
    limit: int | None = None,
) -> Response:
    """The account's emails, newest first, of one status when chosen."""
    statuses = [s.value for s in EmailStatus]
    wanted = _choice(status, statuses, "email status")
    rows, more = await repository.emails(
        viewer.session,
        viewer.account_id,
        status=wanted,
        before=_cursor("email", before),
        limit=_limit(limit),
    )
    return _list_page(
        request, "list_emails.html", "Emails", rows, more, "/emails",
        {"status": wanted, "limit": limit}, statuses=statuses,
    )  # fmt: skip


@pages.get("/emails/{email_id}")
async def show_email(
    request: Request,
    email_id: str,
    viewer: Annotated[Viewer, Depends(page("emails:read", "access this email"))],
) -> Response:
    """One email: to whom, its subject and body, what became of it, and (when unconfirmed) the
    reconciliation form."""
    email = await email_service.get(viewer.session, viewer.account_id, email_id)
    return render(
        request,
        "email.html",
        title="Email",
        email=email,
        unconfirmed=email.status == EmailStatus.UNCONFIRMED,
        may_write=viewer.can("emails:write"),
    )


@pages.post("/emails/{email_id}/reconcile")
async def reconcile_email(
    request: Request,
    email_id: str,
    viewer: Annotated[Viewer, Depends(page("emails:write", "reconcile this email"))],
) -> Response:
    """Settle an unconfirmed email: delivered, or not (then it is sent again)."""
    try:
        body = EmailReconcile.model_validate(
            {"outcome": viewer.form.get("outcome"), "note": form_value(viewer.form, "note")}
        )
    except ValidationError:
        raise ValidationFailed("Choose whether the email was delivered", field="outcome") from None
    email = await email_service.reconcile(
        viewer.session, viewer.account_id, email_id, body, viewer.clock.now()
    )
    await viewer.commit()
    if email.status == EmailStatus.SCHEDULED:
        viewer.runtime.wake_worker()
    return done(request, url(f"/emails/{email.id}"))
