"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright against
``credira serve`` on a free port (SQLite; the HTTP tests beside this one cover PostgreSQL).

One browser and one seeded account for the module. Each page visited is checked by axe (no
serious or critical violation) and saved as a screenshot under test-artifacts/dashboard/.
Without chromium the module is skipped, unless CI=true, where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from tests.dashboard.conftest import add_user
from tests.dashboard.seed import Story, seed
from tests.served import served
from tests.support import Api

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs both
    sync_playwright = None

if sync_playwright is None or not CHROMIUM.exists():
    reason = "needs chromium (apt-get install chromium) and playwright (the dev extra)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"The dashboard's browser tests {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@dataclass(frozen=True)
class Site:
    base: str
    key: str  # every default permission
    reader_key: str  # callouts, invoices and calls to read; nothing to write
    story: Story


def _seed(base: str, database_url: str, data: Path) -> tuple[str, str, Story]:
    async def run() -> tuple[str, str, Story]:
        engine = create_engine(Settings(database_url=database_url, data_dir=data))
        try:
            async with httpx.AsyncClient(base_url=base) as client:
                tenant = await Api(client).tenant("Browser Ltd")
                story = await seed(tenant, create_sessionmaker(engine), data)
                reader = await add_user(
                    client,
                    tenant.account_id,
                    ["callouts:read", "invoices:read", "calls:read", "events:read"],
                )
                return tenant.key, reader, story
        finally:
            await engine.dispose()

    # In a thread of its own: Playwright's sync API keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(run())).result()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    data = folder / "data"
    data.mkdir()
    shutil.copyfile(sqlite_template, data / "credira.db")
    url = f"sqlite+aiosqlite:///{data / 'credira.db'}"
    with served(
        data,
        folder / "serve.log",
        CREDIRA_DATABASE_URL=url,
        CREDIRA_DASHBOARD_COOKIE_SECURE="false",
        CREDIRA_EMBEDDED_WORKER="false",
        CREDIRA_RATE_LIMIT_PER_KEY="",
        CREDIRA_RATE_LIMIT_PER_ACCOUNT="",
    ) as base:
        key, reader, story = _seed(base, url, data)
        yield Site(base, key, reader, story)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--autoplay-policy=no-user-gesture-required", "--mute-audio"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A page of a fresh context; the test fails if the browser logs an error (a script's,
    or a Content-Security-Policy refusal) on any page it visited."""
    context = browser.new_context(base_url=site.base, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(5000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on(
        "console", lambda m: errors.append(f"{tab.url}: {m.text}") if m.type == "error" else None
    )
    tab.on("pageerror", lambda e: errors.append(f"{tab.url}: {e}"))
    yield tab
    context.close()
    # A refused form answers 403 on purpose: the browser logs that response, nothing else.
    assert [e for e in errors if "status of 403" not in e] == []


_AXE = Axe() if sync_playwright is not None else None


def check(page: Page, name: str) -> None:
    """No serious or critical accessibility violation; a screenshot kept as ``name``.png."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert _AXE is not None
    results = _AXE.run(page)
    bad: list[dict[str, Any]] = [
        v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")
    ]
    assert bad == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in bad]


def count(page: Page, status: str) -> int:
    return int(page.locator(f'#today-by-status [data-status="{status}"]').inner_text())


