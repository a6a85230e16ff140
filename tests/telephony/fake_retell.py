"""A local Retell: the parts of its REST API Credira uses, over real HTTP, checking each
request, and posting the agent's webhooks back signed as Retell signs them
(``x-retell-signature: v=<ms>,d=<hex HMAC-SHA256(API key, body + ms)>``).

What it speaks (https://docs.retellai.com/api-references):
- ``POST /v2/create-phone-call`` (Bearer API key, JSON, only the documented fields) -> 201 and
  the call: each request a call (Retell documents no idempotency key);
- ``POST /v3/list-calls`` with ``filter_criteria.metadata`` -> ``{"items", "has_more",
  "pagination_key"}``;
- ``GET /v2/get-call/{call_id}``; ``POST /v2/stop-call/{call_id}``;
- the call's ``recording_url`` (here ``GET /recordings/{call_id}.wav``);
- ``GET /get-agent/{agent_id}`` (what ``credira doctor`` reads).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.telephony.fake_twilio import WAV
from tests.telephony.local_server import Dropped, LocalServer

HOOK = "http://testserver/hooks/retell"
# create-phone-call's body (retell-python-sdk: types/call_create_phone_call_params.py)
CREATE_FIELDS = {
    "from_number",
    "to_number",
    "override_agent_id",
    "override_agent_version",
    "agent_override",
    "retell_llm_dynamic_variables",
    "metadata",
    "custom_sip_headers",
}
CONVERSATION = (
    "Agent: Hello, this is Ava about your invoice.\n"
    "User: Yes, I know about it. I can pay the full amount in 7 days.\n"
    "Agent: Thank you, goodbye."
)


def signature(body: str, api_key: str, at_ms: int | None = None) -> str:
    at_ms = at_ms if at_ms is not None else int(time.time() * 1000)
    digest = hmac.new(api_key.encode(), (body + str(at_ms)).encode(), hashlib.sha256).hexdigest()
    return f"v={at_ms},d={digest}"


@dataclass
class Scenario:
    """``reason`` is the call's disconnection_reason; ``chaos`` repeats and reorders webhooks;
    ``quiet`` sends none (the call is only seen by reading it)."""

    reason: str = "user_hangup"
    transcript: str = CONVERSATION
    chaos: bool = False
    quiet: bool = False


@dataclass
class FakeCall:
    body: dict[str, Any]
    call_id: str = field(default_factory=lambda: "call_" + secrets.token_hex(12))
    call_status: str = "registered"
    reason: str | None = None
    start: int | None = None
    end: int | None = None
    transcript: str | None = None
    analysed: bool = False

    def resource(self, recordings: str) -> dict[str, Any]:
        call: dict[str, Any] = {
            "call_id": self.call_id,
            "call_type": "phone_call",
            "agent_id": self.body["override_agent_id"],
            "call_status": self.call_status,
            "direction": "outbound",
            "from_number": self.body["from_number"],
            "to_number": self.body["to_number"],
            "metadata": self.body.get("metadata"),
            "retell_llm_dynamic_variables": self.body.get("retell_llm_dynamic_variables"),
        }
        if self.start is not None:
            call["start_timestamp"] = self.start
        if self.end is not None:
            call |= {
                "end_timestamp": self.end,
                "duration_ms": self.end - (self.start or self.end),
                "disconnection_reason": self.reason,
                "transcript": self.transcript,
                "recording_url": f"{recordings}/recordings/{self.call_id}.wav"
                if self.start
                else None,
                "call_cost": {
                    "combined_cost": 8.5 if self.start else 0,
                    "product_costs": [],
                    "total_duration_seconds": 0,
                    "total_duration_unit_price": 0,
                },
            }
        if self.analysed:
            call["call_analysis"] = {
                "call_summary": "The customer will pay in 7 days.",
                "in_voicemail": self.reason == "voicemail_reached",
                "user_sentiment": "Positive",
                "call_successful": True,
            }
        return call


class FakeRetell(LocalServer):
    def __init__(self, api_key: str, agent_id: str, deliver: httpx.AsyncClient) -> None:
        super().__init__()
        self.api_key = api_key
        self.agent_id = agent_id
        self.deliver = deliver
        self.scenarios: dict[str, Scenario] = {}
        self.calls: dict[str, FakeCall] = {}
        self.creates = 0  # create requests
        self.lists = 0  # list-calls requests
        self.quiet: set[str] = set()  # calls whose webhooks are not sent
        self.problems: list[str] = []
        self.webhooks: list[tuple[str, int]] = []
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
        self.app = Starlette(
            routes=[
                Route("/v2/create-phone-call", self._create, methods=["POST"]),
                Route("/v2/get-call/{call_id}", self._get, methods=["GET"]),
                Route("/v3/list-calls", self._list, methods=["POST"]),
                Route("/v2/stop-call/{call_id}", self._stop, methods=["POST"]),
                Route("/recordings/{call_id}.wav", self._recording, methods=["GET"]),
                Route("/get-agent/{agent_id}", self._agent, methods=["GET"]),
            ]
        )
        self.agent_webhook_url = HOOK

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            self.problems.append("a request without the API key")
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        return None

    async def _create(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.creates += 1
        body = json.loads(await request.body())
        self._check(body)
        if self.create_refusal is not None:
            return JSONResponse({"message": "Service unavailable"}, status_code=self.create_refusal)
        if self.down_for:
            self.down_for -= 1
            return JSONResponse({"message": "Service unavailable"}, status_code=503)
        if self.lose_create:
            self.lose_create = False
            await asyncio.sleep(3.0)  # past the client's timeout; nothing was placed
            return JSONResponse({"message": "Gateway timeout"}, status_code=504)
        if self.hold_create is not None:
            held, self.hold_create = self.hold_create, None
            await held.wait()
        call = FakeCall(body)
        self.calls[call.call_id] = call
        self._spawn(self._progress(call, self.scenarios.get(body["to_number"], Scenario())))
        if self.drop_create:
            self.drop_create = False
            return Dropped()
        if self.create_delay:
            delay, self.create_delay = self.create_delay, 0.0
            await asyncio.sleep(delay)
        return JSONResponse(call.resource(self.url), status_code=201)

    def _check(self, body: dict[str, Any]) -> None:
        if set(body) - CREATE_FIELDS:
            self.problems.append(f"undocumented fields {sorted(set(body) - CREATE_FIELDS)}")
        for name in ("from_number", "to_number"):
            if not isinstance(body.get(name), str):
                self.problems.append(f"{name} is {body.get(name)!r}")
        if body.get("override_agent_id") != self.agent_id:
            self.problems.append(f"override_agent_id is {body.get('override_agent_id')!r}")
        variables = body.get("retell_llm_dynamic_variables") or {}
        if not all(isinstance(v, str) for v in variables.values()):
            self.problems.append("a dynamic variable is not a string")
        for name in ("script", "customer_name", "invoice_number", "amount", "due_date"):
            if not variables.get(name):
                self.problems.append(f"dynamic variable {name} missing")
        if not str((body.get("metadata") or {}).get("credira_call_id", "")).startswith("call_"):
            self.problems.append(f"metadata is {body.get('metadata')!r}")

    async def _list(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.lists += 1
        query = json.loads(await request.body())
        filters = (query.get("filter_criteria") or {}).get("metadata") or []
        if not filters:
            self.problems.append(f"list-calls without a metadata filter: {query!r}")
        for f in filters:
            if f.get("op") != "eq" or f.get("type") != "string" or not f.get("key"):
                self.problems.append(f"a metadata filter Retell does not document: {f!r}")
        items = [
            call.resource(self.url)
            for call in self.calls.values()
            if all(
                (call.body.get("metadata") or {}).get(f.get("key")) == f.get("value")
                for f in filters
            )
        ][: int(query.get("limit") or 50)]
        return JSONResponse({"items": items, "has_more": False, "pagination_key": None})

    async def _agent(self, request: Request) -> Response:
        """``GET /get-agent/{agent_id}``: the agent that holds the calls."""
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        if request.path_params["agent_id"] != self.agent_id:
            return JSONResponse({"message": "Not found"}, status_code=404)
        agent = {
            "agent_id": self.agent_id,
            "agent_name": "Ava",
            "version": 0,
            "webhook_url": self.agent_webhook_url,
            "language": "en-US",
        }
        return JSONResponse(agent)

    async def _get(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        call = self.calls.get(request.path_params["call_id"])
        if call is None:
            return JSONResponse({"message": "Not found"}, status_code=404)
        return JSONResponse(call.resource(self.url))

    async def _stop(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        call = self.calls.get(request.path_params["call_id"])
        if call is None:
            return JSONResponse({"message": "Not found"}, status_code=404)
        if call.end is None:
            call.reason, call.end, call.call_status = "manual_stopped", _ms(), "ended"
            self._spawn(self._hook("call_ended", call))
        return Response(status_code=204)

    async def _recording(self, request: Request) -> Response:
        if request.path_params["call_id"] not in self.calls:
            return Response(status_code=404)
        return Response(WAV, media_type="audio/wav")

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hook(self, event: str, call: FakeCall | dict[str, Any]) -> None:
        if (call.call_id if isinstance(call, FakeCall) else call.get("call_id")) in self.quiet:
            return
        shown = call.resource(self.url) if isinstance(call, FakeCall) else call
        body = json.dumps({"event": event, "call": shown})
        reply = await self.deliver.post(
            HOOK,
            content=body,
            headers={
                "Content-Type": "application/json",
                "x-retell-signature": signature(body, self.api_key),
            },
        )
        self.webhooks.append((event, reply.status_code))

    async def _progress(self, call: FakeCall, scenario: Scenario) -> None:
        if scenario.quiet:
            self.quiet.add(call.call_id)
        try:
            await asyncio.sleep(0.1)
            connected = not scenario.reason.startswith("dial_")
            started: dict[str, Any] = {}
            if connected:
                call.call_status, call.start = "ongoing", _ms()
                started = call.resource(self.url)  # sent late in a chaotic scenario
                if not scenario.chaos:
                    await self._hook("call_started", started)
                await asyncio.sleep(0.1)
            call.call_status = "ended" if connected else "not_connected"
            call.reason, call.end = scenario.reason, _ms() + 1000
            call.transcript = scenario.transcript if connected else None
            await self._hook("call_ended", call)
            if scenario.chaos:
                await self._hook("call_ended", call)
                if started:
                    await self._hook("call_started", started)
            call.analysed = True
            await self._hook("call_analyzed", call)
        except Exception as exc:  # a broken scenario shows in the test
            self.problems.append(f"scenario failed: {exc!r}")


def _ms() -> int:
    return int(time.time() * 1000)
