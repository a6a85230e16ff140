"""The overview's first part: today's callouts by status (UTC day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from credira.callout.state import CalloutStatus
from credira.dashboard import overview as panels
from credira.dashboard import repository
from credira.dashboard.web import Viewer, page, render, router

pages = router()


@pages.get("")
async def overview(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("callouts:read", "access callouts"))],
) -> Response:
    """Today's callouts by status."""
    now = viewer.clock.now().astimezone(UTC)
    start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    counts = await repository.callouts_by_status(
        viewer.session, viewer.account_id, start, start + timedelta(days=1)
    )
    statuses = [(s.value, counts.get(s.value, 0)) for s in CalloutStatus]
    return render(
        request, "home.html", title="Overview", day=start, statuses=statuses,
        total=sum(counts.values()), **await panels.panels(viewer),
    )  # fmt: skip