def test_operator_flow(page: Page, site: Site) -> None:
    story = site.story
    page.goto("/dashboard")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.url.endswith("/dashboard/sign-in")
    check(page, "sign-in")
    page.get_by_label("API key").fill(site.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    check(page, "overview")
    scheduled, cancelled = count(page, "scheduled"), count(page, "cancelled")
    assert scheduled >= 1

    # Find a completed callout, read its transcript, play its recording.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Callouts").click()
    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Filter").click()
    check(page, "callouts")
    page.get_by_role("link", name=story.completed_id).click()
    expect(page.get_by_text("I will pay the full amount on Friday.")).to_be_visible()
    audio = page.locator(f"#call-{story.call_id} audio")
    played = audio.evaluate(
        """async (audio) => {
            await audio.play();
            await new Promise((done) => setTimeout(done, 150));
            return {duration: audio.duration, time: audio.currentTime, error: audio.error};
        }"""
    )
    assert played["error"] is None
    assert played["duration"] > 0.4
    assert played["time"] > 0
    check(page, "callout")

    # Cancel the scheduled callout from the list.
    page.goto("/dashboard/callouts?status=scheduled")
    row = page.locator(f"#row-{story.scheduled_id}")
    row.get_by_role("button", name="Cancel").click()
    expect(page.locator(f"#row-{story.scheduled_id}")).to_have_count(0)

    # Pause the invoice's plan.
    page.goto(f"/dashboard/invoices/{story.invoice_id}")
    expect(page.locator("#timeline")).to_contain_text("Callout cancelled")
    page.get_by_role("button", name="Pause plan").click()
    expect(page.locator("#plan-status")).to_contain_text("paused")
    expect(page.get_by_role("button", name="Resume plan")).to_be_visible()
    check(page, "invoice")

    # The overview shows the change.
    page.get_by_role("link", name="Overview").first.click()
    assert count(page, "scheduled") == scheduled - 1
    assert count(page, "cancelled") == cancelled + 1

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/dashboard")
    assert page.url.endswith("/dashboard/sign-in")


def test_reader_sees_no_cancel_and_is_refused(page: Page, site: Site) -> None:
    page.goto("/dashboard/sign-in")
    page.get_by_label("API key").fill(site.reader_key)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/dashboard/callouts")
    expect(page.locator("#callouts")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    check(page, "callouts-read-only")
    # The form posted anyway, with this session's own CSRF token.
    token = page.locator('form.sign-out input[name="csrf_token"]').input_value()
    page.evaluate(
        """([action, token]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            const field = document.createElement("input");
            field.type = "hidden";
            field.name = "csrf_token";
            field.value = token;
            form.append(field);
            document.body.append(form);
            form.submit();
        }""",
        [f"/dashboard/callouts/{site.story.completed_id}/cancel", token],
    )
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("don't have permission to cancel")
    check(page, "forbidden")


def test_pages_fit_a_phone(browser: Browser, site: Site) -> None:
    context = browser.new_context(
        base_url=site.base, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto("/dashboard/sign-in")
        page.get_by_label("API key").fill(site.key)
        page.get_by_role("button", name="Sign in").click()
        for name, path in (
            ("phone-overview", "/dashboard"),
            ("phone-invoice", f"/dashboard/invoices/{site.story.invoice_id}"),
            ("phone-callout", f"/dashboard/callouts/{site.story.completed_id}"),
        ):
            page.goto(path)
            # The page itself never scrolls sideways (wide tables scroll inside their box).
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, overflow)
            check(page, name)
    finally:
        context.close()


def test_lists_editors_and_the_live_preview(page: Page, site: Site) -> None:
    page.goto("/dashboard/sign-in")
    page.get_by_label("API key").fill(site.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#overview-panels")).to_be_visible()
    for name, path in (
        ("invoices", "/dashboard/invoices"),
        ("calls", "/dashboard/calls"),
        ("emails", "/dashboard/emails?status=unconfirmed"),
        ("agents", "/dashboard/agents"),
        ("plans", "/dashboard/plans"),
        ("agent", f"/dashboard/agents/{site.story.agent_id}"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check(page, name)
    page.goto("/dashboard/plans")
    page.locator("#plans a").first.click()
    check(page, "plan")
    # The template editor renders the email again as the subject changes (htmx, no reload).
    page.goto("/dashboard/templates")
    check(page, "templates")
    page.locator("#templates a").first.click()
    expect(page.locator("#preview-subject")).to_be_visible()
    page.get_by_label("Subject").fill("Hello {{customer_name}}, a live preview")
    expect(page.locator("#preview-subject")).to_have_text("Hello Jane Example, a live preview")
    page.get_by_label("HTML body").fill('<p style="color: #1b5e20">Live {{invoice_number}}</p>')
    frame = page.frame_locator('iframe[name="email-preview"]')
    expect(frame.locator("body")).to_have_text("Live INV-PREVIEW-1")
    check(page, "template")
