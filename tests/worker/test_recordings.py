"""Recordings of simulated calls, spoken with espeak-ng where it is installed, when they are
first fetched rather than at the end of every call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from credira.app import create_app
from credira.channel.voice import speech
from credira.channel.voice.port import ProviderCall
from credira.channel.voice.registry import VoiceProviders
from credira.channel.voice.simulator import VoiceSimulator
from credira.config import Settings
from credira.kit.clock import SystemClock
from credira.models import SimulatedCall
from credira.worker import repository
from credira.worker.execute import Executor
from tests.support import Api, Tenant, eventually, zone_in_calling_hours
from tests.worker.harness import new_debt, open_db

pytestmark = pytest.mark.skipif(
    not speech.available(),
    reason="espeak-ng is not installed (apt-get install espeak-ng; .ci/run installs it)",
)


async def test_an_answered_call_has_a_recording_for_its_account_only(
    api: Api, settings: Settings
) -> None:
    tenant = await api.tenant()
    other = await api.tenant(company="Other Co")
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": "+14155550100", "timezone": zone_in_calling_hours()}
    )
    agent = await tenant.agent(from_number="+14155550199")
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    callout = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]

    async def recorded() -> dict[str, object] | None:
        listed = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
        calls = listed["data"]
        return calls[0] if calls and calls[0]["call_recording_url"] else None

    call = await eventually(recorded, within=20)
    url = str(call["call_recording_url"])
    assert url == f"http://testserver/recordings/{call['id']}.wav"
    path = url.removeprefix("http://testserver")

    audio = await tenant.request("GET", path)
    assert audio.status_code == 200
    assert audio.headers["content-type"].startswith("audio/")
    assert audio.content[:4] == b"RIFF"
    assert audio.content[8:12] == b"WAVE"
    assert len(audio.content) > 10_000

    refused = await other.request("GET", path)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "NOT_FOUND"
    assert (await tenant.request("GET", f"/recordings/{call['id']}.mp3")).status_code == 404

    response = (await tenant.ok("GET", f"/v1/callouts/{callout['id']}/response"))["data"]
    assert response["responses"][0]["call_recording_url"] == url

    stored = Path(settings.data_dir) / "recordings" / f"{call['id']}.wav"
    assert stored.is_file()
    deleted = await tenant.ok("DELETE", f"/v1/callouts/{callout['id']}")
    assert deleted["data"]["deleted_items"]["recordings"] == 1
    assert not stored.exists()
    assert (await tenant.request("GET", path)).status_code == 404


# -- rendered on request -------------------------------------------------------------------


async def answered_call(api: Api) -> tuple[Tenant, dict[str, Any], dict[str, Any]]:
    """A tenant whose callout reached the debtor, with that call and the callout."""
    tenant = await api.tenant()
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": "+14155550100", "timezone": zone_in_calling_hours()}
    )
    agent = await tenant.agent()
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    callout = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]

    async def completed() -> dict[str, Any] | None:
        got = (await tenant.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]
        return got if got["status"] == "completed" else None

    await eventually(completed, within=20)
    listed = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
    return tenant, listed["data"][0], callout


def recordings(settings: Settings) -> list[Path]:
    folder = Path(settings.data_dir) / "recordings"
    return sorted(folder.iterdir()) if folder.exists() else []


def assert_wav(audio: httpx.Response) -> None:
    assert audio.status_code == 200, audio.text
    assert audio.headers["content-type"].startswith("audio/")
    assert audio.content[:4] == b"RIFF"
    assert audio.content[8:12] == b"WAVE"
    assert len(audio.content) > 10_000


@asynccontextmanager
async def another_server(settings: Settings, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second API process on the same database and data dir, with no worker of its own: its
    simulator has never seen the calls the first one placed."""
    app: FastAPI = create_app(settings.model_copy(update={"embedded_worker": False, **overrides}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_a_recording_is_spoken_on_its_first_request_then_served_from_disk(
    api: Api, settings: Settings
) -> None:
    tenant, call, _ = await answered_call(api)
    url = str(call["call_recording_url"])
    assert url == f"http://testserver/recordings/{call['id']}.wav"
    detail = (await tenant.ok("GET", f"/v1/calls/{call['id']}"))["data"]
    assert detail["call_recording_url"] == url
    assert recordings(settings) == []

    first = await tenant.request("GET", url.removeprefix("http://testserver"))
    assert_wav(first)
    stored = Path(settings.data_dir) / "recordings" / f"{call['id']}.wav"
    assert recordings(settings) == [stored]
    assert stored.read_bytes() == first.content

    again = await tenant.request("GET", url.removeprefix("http://testserver"))
    assert_wav(again)
    assert again.content == first.content
    assert recordings(settings) == [stored]


async def test_concurrent_first_requests_of_a_recording_both_get_it(
    api: Api, settings: Settings
) -> None:
    tenant, call, _ = await answered_call(api)
    path = f"/recordings/{call['id']}.wav"

    replies = await asyncio.gather(*(tenant.request("GET", path) for _ in range(3)))

    for reply in replies:
        assert_wav(reply)
    assert {reply.content for reply in replies} == {replies[0].content}
    # Only the recording itself: no temporary file is left behind.
    assert [p.name for p in recordings(settings)] == [f"{call['id']}.wav"]


async def test_another_process_speaks_a_recording_of_a_call_it_never_placed(
    api: Api, settings: Settings
) -> None:
    tenant, call, _ = await answered_call(api)
    path = f"/recordings/{call['id']}.wav"

    async with another_server(settings) as other:
        audio = await other.get(path, headers=tenant.headers)
        assert_wav(audio)
        refused = await other.get(path, headers=(await api.tenant(company="Other Co")).headers)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "NOT_FOUND"

    assert (await tenant.request("GET", path)).content == audio.content


async def test_a_recording_the_provider_cannot_give_is_not_found(
    api: Api, app: FastAPI, settings: Settings
) -> None:
    tenant, call, _ = await answered_call(api)
    path = f"/recordings/{call['id']}.wav"

    async with another_server(settings, simulator_recordings=False) as other:
        refused = await other.get(path, headers=tenant.headers)
    assert refused.status_code == 404
    assert refused.json()["error"] == {"code": "NOT_FOUND", "message": "Recording not found"}

    # The provider lost the call altogether.
    async with app.state.engine.begin() as conn:
        await conn.execute(delete(SimulatedCall))
    lost = await tenant.request("GET", path)
    assert lost.status_code == 404
    assert lost.json()["error"] == {"code": "NOT_FOUND", "message": "Recording not found"}
    assert recordings(settings) == []


async def test_a_recording_never_fetched_is_counted_when_its_callout_is_deleted(
    api: Api, settings: Settings
) -> None:
    tenant, call, callout = await answered_call(api)
    assert call["call_recording_url"] is not None
    assert recordings(settings) == []

    deleted = await tenant.ok("DELETE", f"/v1/callouts/{callout['id']}")

    assert deleted["data"]["deleted_items"]["recordings"] == 1
    assert (await tenant.request("GET", f"/recordings/{call['id']}.wav")).status_code == 404
    assert recordings(settings) == []


# -- the worker ----------------------------------------------------------------------------


class ExpiringRecordings(VoiceSimulator):
    """A provider that keeps no recordings: each must be fetched when its call ends."""

    def recording_on_request(self, result: ProviderCall) -> str | None:
        return None


@pytest.mark.parametrize(
    ("provider", "written"), [(VoiceSimulator, False), (ExpiringRecordings, True)]
)
async def test_the_worker_fetches_only_the_recordings_a_provider_does_not_keep(
    database_url: str, tmp_path: Path, provider: type[VoiceSimulator], written: bool
) -> None:
    async with open_db(database_url, tmp_path) as db:
        debt = await new_debt(db, zone=zone_in_calling_hours())
        callout = debt.callout(run_at=datetime.now(UTC) - timedelta(minutes=1))
        await db.add(callout)
        clock = SystemClock()
        voice = provider(db.sessions, clock, read_sessionmaker=db.reads, time_scale=0.02)
        folder = tmp_path / "recordings"
        executor = Executor(
            db.sessions,
            clock,
            VoiceProviders({"simulator": voice}),
            "tester",
            read_sessionmaker=db.reads,
            recordings_dir=folder,
            poll_seconds=0.005,
        )
        async with db.sessions() as session:
            claimed = await repository.claim_due(
                session, "tester", clock.now(), timedelta(seconds=30), 10
            )
        assert [c.callout_id for c in claimed] == [callout.id]
        await asyncio.wait_for(executor.run(claimed[0]), timeout=20)

        [call] = await db.calls(callout_id=callout.id)
        assert call.answered
        stored = folder / f"{call.id}.wav"
        assert call.recording_path == str(stored)
        assert stored.is_file() is written
        if written:
            assert stored.read_bytes()[:4] == b"RIFF"
