"""Recordings of simulated calls, spoken with espeak-ng where it is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from credira.channel.voice import speech
from credira.config import Settings
from tests.support import Api, eventually, zone_in_calling_hours

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
