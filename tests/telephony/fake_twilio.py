"""A local Twilio: the parts of the Programmable Voice REST API Credira uses, served over real
HTTP, checking each request field by field, and calling back the way Twilio does (signed with
the account's auth token, with the call's progress on its own schedule, late, twice or out of
order when a scenario says so).

What it speaks (https://www.twilio.com/docs/voice/api/call-resource):
- ``POST /2010-04-01/Accounts/{Sid}/Calls.json`` (form, Basic auth) -> 201 and the call;
- ``GET .../Calls.json?To=&From=`` -> ``{"calls": [...]}``, newest first;
- ``GET .../Calls/{CallSid}.json``; ``POST .../Calls/{CallSid}.json`` with ``Status``;
- ``GET .../Recordings/{RecordingSid}.wav``.
Errors are Twilio's JSON (``code``, ``message``, ``more_info``, ``status``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import xml.etree.ElementTree as ElementTree
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from credira.conversation.debtor import play
from tests.telephony.local_server import LocalServer

EVENTS = ["initiated", "ringing", "answered", "completed"]
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
# An empty 8 kHz mono WAV.
WAV = bytes.fromhex(
    "524946462400000057415645666d74201000000001000100401f0000803e0000020010006461746100000000"
)


def _now() -> str:
    return format_datetime(datetime.now(UTC), usegmt=True)


async def _form(request: Request) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
        fields.setdefault(name, []).append(value)
    return fields


def _error(status: int, code: int, message: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


@dataclass
class Scenario:
    """How a call to one number goes: ``ending`` is Twilio's final CallStatus; ``answered_by``
    what AMD says; ``digits`` the key pressed; ``chaos`` repeats and reorders the callbacks;
    ``silent`` sends no status callbacks at all (the call still moves, as its API shows)."""

    ending: str = "completed"
    answered_by: str = "human"
    digits: str | None = "1"
    chaos: bool = False
    silent: bool = False
    duration: int = 42
    # A conversation agent's call (TwiML ``<Connect><ConversationRelay>``): what the debtor
    # says on the relay socket (``credira.conversation.debtor`` steps); None: no socket.
    debtor: list[str] | None = None


@dataclass
class FakeCall:
    sid: str
    to: str
    from_: str
    form: dict[str, list[str]]
    status: str = "queued"
    created: str = field(default_factory=_now)
    start_time: str | None = None
    end_time: str | None = None
    duration: str | None = None
    answered_by: str | None = None
    recording_sid: str | None = None
    twiml: list[str] = field(default_factory=list)

    def resource(self, account_sid: str) -> dict[str, Any]:
        final = self.status in ("completed", "busy", "no-answer", "failed", "canceled")
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "to": self.to,
            "from": self.from_,
            "status": self.status,
            "direction": "outbound-api",
            "date_created": self.created,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration": self.duration,
            "price": "-0.01300" if final and self.status == "completed" else None,
            "price_unit": "USD",
            "answered_by": self.answered_by,
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{self.sid}.json",
        }


class FakeTwilio(LocalServer):
    def __init__(self, account_sid: str, auth_token: str, deliver: httpx.AsyncClient) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.deliver = deliver  # how callbacks reach the app (its public URL)
        self.scenarios: dict[str, Scenario] = {}
        self.calls: dict[str, FakeCall] = {}
        self.creates = 0
        self.problems: list[str] = []
        self.callbacks: list[tuple[str, int]] = []  # (CallStatus or kind, our reply's status)
        # The next create: answered after this many seconds; or refused with this status
        # (and no call placed).
        self.create_delay = 0.0
        self.create_refusal: int | None = None
        self.peak = 0  # the most calls in progress at once
        self.placed = asyncio.Event()  # set once a call is placed (before its answer goes out)
        # Where ConversationRelay's sockets reach the app (``ws://127.0.0.1:port``), the URL
        # the TwiML names being the public one; and what each call's socket heard.
        self.relay_to: str | None = None
        self.relayed: dict[str, list[dict[str, Any]]] = {}
        base = "/2010-04-01/Accounts/{account}"
        self.app = Starlette(
            routes=[
                Route(base + "/Calls.json", self._calls, methods=["GET", "POST"]),
                Route(base + "/Calls/{sid}.json", self._call, methods=["GET", "POST"]),
                Route(base + "/Recordings/{sid}.wav", self._recording, methods=["GET"]),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- REST ---

    def _refused(self, request: Request) -> Response | None:
        if request.path_params["account"] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            self.problems.append("a request without the account's Basic auth")
            return _error(401, 20003, "Authenticate")
        return None

    async def _calls(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        if request.method == "GET":
            to, from_ = request.query_params.get("To"), request.query_params.get("From")
            listed = [
                call.resource(self.account_sid)
                for call in reversed(self.calls.values())
                if (to is None or call.to == to) and (from_ is None or call.from_ == from_)
            ]
            return JSONResponse({"calls": listed, "page": 0, "page_size": 50})
        return await self._create(request)

    async def _create(self, request: Request) -> Response:
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            self.problems.append(f"create sent as {request.headers.get('content-type')}")
        fields = await _form(request)
        self._check_create(fields)
        if "To" not in fields or "From" not in fields:
            return _error(400, 21201, "No 'To' number is specified")
        if self.create_refusal is not None:
            return _error(self.create_refusal, 20500, "Internal Server Error")
        self.creates += 1
        live = [c for c in self.calls.values() if c.status not in FINAL]
        self.peak = max(self.peak, len(live) + 1)
        call = FakeCall("CA" + secrets.token_hex(16), fields["To"][0], fields["From"][0], fields)
        self.calls[call.sid] = call
        self._spawn(self._progress(call, self.scenarios.get(call.to, Scenario())))
        self.placed.set()
        if self.create_delay:
            await asyncio.sleep(self.create_delay)
        return JSONResponse(call.resource(self.account_sid), status_code=201)

    def _check_create(self, fields: dict[str, list[str]]) -> None:
        def one(name: str) -> str | None:
            values = fields.get(name)
            return values[0] if values and len(values) == 1 else None

        if ("Url" in fields) == ("Twiml" in fields):
            self.problems.append("exactly one of Url and Twiml must be sent")
        for name in ("Url", "StatusCallback", "RecordingStatusCallback"):
            if not (one(name) or "").startswith("http://testserver/hooks/twilio/calls/call_"):
                self.problems.append(f"{name} is {fields.get(name)}")
        if sorted(fields.get("StatusCallbackEvent", [])) != sorted(EVENTS):
            self.problems.append(f"StatusCallbackEvent is {fields.get('StatusCallbackEvent')}")
        expected = {
            "Method": "POST",
            "StatusCallbackMethod": "POST",
            "MachineDetection": "DetectMessageEnd",
            "Record": "true",
        }
        for name, value in expected.items():
            if one(name) != value:
                self.problems.append(f"{name} is {fields.get(name)}, not {value}")
        if not (one("TimeLimit") or "").isdigit():
            self.problems.append(f"TimeLimit is {fields.get('TimeLimit')}")

    async def _call(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        call = self.calls.get(request.path_params["sid"])
        if call is None:
            return _error(404, 20404, "The requested resource was not found")
        if request.method == "POST":
            status = (await _form(request)).get("Status", [None])[0]
            if status not in ("canceled", "completed"):
                return _error(400, 21218, "Invalid Status")
            if call.status not in ("completed", "busy", "no-answer", "failed", "canceled"):
                call.status = "canceled" if call.status in ("queued", "ringing") else "completed"
                call.end_time = _now()
                self._spawn(self._status(call, call.status))
        return JSONResponse(call.resource(self.account_sid))

    async def _recording(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        known = {call.recording_sid for call in self.calls.values()}
        if request.path_params["sid"] not in known:
            return _error(404, 20404, "The requested resource was not found")
        return Response(WAV, media_type="audio/x-wav")

    # --- The call's life, and its callbacks ---

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, params: dict[str, str]) -> httpx.Response:
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        return await self.deliver.post(url, data=params, headers={"X-Twilio-Signature": signature})

    def _params(self, call: FakeCall, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            **extra,
        }

    async def _status(self, call: FakeCall, status: str, **extra: str) -> None:
        params = self._params(
            call,
            CallStatus=status,
            Timestamp=_now(),
            CallbackSource="call-progress-events",
            SequenceNumber=str(len(self.callbacks)),
            **extra,
        )
        reply = await self._post(call.form["StatusCallback"][0], params)
        self.callbacks.append((status, reply.status_code))

    async def _progress(self, call: FakeCall, scenario: Scenario) -> None:
        try:
            await self._run(call, scenario)
        except Exception as exc:  # a broken scenario shows in the test, not in a log
            self.problems.append(f"scenario failed: {exc!r}")

    async def _run(self, call: FakeCall, scenario: Scenario) -> None:
        async def status(name: str, **extra: str) -> None:
            if not scenario.silent:
                await self._status(call, name, **extra)

        await asyncio.sleep(0.05)
        call.status = "queued"
        await status("initiated")
        call.status = "ringing"
        await status("ringing")
        await asyncio.sleep(0.05)
        if call.status == "canceled":
            return
        if scenario.ending in ("busy", "no-answer", "failed", "canceled"):
            call.status = scenario.ending
            call.end_time = _now()
            call.duration = "0"
            extra = {"CallDuration": "0"}
            if scenario.ending == "failed":
                extra |= {"ErrorCode": "32009", "ErrorMessage": "Your TwiML tried to dial"}
            await status(scenario.ending, **extra)
            return
        call.status = "in-progress"
        call.start_time = _now()
        call.answered_by = scenario.answered_by
        await self._answer(call, scenario)
        await status("in-progress")
        await asyncio.sleep(0.05)
        call.status = "completed"
        call.end_time = _now()
        call.duration = str(scenario.duration)
        call.recording_sid = "RE" + secrets.token_hex(16)
        ending = {"CallDuration": str(scenario.duration), "AnsweredBy": scenario.answered_by}
        if scenario.chaos:
            # The last word first and twice, then a late "ringing" and "in-progress".
            await status("completed", **ending)
            await status("completed", **ending)
            await status("ringing")
            await status("in-progress")
        else:
            await status("completed", **ending)
        recording = self._params(
            call,
            RecordingSid=call.recording_sid,
            RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}"
            f"/Recordings/{call.recording_sid}",
            RecordingStatus="completed",
            RecordingDuration=str(scenario.duration),
        )
        reply = await self._post(call.form["RecordingStatusCallback"][0], recording)
        self.callbacks.append(("recording", reply.status_code))

    async def _relay(self, call: FakeCall, url: str, steps: list[str]) -> None:
        """ConversationRelay: the socket opened as Twilio opens it (signed over the URL the
        TwiML named), the setup frame, then the debtor's words as prompt frames until the
        app's ``end`` frame."""
        if self.relay_to is None:
            self.problems.append("a ConversationRelay socket with nowhere to connect")
            return
        signature = RequestValidator(self.auth_token).compute_signature(url, {})
        local = self.relay_to + "/" + url.split("/", 3)[3]
        headers = {"X-Twilio-Signature": signature}
        async with websockets.connect(local, additional_headers=headers) as socket:

            async def send(frame: dict[str, Any]) -> None:
                if frame.get("type") == "setup":
                    frame = {**frame, "callSid": call.sid, "accountSid": self.account_sid}
                with contextlib.suppress(websockets.ConnectionClosed):
                    await socket.send(json.dumps(frame))

            async def receive() -> dict[str, Any] | None:
                try:
                    loaded = json.loads(await socket.recv())
                except websockets.ConnectionClosed:
                    return None
                return loaded if isinstance(loaded, dict) else None

            self.relayed[call.sid] = await play(steps, send, receive)

    async def _answer(self, call: FakeCall, scenario: Scenario) -> None:
        """Fetch the TwiML as Twilio does once AMD has decided, and act on it."""
        url = call.form["Url"][0]
        reply = await self._post(
            url, self._params(call, CallStatus="in-progress", AnsweredBy=scenario.answered_by)
        )
        self.callbacks.append(("twiml", reply.status_code))
        if reply.status_code != 200 or "xml" not in reply.headers.get("content-type", ""):
            self.problems.append(f"TwiML fetch answered {reply.status_code}")
            return
        call.twiml.append(reply.text)
        root = ElementTree.fromstring(reply.text)  # noqa: S314 - our own app's reply
        relay = root.find("Connect/ConversationRelay")
        if relay is not None:
            if scenario.debtor is not None:
                await self._relay(call, relay.get("url") or "", scenario.debtor)
            return
        gather = root.find("Gather")
        if gather is None or scenario.digits is None:
            return
        if gather.get("input") != "dtmf" or gather.get("numDigits") != "1":
            self.problems.append(f"Gather is {gather.attrib}")
        action = gather.get("action") or ""
        pressed = await self._post(action, self._params(call, Digits=scenario.digits))
        self.callbacks.append(("gather", pressed.status_code))
        call.twiml.append(pressed.text)
