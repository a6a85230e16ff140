"""Callouts: the list (by status and invoice, a page at a time), one callout with its calls'
transcripts and recordings and its emails, and the cancel and reschedule actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.responses import FileResponse, Response

from credira.call import repository as call_repository
from credira.call import service as call_service
from credira.callout import repository as callout_repository
from credira.callout import service as callout_service
from credira.callout.schemas import CalloutUpdate
from credira.callout.state import PENDING, CalloutStatus
from credira.dashboard import repository
from credira.dashboard.web import (
    Viewer,
    back_to,
    done,
    form_value,
    page,
    render,
    router,
    url,
    utc_time,
)
from credira.email import repository as email_repository
from credira.errors import InvalidRequest, ValidationFailed
from credira.invoice import service as invoice_service
from credira.kit.ids import check_id
from credira.kit.pagination import Page

pages = router()

PAGE_SIZE = 50


def _status(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return CalloutStatus(value).value
    except ValueError:
        raise InvalidRequest(f"Unknown callout status {value!r}") from None


@pages.get("/callouts")
async def list_callouts(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("callouts:read", "access callouts"))],
    status: str | None = None,
    invoice_id: str | None = None,
    starting_after: str | None = None,
) -> Response:
    """The account's callouts, filtered by status and invoice, ``PAGE_SIZE`` at a time."""
    wanted = _status(status)
    after = check_id("callout", starting_after) if starting_after else None
    page_of = Page(PAGE_SIZE, after)
    invoice = None
    if invoice_id:
        # The API's own path: the invoice first (NOT_FOUND for another account's), then its list.
        invoice = await invoice_service.get(viewer.session, viewer.account_id, invoice_id)
        items, more, _ = await callout_repository.list_for_invoice(
            viewer.session, viewer.account_id, invoice.id, wanted, page_of
        )
    else:
        items, more = await repository.list_callouts(
            viewer.session, viewer.account_id, wanted, page_of
        )
    next_url = None
    if more and items:
        next_url = url(
            "/callouts", status=wanted, invoice_id=invoice_id, starting_after=items[-1].id
        )
    return render(
        request,
        "callouts.html",
        title="Callouts",
        callouts=items,
        statuses=[s.value for s in CalloutStatus],
        chosen=wanted,
        invoice=invoice,
        invoice_id=invoice_id or "",
        next_url=next_url,
        first_url=url("/callouts", status=wanted, invoice_id=invoice_id) if after else None,
        pending={s.value for s in PENDING},
        can_write=viewer.can("callouts:write"),
    )


@pages.get("/callouts/{callout_id}")
async def show_callout(
    request: Request,
    callout_id: str,
    viewer: Annotated[Viewer, Depends(page("callouts:read", "access this callout"))],
) -> Response:
    """One callout: its schedule, every call (transcript, recording) and every email."""
    callout = await callout_service.get(viewer.session, viewer.account_id, callout_id)
    calls = await call_repository.for_callout(viewer.session, callout.id)
    emails = await email_repository.for_callout(viewer.session, callout.id)
    return render(
        request,
        "callout.html",
        title=f"Callout {callout.id}",
        callout=callout,
        calls=calls,
        emails=emails,
        pending={s.value for s in PENDING},
        can_write=viewer.can("callouts:write"),
        can_hear=viewer.can("calls:read"),
        can_read_emails=viewer.can("emails:read"),
    )


@pages.post("/callouts/{callout_id}/cancel")
async def cancel_callout(
    request: Request,
    callout_id: str,
    viewer: Annotated[Viewer, Depends(page("callouts:write", "cancel this callout"))],
) -> Response:
    """Cancel a scheduled or active callout (``POST /v1/callouts/{id}/cancel``)."""
    callout = await callout_service.get(viewer.session, viewer.account_id, callout_id)
    reason = form_value(viewer.form, "reason")
    if reason is not None and len(reason) > 500:
        raise ValidationFailed("The reason is longer than 500 characters", field="reason")
    await callout_service.cancel(
        viewer.session,
        callout,
        reason,
        viewer.clock.now(),
        viewer.runtime.settings.public_url,
    )
    await viewer.commit()
    return done(request, back_to(viewer.form, url(f"/callouts/{callout_id}")))


@pages.post("/callouts/{callout_id}/reschedule")
async def reschedule_callout(
    request: Request,
    callout_id: str,
    viewer: Annotated[Viewer, Depends(page("callouts:write", "update this callout"))],
) -> Response:
    """Move a scheduled callout to another time (``PUT /v1/callouts/{id}``)."""
    callout = await callout_service.get(viewer.session, viewer.account_id, callout_id)
    when = utc_time(form_value(viewer.form, "scheduled_time"))
    try:
        body = CalloutUpdate.model_validate({"scheduled_time": when})
    except ValidationError as exc:
        raise ValidationFailed(str(exc.errors()[0]["msg"]), field="scheduled_time") from None
    await callout_service.update(
        viewer.session, viewer.principal, callout, body, viewer.clock.now()
    )
    await viewer.commit()
    viewer.runtime.wake_worker()
    return done(request, back_to(viewer.form, url(f"/callouts/{callout_id}")))


@pages.get("/calls/{call_id}/recording")
async def call_recording(
    call_id: str,
    viewer: Annotated[Viewer, Depends(page("calls:read", "access this recording"))],
) -> Response:
    """A call's audio for the page's player (``GET /recordings/{call_id}.wav``)."""
    call = await call_service.get(viewer.session, viewer.account_id, call_id)
    suffix = (call.recording_path or "").rpartition(".")[2]
    path = call_service.recording_file(call, suffix)
    if not path.is_file():
        await viewer.session.close()
        await call_service.fetch_recording(viewer.session, call, path, viewer.runtime.voice)
    return FileResponse(path)
