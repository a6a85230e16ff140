"""A local Telnyx: the parts of Call Control v2 Credira uses, over real HTTP, checking each
request and driving the call from the commands it receives, with webhooks signed as Telnyx
signs them (Ed25519 over ``{timestamp}|{body}``, ``telnyx-signature-ed25519`` and
``telnyx-timestamp``).

What it speaks (https://developers.telnyx.com/api/call-control):
- ``POST /v2/calls`` (Bearer API key) -> ``{"data": {call_control_id, ...}}``, one call per
  ``command_id``;
- ``GET /v2/calls/{id}``; ``POST /v2/calls/{id}/actions/{gather_using_speak|speak|hangup}``,
  each command once per ``command_id``;
- the recording's URL (here ``GET /v2/recordings/{id}.wav``);
- ``GET /v2/call_control_applications/{id}`` (what ``credira doctor`` reads).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from credira.conversation.debtor import play
from tests.telephony.fake_twilio import WAV
from tests.telephony.local_server import LocalServer

HOOK = "http://testserver/hooks/telnyx"


@dataclass
class Scenario:
    """``cause``: the hangup_cause when the call is never answered (None: it is);
    ``amd`` what detection finds; ``digits`` the key pressed; ``chaos`` repeats and reorders."""

    cause: str | None = None
    amd: str = "human"
    digits: str | None = "1"
    chaos: bool = False
    # A conversation agent's call (``conversation_relay_start``): what the debtor says on the
    # relay socket (``credira.conversation.debtor`` steps).
    debtor: list[str] | None = None
    # Webhooks stop after call.initiated, and the call ends (``cause``) unheard of: its
    # call.hangup is lost, or with ``late_hangup`` comes once the adapter has read the ended
    # call (and the next read waits for it).
    quiet: bool = False
    late_hangup: bool = False


@dataclass
class FakeCall:
    body: dict[str, Any]
    scenario: Scenario
    call_control_id: str = field(default_factory=lambda: "v3:" + secrets.token_urlsafe(16))
    alive: bool = True
    answered: bool = False
    commands: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reads: int = 0  # GET /calls/{id}
    late: asyncio.Task[None] | None = None  # the late call.hangup's delivery

    def payload(self, **extra: Any) -> dict[str, Any]:
        return {
            "call_control_id": self.call_control_id,
            "call_leg_id": "leg-" + self.call_control_id[-8:],
            "call_session_id": "session-" + self.call_control_id[-8:],
            "client_state": self.body.get("client_state"),
            "connection_id": self.body.get("connection_id"),
            "from": self.body.get("from"),
            "to": self.body.get("to"),
            "direction": "outgoing",
            **extra,
        }


class FakeTelnyx(LocalServer):
    def __init__(self, api_key: str, connection_id: str, deliver: httpx.AsyncClient) -> None:
        super().__init__()
        self.api_key = api_key
        self.connection_id = connection_id
        self.deliver = deliver
        self.signing_key = Ed25519PrivateKey.generate()
        self.public_key = base64.b64encode(
            self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        ).decode()
        self.scenarios: dict[str, Scenario] = {}
        self.calls: dict[str, FakeCall] = {}
        self.by_command: dict[str, str] = {}
        self.commands_seen: set[str] = set()
        self.dials = 0  # requests, repeated command_ids included
        self.problems: list[str] = []
        self.webhooks: list[tuple[str, int]] = []
        # Where Conversation Relay's sockets reach the app (``ws://127.0.0.1:port``), and
        # what each call's socket heard.
        self.relay_to: str | None = None
        self.relayed: dict[str, list[dict[str, Any]]] = {}
        self.dial_delay = 0.0  # the first dial answers this late
        self.dial_refusal: int | None = None
        self.app = Starlette(
            routes=[
                Route("/v2/calls", self._dial, methods=["POST"]),
                Route("/v2/calls/{sid}", self._get, methods=["GET"]),
                Route("/v2/calls/{sid}/actions/{action}", self._action, methods=["POST"]),
                Route("/v2/recordings/{sid}.wav", self._recording, methods=["GET"]),
                Route("/v2/call_control_applications/{id}", self._application, methods=["GET"]),
            ]
        )
        self.application_active = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def sign(self, body: str, at: int | None = None) -> dict[str, str]:
        at = at if at is not None else int(time.time())
        signature = self.signing_key.sign(f"{at}|{body}".encode())
        return {
            "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
            "telnyx-timestamp": str(at),
        }

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            self.problems.append("a request without the API key")
            return JSONResponse({"errors": [{"code": "10009", "title": "Auth"}]}, status_code=401)
        return None

    async def _application(self, request: Request) -> Response:
        """``GET /v2/call_control_applications/{id}``: the connection the calls are made on."""
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"errors": [{"code": "10009", "title": "Auth"}]}, status_code=401)
        if request.path_params["id"] != self.connection_id:
            return JSONResponse({"errors": [{"code": "10005", "title": "Not found"}]}, 404)
        application = {
            "record_type": "call_control_application",
            "id": self.connection_id,
            "application_name": "Credira collections",
            "active": self.application_active,
            "webhook_event_url": "http://testserver/hooks/telnyx",
        }
        return JSONResponse({"data": application})

    async def _dial(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.dials += 1
        body = json.loads(await request.body())
        self._check(body)
        if self.dial_refusal is not None:
            return JSONResponse({"errors": [{"title": "Unavailable"}]}, status_code=503)
        key = body.get("command_id")
        if key in self.by_command:
            call = self.calls[self.by_command[key]]  # the same dial again: ignored
        else:
            call = FakeCall(body, self.scenarios.get(body.get("to"), Scenario()))
            self.calls[call.call_control_id] = call
            self.by_command[key] = call.call_control_id
            self._spawn(self._progress(call))
        if self.dial_delay:
            delay, self.dial_delay = self.dial_delay, 0.0
            await asyncio.sleep(delay)
        data = {**call.payload(), "is_alive": call.alive, "record_type": "call"}
        return JSONResponse({"data": data})

    def _check(self, body: dict[str, Any]) -> None:
        expected = {
            "connection_id": self.connection_id,
            "webhook_url": HOOK,
            "answering_machine_detection": "detect",
            "record": "record-from-answer",
        }
        for name, value in expected.items():
            if body.get(name) != value:
                self.problems.append(f"{name} is {body.get(name)!r}")
        for name in ("to", "from", "command_id", "client_state"):
            if not isinstance(body.get(name), str) or not body[name]:
                self.problems.append(f"{name} is {body.get(name)!r}")

    async def _get(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        call = self.calls.get(request.path_params["sid"])
        if call is None:
            return JSONResponse({"errors": [{"title": "Not found"}]}, status_code=404)
        call.reads += 1
        if not call.alive and call.scenario.late_hangup:
            if call.late is None:
                cause = call.scenario.cause or "normal_clearing"
                call.late = asyncio.ensure_future(
                    self.hook(call, "call.hangup", hangup_cause=cause, hangup_source="callee")
                )
                self._tasks.add(call.late)
                call.late.add_done_callback(self._tasks.discard)
            else:
                await asyncio.shield(call.late)
        # Telnyx's read of a call: alive or not, and when; never how it ended.
        return JSONResponse({"data": {**call.payload(), "is_alive": call.alive}})

    async def _action(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        call = self.calls.get(request.path_params["sid"])
        if call is None or not call.alive:
            return JSONResponse({"errors": [{"title": "Call has already ended"}]}, 422)
        body = json.loads(await request.body())
        action = request.path_params["action"]
        command_id = body.get("command_id")
        if not command_id:
            self.problems.append(f"{action} without a command_id")
        elif command_id in self.commands_seen:
            return JSONResponse({"data": {"result": "ok"}})  # the same command: ignored
        self.commands_seen.add(command_id)
        call.commands.append((action, body))
        if action in ("speak", "gather_using_speak") and not (
            body.get("payload") and body.get("voice")
        ):
            self.problems.append(f"{action} without payload or voice")
        if action == "gather_using_speak":
            self._spawn(self._gathered(call))
        elif action == "speak":
            self._spawn(self._later(call, "call.speak.ended", status="completed"))
        elif action == "hangup":
            self._spawn(self._hangup(call, "normal_clearing"))
        elif action == "conversation_relay_start":
            self._spawn(self._relay(call, str(body.get("conversation_relay_url") or "")))
        return JSONResponse({"data": {"result": "ok"}})

    async def _recording(self, request: Request) -> Response:
        if request.path_params["sid"] not in {c.call_control_id[-8:] for c in self.calls.values()}:
            return Response(status_code=404)
        return Response(WAV, media_type="audio/wav")

    # --- Webhooks ---

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def hook(self, call: FakeCall, event: str, **extra: Any) -> None:
        envelope = {
            "data": {
                "record_type": "event",
                "event_type": event,
                "id": str(uuid.uuid4()),
                "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "payload": call.payload(**extra),
            },
            "meta": {"attempt": 1, "delivered_to": HOOK},
        }
        body = json.dumps(envelope)
        headers = {"Content-Type": "application/json", **self.sign(body)}
        reply = await self.deliver.post(HOOK, content=body, headers=headers)
        self.webhooks.append((event, reply.status_code))

    async def _later(self, call: FakeCall, event: str, **extra: Any) -> None:
        await asyncio.sleep(0.05)
        await self.hook(call, event, **extra)

    async def _progress(self, call: FakeCall) -> None:
        scenario = call.scenario
        try:
            await asyncio.sleep(0.05)
            await self.hook(call, "call.initiated", state="bridging")
            await asyncio.sleep(0.05)
            if scenario.quiet:
                call.alive = False  # ended, and no webhook says how
                return
            if scenario.cause is not None:
                await self._hangup(call, scenario.cause)
                return
            call.answered = True
            await self.hook(call, "call.answered")
            if scenario.chaos:
                await self.hook(call, "call.answered")
            await asyncio.sleep(0.05)
            result = "machine" if scenario.amd == "machine" else "human"
            await self.hook(call, "call.machine.detection.ended", result=result)
            if scenario.chaos:
                await self.hook(call, "call.machine.detection.ended", result=result)
        except Exception as exc:  # a broken scenario shows in the test
            self.problems.append(f"scenario failed: {exc!r}")

    async def _relay(self, call: FakeCall, url: str) -> None:
        """Conversation Relay: the socket opened (Telnyx signs no handshake), the setup frame
        naming the call, the debtor's words, then ``call.conversation.ended``."""
        if self.relay_to is None or call.scenario.debtor is None:
            self.problems.append("a Conversation Relay with no socket to open")
            return
        local = self.relay_to + "/" + url.split("/", 3)[3]
        try:
            async with websockets.connect(local) as socket:

                async def send(frame: dict[str, Any]) -> None:
                    if frame.get("type") == "setup":
                        frame = {
                            **frame,
                            "callControlId": call.call_control_id,
                            "callSid": call.call_control_id,
                        }
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await socket.send(json.dumps(frame))

                async def receive() -> dict[str, Any] | None:
                    try:
                        loaded = json.loads(await socket.recv())
                    except websockets.ConnectionClosed:
                        return None
                    return loaded if isinstance(loaded, dict) else None

                self.relayed[call.call_control_id] = await play(call.scenario.debtor, send, receive)
        except Exception as exc:  # a broken relay shows in the test
            self.problems.append(f"relay failed: {exc!r}")
            return
        await self.hook(call, "call.conversation.ended", reason="assistant_ended")

    async def _gathered(self, call: FakeCall) -> None:
        await asyncio.sleep(0.05)
        digits = call.scenario.digits
        status = "valid" if digits else "timeout"
        await self.hook(call, "call.gather.ended", digits=digits or "", status=status)

    async def _hangup(self, call: FakeCall, cause: str) -> None:
        if not call.alive:
            return
        call.alive = False
        await asyncio.sleep(0.05)
        ending = {"hangup_cause": cause, "hangup_source": "caller"}
        await self.hook(call, "call.hangup", **ending)
        if call.scenario.chaos:
            await self.hook(call, "call.hangup", **ending)
            await self.hook(call, "call.answered")  # late
        if call.answered:
            wav = f"http://127.0.0.1:{self.port}/v2/recordings/{call.call_control_id[-8:]}.wav"
            await self.hook(call, "call.recording.saved", recording_urls={"wav": wav})
        await self.hook(
            call,
            "call.cost",
            total_cost="0.0350" if call.answered else "0",
            currency="USD",
            billed_duration_secs=60,
            status="success",
        )
