"""The links in an email, over HTTP: the open pixel, click redirects, one-click unsubscribe."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from credira.email import tracking
from credira.email.tracking_endpoints import PIXEL
from credira.models import Email
from tests.email.conftest import PUBLIC_URL, Mailbox

TARGET = "https://pay.example.com/invoices/INV-1?ref=email&utm_source=credira"
EARLIER = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)

# One app and database per backend for the module; every case works in accounts of its own.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def app(shared_app: FastAPI) -> FastAPI:
    return shared_app


@pytest.fixture
def client(shared_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_client


def _path(url: str) -> str:
    assert url.startswith(PUBLIC_URL + "/")
    return url.removeprefix(PUBLIC_URL)


def _assert_not_found(reply: httpx.Response) -> None:
    assert reply.status_code == 404, reply.text
    assert "location" not in reply.headers
    body = reply.json()
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["meta"]["request_id"].startswith("req_")


def _tracking_state(email: Email) -> dict[str, Any]:
    return {
        "opened_time": email.opened_time,
        "clicked_time": email.clicked_time,
        "unsubscribed": email.unsubscribed,
        "version": email.version,
    }


async def test_pixel_sets_opened_time_on_the_first_fetch_only(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await mailbox.email(await mailbox.account())
    url = _path(tracking.open_pixel_url(PUBLIC_URL, email.tracking_id, mailbox.key))
    before = datetime.now(UTC)

    first = await client.get(url)

    assert first.status_code == 200
    assert first.headers["content-type"] == "image/gif"
    assert first.content == PIXEL
    assert len(first.content) == 43
    assert first.content.startswith(b"GIF89a")
    assert first.headers["cache-control"] == "no-store"
    opened = (await mailbox.get(email.id)).opened_time
    assert opened is not None
    assert before <= opened <= datetime.now(UTC)

    again = await client.get(url)

    assert again.status_code == 200
    assert again.content == PIXEL
    after = await mailbox.get(email.id)
    assert after.opened_time == opened
    assert after.clicked_time is None
    assert after.unsubscribed is False


async def test_pixel_of_an_email_opened_before_keeps_its_time(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await mailbox.email(await mailbox.account(), opened_time=EARLIER)

    reply = await client.get(
        _path(tracking.open_pixel_url(PUBLIC_URL, email.tracking_id, mailbox.key))
    )

    assert reply.status_code == 200
    assert (await mailbox.get(email.id)).opened_time == EARLIER


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "track_01jdq5r1x8m3k2v7n4p6s9t0ab.AAAAAAAAAAAAAAAAAAAAAA",
        "{tracking_id}.AAAAAAAAAAAAAAAAAAAAAA",
        "{unsubscribe_token}",
    ],
)
async def test_pixel_with_a_bad_token_shows_the_same_image_and_records_nothing(
    client: httpx.AsyncClient, mailbox: Mailbox, token: str
) -> None:
    email = await mailbox.email(await mailbox.account())
    token = token.format(
        tracking_id=email.tracking_id,
        unsubscribe_token=tracking.unsubscribe_token(email.tracking_id, mailbox.key),
    )

    reply = await client.get(f"/t/o/{token}.gif")

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/gif"
    assert reply.content == PIXEL
    assert _tracking_state(await mailbox.get(email.id)) == _tracking_state(email)


async def test_click_redirects_to_the_target_and_records_the_click(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await mailbox.email(await mailbox.account())
    url = _path(tracking.click_url(PUBLIC_URL, email.tracking_id, TARGET, mailbox.key))
    before = datetime.now(UTC)

    reply = await client.get(url)

    assert reply.status_code == 302, reply.text
    assert reply.headers["location"] == TARGET
    clicked = await mailbox.get(email.id)
    assert clicked.clicked_time is not None
    assert before <= clicked.clicked_time
    # The pixel was blocked, yet the recipient clearly opened the email.
    assert clicked.opened_time == clicked.clicked_time

    again = await client.get(url)

    assert again.status_code == 302
    assert again.headers["location"] == TARGET
    assert _tracking_state(await mailbox.get(email.id)) == _tracking_state(clicked)


async def test_click_after_an_open_keeps_the_open_time(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await mailbox.email(await mailbox.account(), opened_time=EARLIER)

    reply = await client.get(
        _path(tracking.click_url(PUBLIC_URL, email.tracking_id, TARGET, mailbox.key))
    )

    assert reply.status_code == 302
    after = await mailbox.get(email.id)
    assert after.opened_time == EARLIER
    assert after.clicked_time is not None
    assert after.clicked_time > EARLIER


def _tampered(genuine: str, other: str, key: bytes) -> dict[str, str]:
    """Ways to alter a genuine click token (and one made for another email)."""
    payload, signature = genuine.split(".")
    other_payload, other_signature = other.split(".")
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    evil = base64.urlsafe_b64encode(decoded.replace(b"pay.example.com", b"evil.example"))
    return {
        "flipped signature": f"{payload}.{signature[::-1]}",
        "target rewritten": f"{evil.rstrip(b'=').decode()}.{signature}",
        "target swapped from another email": f"{other_payload}.{signature}",
        "another email's signature": f"{payload}.{other_signature}",
        "no signature": payload,
        "open token": tracking.open_token(decoded.split(b"\n")[0].decode(), key),
        "garbage": "nope",
    }


@pytest.mark.parametrize(
    "case",
    [
        "flipped signature",
        "target rewritten",
        "target swapped from another email",
        "another email's signature",
        "no signature",
        "open token",
        "garbage",
    ],
)
async def test_tampered_click_link_is_not_found_and_redirects_nowhere(
    client: httpx.AsyncClient, mailbox: Mailbox, case: str
) -> None:
    account_id = await mailbox.account()
    email = await mailbox.email(account_id)
    other = await mailbox.email(account_id)
    genuine = tracking.click_token(email.tracking_id, TARGET, mailbox.key)
    foreign = tracking.click_token(other.tracking_id, "https://evil.example/phish", mailbox.key)

    reply = await client.get(f"/t/c/{_tampered(genuine, foreign, mailbox.key)[case]}")

    _assert_not_found(reply)
    assert _tracking_state(await mailbox.get(email.id)) == _tracking_state(email)
    assert _tracking_state(await mailbox.get(other.id)) == _tracking_state(other)


async def test_genuine_click_link_of_an_unknown_email_is_not_found(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    url = tracking.click_url(PUBLIC_URL, "track_01jdq5r1x8m3k2v7n4p6s9t0ab", TARGET, mailbox.key)

    _assert_not_found(await client.get(_path(url)))


async def test_unsubscribe_page_offers_a_form_and_changes_nothing(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await mailbox.email(await mailbox.account())
    url = _path(tracking.unsubscribe_url(PUBLIC_URL, email.tracking_id, mailbox.key))

    reply = await client.get(url)

    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in reply.text
    assert 'name="List-Unsubscribe" value="One-Click"' in reply.text
    assert "j***@example.com" in reply.text
    assert "john.doe@example.com" not in reply.text
    assert _tracking_state(await mailbox.get(email.id)) == _tracking_state(email)
    assert await mailbox.suppressions(email.account_id) == []


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param({"data": {"List-Unsubscribe": "One-Click"}}, id="rfc 8058 form body"),
        pytest.param({}, id="empty body"),
        pytest.param(
            {
                "content": b"List-Unsubscribe=One-Click",
                "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            },
            id="form body with charset",
        ),
    ],
)
async def test_one_click_unsubscribe_marks_the_email_and_suppresses_the_address(
    client: httpx.AsyncClient, mailbox: Mailbox, request_kwargs: dict[str, Any]
) -> None:
    account_id = await mailbox.account()
    elsewhere = await mailbox.account()
    email = await mailbox.email(account_id)
    sibling = await mailbox.email(account_id)
    foreign = await mailbox.email(elsewhere)  # the same address, known to another account
    url = _path(tracking.unsubscribe_url(PUBLIC_URL, email.tracking_id, mailbox.key))

    reply = await client.post(url, **request_kwargs)

    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/html")
    assert "unsubscribed" in reply.text
    assert (await mailbox.get(email.id)).unsubscribed is True
    assert (await mailbox.get(sibling.id)).unsubscribed is False
    # Suppressed for this account only: another account may still write to the address.
    assert await mailbox.suppressions(account_id) == [("email", "john.doe@example.com")]
    assert await mailbox.suppressions(elsewhere) == []
    assert (await mailbox.get(foreign.id)).unsubscribed is False

    again = await client.post(url, **request_kwargs)

    assert again.status_code == 200
    assert await mailbox.suppressions(account_id) == [("email", "john.doe@example.com")]
    page = await client.get(url)
    assert page.status_code == 200
    assert "You are unsubscribed" in page.text


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("case", ["forged signature", "open token", "unknown email"])
async def test_unsubscribe_with_a_bad_token_is_not_found_and_changes_nothing(
    client: httpx.AsyncClient, mailbox: Mailbox, method: str, case: str
) -> None:
    email = await mailbox.email(await mailbox.account())
    genuine = tracking.unsubscribe_token(email.tracking_id, mailbox.key)
    token = {
        "forged signature": genuine[:-4] + "AAAA",
        "open token": tracking.open_token(email.tracking_id, mailbox.key),
        "unknown email": tracking.unsubscribe_token(
            "track_01jdq5r1x8m3k2v7n4p6s9t0ab", mailbox.key
        ),
    }[case]

    form = {"List-Unsubscribe": "One-Click"} if method == "POST" else None
    reply = await client.request(method, f"/u/{token}", data=form)

    _assert_not_found(reply)
    assert (await mailbox.get(email.id)).unsubscribed is False
    assert await mailbox.suppressions(email.account_id) == []


async def test_tracking_routes_need_no_api_key_and_ignore_one(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await mailbox.email(await mailbox.account())
    url = _path(tracking.click_url(PUBLIC_URL, email.tracking_id, TARGET, mailbox.key))

    reply = await client.get(url, headers={"Authorization": "Bearer credira_sk_bogus"})

    assert reply.status_code == 302
    assert reply.headers["location"] == TARGET


async def test_an_open_does_not_conflict_with_a_worker_updating_the_same_email(
    client: httpx.AsyncClient, mailbox: Mailbox, app: FastAPI
) -> None:
    email = await mailbox.email(await mailbox.account(), status="sending")
    async with app.state.runtime.sessionmaker() as worker:
        loaded = await worker.get(Email, email.id)
        assert loaded is not None
        await worker.commit()  # the worker's claim; it keeps the row (and its version) in hand

        opened = await client.get(
            _path(tracking.open_pixel_url(PUBLIC_URL, email.tracking_id, mailbox.key))
        )
        loaded.status = "delivered"
        await worker.commit()  # would raise StaleDataError had the open bumped the version

    assert opened.status_code == 200
    after = await mailbox.get(email.id)
    assert after.status == "delivered"
    assert after.opened_time is not None
