"""A local Vapi: the parts of its REST API Credira uses, over real HTTP, checking each request,
and posting the assistant's server messages back with the headers the assistant's ``server``
names (``X-Vapi-Secret``), as Vapi does.

What it speaks (https://docs.vapi.ai/api-reference/calls):
- ``POST /call`` (Bearer API key) -> 201 and the call (no idempotency: each request a call);
- ``GET /call?phoneNumberId=&createdAtGe=&createdAtLe=&limit=`` -> a list; ``GET /call/{id}``;
- ``POST {monitor.controlUrl}`` with ``{"type": "end-call"}``;
- the recording's URL (here ``GET /recordings/{id}.wav``);
- ``GET /phone-number/{id}`` (what ``credira doctor`` reads).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.telephony.fake_twilio import WAV
from tests.telephony.local_server import Dropped, LocalServer

HOOK = "http://testserver/hooks/vapi"
NOT_CONNECTED = ("customer-busy", "customer-did-not-answer", "twilio-failed-to-connect-call")
CONVERSATION = (
    "AI: Hello, this is Ava about your invoice.\n"
    "User: I don't owe this. I never received those goods, I dispute this invoice.\n"
    "AI: I understand, we will look into it. Goodbye."
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Scenario:
    """``reason`` is the endedReason; ``chaos`` repeats and reorders the messages; ``quiet``
    posts none (the call is only seen by reading it)."""

    reason: str = "customer-ended-call"
    transcript: str = CONVERSATION
    chaos: bool = False
    quiet: bool = False


@dataclass
class FakeCall:
    body: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str = field(default_factory=_now)
    status: str = "queued"
    reason: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    transcript: str | None = None
    quiet: bool = False

    def resource(self, base: str) -> dict[str, Any]:
        call: dict[str, Any] = {
            "id": self.id,
            "type": "outboundPhoneCall",
            "status": self.status,
            "createdAt": self.created_at,
            "phoneNumberId": self.body.get("phoneNumberId"),
            "customer": self.body.get("customer"),
            "assistant": self.body.get("assistant"),
            "monitor": {"controlUrl": f"{base}/control/{self.id}"},
        }
        if self.started_at:
            call["startedAt"] = self.started_at
        if self.status == "ended":
            call |= {
                "endedReason": self.reason,
                "endedAt": self.ended_at,
                "cost": 0.12 if self.started_at else 0,
                "artifact": {
                    "transcript": self.transcript,
                    "recordingUrl": f"{base}/recordings/{self.id}.wav" if self.started_at else None,
                },
            }
        return call


class FakeVapi(LocalServer):
    def __init__(
        self, api_key: str, phone_number_id: str, secret: str, deliver: httpx.AsyncClient
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.phone_number_id = phone_number_id
        self.secret = secret
        self.deliver = deliver
        self.scenarios: dict[str, Scenario] = {}
        self.calls: dict[str, FakeCall] = {}
        self.creates = 0
        self.problems: list[str] = []
        self.messages: list[tuple[str, int]] = []
        # How the next create goes wrong: the call placed at once and the answer this late
        # (``create_delay``); the call placed once the test sets ``hold_create``; the
        # call placed and the connection dropped before the answer's body (``drop_create``);
        # nothing placed and the answer lost (``lose_create``).
        self.create_delay = 0.0
        self.hold_create: asyncio.Event | None = None
        self.drop_create = False
        self.lose_create = False
        self.create_refusal: int | None = None
        self.down_for = 0  # the next creates answered 503, nothing placed
        self.lists = 0  # GET /call requests
        self.app = Starlette(
            routes=[
                Route("/call", self._calls, methods=["GET", "POST"]),
                Route("/call/{id}", self._get, methods=["GET"]),
                Route("/control/{id}", self._control, methods=["POST"]),
                Route("/recordings/{id}.wav", self._recording, methods=["GET"]),
                Route("/phone-number/{id}", self._phone_number, methods=["GET"]),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            self.problems.append("a request without the API key")
            return JSONResponse({"message": "Unauthorized", "statusCode": 401}, 401)
        return None

    async def _calls(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        if request.method == "GET":
            return self._list(request)
        self.creates += 1
        body = json.loads(await request.body())
        self._check(body)
        if self.create_refusal is not None:
            return JSONResponse({"message": "Unavailable"}, self.create_refusal)
        if self.down_for:
            self.down_for -= 1
            return JSONResponse({"message": "Service unavailable"}, status_code=503)
        if self.lose_create:
            self.lose_create = False
            await asyncio.sleep(3.0)  # past the client's timeout; nothing was placed
            return JSONResponse({"message": "Gateway Timeout"}, 504)
        if self.hold_create is not None:
            held, self.hold_create = self.hold_create, None
            await held.wait()
        call = FakeCall(body)
        self.calls[call.id] = call
        number = (body.get("customer") or {}).get("number", "")
        self._spawn(self._progress(call, self.scenarios.get(number, Scenario())))
        if self.drop_create:
            self.drop_create = False
            return Dropped()
        if self.create_delay:
            delay, self.create_delay = self.create_delay, 0.0
            await asyncio.sleep(delay)
        return JSONResponse(call.resource(self.url), status_code=201)

    def _list(self, request: Request) -> Response:
        self.lists += 1
        query = request.query_params
        if not query.get("phoneNumberId") or not query.get("createdAtGe"):
            self.problems.append(f"GET /call unbounded: {dict(query)!r}")
        since, until = query.get("createdAtGe", ""), query.get("createdAtLe", "9")
        limit = int(query.get("limit", "100"))
        listed = [
            call.resource(self.url)
            for call in reversed(self.calls.values())
            if since <= call.created_at <= until
            and call.body.get("phoneNumberId") == query.get("phoneNumberId")
        ]
        return JSONResponse(listed[:limit])

    def _check(self, body: dict[str, Any]) -> None:
        if body.get("phoneNumberId") != self.phone_number_id:
            self.problems.append(f"phoneNumberId is {body.get('phoneNumberId')!r}")
        if not (body.get("customer") or {}).get("number", "").startswith("+"):
            self.problems.append(f"customer is {body.get('customer')!r}")
        assistant = body.get("assistant") or {}
        server = assistant.get("server") or {}
        if (
            server.get("url") != HOOK
            or (server.get("headers") or {}).get("X-Vapi-Secret") != self.secret
        ):
            self.problems.append(f"assistant.server is {server!r}")
        if not assistant.get("firstMessage") or not (assistant.get("model") or {}).get("messages"):
            self.problems.append("the assistant has no first message or prompt")
        if not str((assistant.get("metadata") or {}).get("credira_call_id", "")).startswith(
            "call_"
        ):
            self.problems.append(f"assistant.metadata is {assistant.get('metadata')!r}")
        values = (body.get("assistantOverrides") or {}).get("variableValues") or {}
        if not values.get("invoice_number"):
            self.problems.append("variableValues lack the invoice")

    async def _phone_number(self, request: Request) -> Response:
        """``GET /phone-number/{id}``: the number the calls are made from."""
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"message": "Unauthorized", "statusCode": 401}, 401)
        if request.path_params["id"] != self.phone_number_id:
            return JSONResponse({"message": "Not Found", "statusCode": 404}, 404)
        number = {
            "id": self.phone_number_id,
            "provider": "vapi",
            "number": "+14155550123",
            "status": "active",
        }
        return JSONResponse(number)

    async def _get(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        call = self.calls.get(request.path_params["id"])
        if call is None:
            return JSONResponse({"message": "Not Found", "statusCode": 404}, 404)
        return JSONResponse(call.resource(self.url))

    async def _control(self, request: Request) -> Response:
        call = self.calls.get(request.path_params["id"])
        if call is not None and call.status != "ended":
            call.status, call.reason, call.ended_at = "ended", "manually-canceled", _now()
            self._spawn(self._report(call))
        return Response(status_code=200)

    async def _recording(self, request: Request) -> Response:
        if request.path_params["id"] not in self.calls:
            return Response(status_code=404)
        return Response(WAV, media_type="audio/wav")

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, message: dict[str, Any], secret: str | None = None) -> int:
        headers = {"Content-Type": "application/json"}
        headers["X-Vapi-Secret"] = self.secret if secret is None else secret
        reply = await self.deliver.post(
            HOOK, content=json.dumps({"message": message}), headers=headers
        )
        return reply.status_code

    async def _status(self, call: FakeCall, status: str, shown: dict[str, Any]) -> None:
        if call.quiet:
            return
        message = {"type": "status-update", "status": status, "timestamp": _now(), "call": shown}
        self.messages.append((status, await self.post(message)))

    async def _report(self, call: FakeCall) -> None:
        if call.quiet:
            return
        shown = call.resource(self.url)
        message = {
            "type": "end-of-call-report",
            "endedReason": call.reason,
            "startedAt": call.started_at,
            "endedAt": call.ended_at,
            "cost": shown["cost"],
            "artifact": shown["artifact"],
            "analysis": {"summary": "The customer disputes the invoice."},
            "assistant": call.body.get("assistant"),
            "call": shown,
        }
        self.messages.append(("end-of-call-report", await self.post(message)))

    async def _progress(self, call: FakeCall, scenario: Scenario) -> None:
        call.quiet = scenario.quiet
        try:
            await asyncio.sleep(0.05)
            call.status = "ringing"
            await self._status(call, "ringing", call.resource(self.url))
            await asyncio.sleep(0.05)
            connected = scenario.reason not in NOT_CONNECTED
            in_progress: dict[str, Any] = {}
            if connected:
                call.status, call.started_at = "in-progress", _now()
                in_progress = call.resource(self.url)
                if not scenario.chaos:
                    await self._status(call, "in-progress", in_progress)
                await asyncio.sleep(0.1)
            call.status, call.reason, call.ended_at = "ended", scenario.reason, _now()
            call.transcript = scenario.transcript if connected else None
            await self._report(call)
            if scenario.chaos:
                await self._report(call)
                await self._status(call, "in-progress", in_progress)  # late
        except Exception as exc:  # a broken scenario shows in the test
            self.problems.append(f"scenario failed: {exc!r}")
