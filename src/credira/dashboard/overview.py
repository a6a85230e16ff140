"""The overview's charts and health panels, below today's callouts (``home``): the contacts of
the next hours on a timeline in the debtors' local times, outcomes and money per day, and the
worker's health. Each panel shows only what the viewer may read through the API (callouts,
calls, invoices, emails). The panels are one fragment, also served alone at
``/overview/panels``, which the page asks for again every 30 seconds (htmx): the figures
follow the worker without a reload."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from starlette.responses import Response

from credira.dashboard.web import Viewer, page, render, router
from credira.overview import charts, service
from credira.overview.charts import Point, Series

pages = router()

# The figures of days that are over, kept by this process (see ``service.DayCache``).
DAYS_OVER = service.DayCache()

UTC_ZONE = ZoneInfo("UTC")
DAYS = 14
HOURS = 12
OUTCOME_LABELS = {
    "promise_to_pay": "Promise to pay",
    "acknowledged": "Acknowledged",
    "callback_requested": "Callback requested",
    "dispute": "Dispute",
    "opt_out": "Opt-out",
    "wrong_party": "Wrong party",
}
LATE = (("late_1m", "over a minute"), ("late_5m", "over 5 minutes"), ("late_1h", "over an hour"))


def _day(value: Any) -> str:
    return f"{value:%d %b}"


async def _upcoming(viewer: Viewer, zone: ZoneInfo) -> dict[str, Any]:
    now = viewer.clock.now()
    soon = await service.upcoming(viewer.session, viewer.account_id, now, zone, hours=HOURS)
    calls = [c for c in soon.contacts if c.due.calls_enabled]
    points = [
        Point(
            c.due.run_at.astimezone(zone),
            f"{c.due.invoice_number}: {c.local:%H:%M} {c.zone_name}"
            + (f" (held: {c.due.hold_reason})" if c.due.hold_reason else ""),
            0 if c.due.calls_enabled else 1,
        )
        for c in soon.contacts
    ]
    shown = len(soon.contacts)
    desc = (
        f"{soon.total} contacts due in the next {HOURS} hours"
        + (f", the first {shown} drawn" if soon.total > shown else "")
        + f"; {len(calls)} of those drawn are calls."
    )
    chart = charts.timeline(
        "upcoming-chart",
        f"Contacts due in the next {HOURS} hours (UTC)",
        soon.start.astimezone(zone),
        soon.end.astimezone(zone),
        points,
        groups=["Call", "Email only"],
        desc=desc,
    )
    return {"upcoming": soon, "upcoming_chart": chart}


async def _outcomes(viewer: Viewer, zone: ZoneInfo) -> dict[str, Any]:
    now = viewer.clock.now()
    daily = await service.outcomes(
        viewer.session, viewer.account_id, now, zone, days=DAYS, cache=DAYS_OVER
    )
    labels = [_day(d) for d in daily.days]
    reached = [
        Series("Reached", daily.reached),
        Series("Not reached", [c - r for c, r in zip(daily.calls, daily.reached, strict=True)]),
    ]
    said = [Series(OUTCOME_LABELS[o], daily.by_outcome[o]) for o in service.OUTCOMES]
    return {
        "calls_chart": charts.bar_chart("calls-chart", "Calls per day", labels, reached),
        "calls_table": charts.series_table("Calls per day", "Day", labels, reached),
        "outcomes_chart": charts.bar_chart(
            "outcomes-chart", "What reached debtors said, per day", labels, said
        ),
        "outcomes_table": charts.series_table("Outcomes per day", "Day", labels, said),
    }


async def _money(viewer: Viewer, zone: ZoneInfo) -> dict[str, Any]:
    now = viewer.clock.now()
    money = await service.money(
        viewer.session, viewer.account_id, now, zone, days=DAYS, cache=DAYS_OVER
    )
    labels = [_day(d) for d in money.days]
    per_currency = []
    for currency in money.currencies[:3]:
        series = [
            Series("Promised", money.promised[currency]),
            Series("Recovered", money.recovered[currency]),
        ]
        title = f"Money promised and recovered per day ({currency})"
        per_currency.append(
            {
                "currency": currency,
                "chart": charts.bar_chart(
                    f"money-chart-{currency.lower()}",
                    title,
                    labels,
                    series,
                    stacked=False,
                    unit=currency,
                ),
                "table": charts.series_table(title, "Day", labels, series),
                "promised": sum(money.promised[currency]),
                "recovered": sum(money.recovered[currency]),
            }
        )
    return {"money": money, "money_charts": per_currency}


async def _health(viewer: Viewer) -> dict[str, Any]:
    now = viewer.clock.now()
    health = await service.health(viewer.session, viewer.account_id, now)
    late = health.lateness
    oldest = None
    if late.oldest_due is not None:
        oldest = max(now - late.oldest_due, timedelta(0))
    return {
        "health": health,
        "late_rows": [(label, getattr(late, name)) for name, label in LATE],
        "oldest_due": oldest,
    }


async def panels(viewer: Viewer) -> dict[str, Any]:
    """The panels' figures the viewer may see (a panel it may not see is left out)."""
    zone = UTC_ZONE
    context: dict[str, Any] = {"zone_name": "UTC", "days": DAYS, "hours": HOURS}
    if viewer.can("callouts:read"):
        context |= await _upcoming(viewer, zone)
        context |= await _health(viewer)
    if viewer.can("calls:read"):
        context |= await _outcomes(viewer, zone)
    if viewer.can("invoices:read"):
        context |= await _money(viewer, zone)
    context["show_emails"] = viewer.can("emails:read")
    context["updated"] = viewer.clock.now().astimezone(UTC)
    return context


@pages.get("/overview/panels")
async def overview_panels(request: Request, viewer: Annotated[Viewer, Depends(page())]) -> Response:
    """The overview's panels alone, for the page to refresh them."""
    return render(request, "overview_fragment.html", **await panels(viewer))
