"""The dashboard's pages, mounted under ``/dashboard`` in the API's app.

A page module holds ``pages = web.router()``; list it in ``PAGES`` and, for a link in the
header, its ``NavItem`` in ``NAV`` (shown to viewers holding its permission)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from credira.dashboard import callouts, editors, home, invoices, lists, overview, signin
from credira.dashboard.web import NAV, PREFIX, STATIC, NavItem

PAGES = (
    signin.pages,
    home.pages,
    callouts.pages,
    invoices.pages,
    overview.pages,
    lists.pages,
    editors.pages,
)

NAV.extend(
    [
        NavItem("Overview", "", "callouts:read"),
        NavItem("Callouts", "/callouts", "callouts:read"),
    ]
)
NAV.extend(
    [
        NavItem("Invoices", "/invoices", "invoices:read"),
        NavItem("Calls", "/calls", "calls:read"),
        NavItem("Emails", "/emails", "emails:read"),
        NavItem("Agents", "/agents", "voice_agents:read"),
        NavItem("Templates", "/templates", "emails:read"),
        NavItem("Plans", "/plans", "plans:read"),
    ]
)


def install(app: FastAPI) -> None:
    """Mount the pages and their static files (htmx and the style sheet, no CDN)."""
    for pages in PAGES:
        app.include_router(pages, prefix=PREFIX)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="dashboard-static")
