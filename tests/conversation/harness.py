"""The agent's relay socket served for real (uvicorn on a loopback port), and a debtor that
talks to it as Twilio's ConversationRelay does: a signed handshake, then JSON frames.

The server is the production code path (`credira.conversation.relay.serve`: handshake checks,
the agent loop, the guard, the policy); only where the attempt is looked up and where its
record is kept is a dictionary (`MemoryStore`) instead of the provider's row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from tests.telephony.local_server import LocalServer
from twilio.request_validator import RequestValidator

from credira.conversation.agent import Limits, Policy
from credira.conversation.context import CallContext, SettlementPolicy
from credira.conversation.debtor import play
from credira.conversation.relay import RelayCall, relay_url, serve, sign_token
from credira.kit.clock import FrozenClock

NOW = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # 10:00 in New York
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "relay-test-auth-token-0123456789"
FAST = Limits(silence_seconds=0.3, silences=2, reply_timeout=3.0)


def context(n: int, *, lang: str = "en-US", **overrides: Any) -> CallContext:
    values: dict[str, Any] = {
        "call_id": f"call_eval{n:04d}",
        "account_id": "acc_eval",
        "customer_name": "Jane Doe",
        "company_name": "Acme Ltd",
        "agent_name": "Alex",
        "invoice_number": f"INV-{7000 + n}",
        "amount": Decimal("1250.00"),
        "currency": "USD",
        "amount_text": "1,250.00 USD",
        "due_date": date(2026, 11, 1),
        "language": lang,
        "zone": "America/New_York",
        "instructions": "Remind the debtor of the overdue invoice and agree how it is paid.",
        "max_duration": 600,
        "policy": SettlementPolicy(),
        "email": "jane@example.com",
        **overrides,
    }
    return CallContext(**values)


@dataclass
class MemoryStore:
    calls: dict[str, RelayCall] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept: dict[str, asyncio.Event] = field(default_factory=dict)

    def add(self, ctx: CallContext, provider_call_id: str | None = None) -> None:
        self.calls[ctx.call_id] = RelayCall(
            ctx.call_id, ctx, AUTH_TOKEN, ACCOUNT_SID, provider_call_id
        )

    async def opened(self, call_id: str) -> RelayCall | None:
        return None if call_id in self.records else self.calls.get(call_id)

    async def finished(self, call_id: str, record: dict[str, Any]) -> None:
        self.records[call_id] = record
        self.kept.setdefault(call_id, asyncio.Event()).set()

    async def record_of(self, call_id: str, within: float = 5.0) -> dict[str, Any] | None:
        """The call's record once kept (a hung-up call's is kept after the socket closed)."""
        kept = self.kept.setdefault(call_id, asyncio.Event())
        try:
            await asyncio.wait_for(kept.wait(), within)
        except TimeoutError:
            return None
        return self.records[call_id]


class AgentServer(LocalServer):
    def __init__(self, policy_for: Callable[[CallContext], Policy], limits: Limits = FAST):
        super().__init__()
        self.clock = FrozenClock(NOW)
        self.store = MemoryStore()
        self.policy_for = policy_for
        self.limits = limits
        self.app = Starlette(routes=[WebSocketRoute("/hooks/twilio/relay/{token}", self._relay)])

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _relay(self, websocket: WebSocket) -> None:
        await serve(
            websocket,
            websocket.path_params["token"],
            self.store,
            public_url=self.public_url,
            clock=self.clock,
            policy_for=self.policy_for,
            limits=self.limits,
        )

    def token(self, call_id: str, *, secret: str = AUTH_TOKEN) -> str:
        return sign_token(call_id, secret, self.clock.now())


@dataclass
class Talk:
    frames: list[dict[str, Any]]
    record: dict[str, Any] | None

    @property
    def end(self) -> dict[str, Any] | None:
        return next((f for f in self.frames if f.get("type") == "end"), None)

    @property
    def handoff(self) -> dict[str, Any]:
        end = self.end
        return json.loads(end["handoffData"]) if end else {}


async def talk(
    server: AgentServer,
    ctx: CallContext,
    steps: list[str],
    *,
    token: str | None = None,
    signature: str | None = None,
    call_sid: str = "CA-eval",
) -> Talk:
    """Open the call's socket as Twilio does and play ``steps``; what the agent sent."""
    token = token or server.token(ctx.call_id)
    url = relay_url(server.public_url, token)
    if signature is None:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, {})
    headers = {"X-Twilio-Signature": signature} if signature else {}
    async with websockets.connect(url, additional_headers=headers) as socket:

        async def send(frame: dict[str, Any]) -> None:
            if frame.get("type") == "setup":
                frame = {**frame, "callSid": call_sid, "accountSid": ACCOUNT_SID}
            with contextlib.suppress(websockets.ConnectionClosed):
                await socket.send(json.dumps(frame))

        async def receive() -> dict[str, Any] | None:
            try:
                loaded = json.loads(await socket.recv())
            except websockets.ConnectionClosed:
                return None
            return loaded if isinstance(loaded, dict) else None

        frames = await play(steps, send, receive, lang=ctx.language)
    return Talk(frames, await server.store.record_of(ctx.call_id))
