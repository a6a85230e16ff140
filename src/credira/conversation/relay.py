"""ConversationRelay's WebSocket: the provider's end of a conversation agent's call.

The call's TwiML names ``wss://<public>/hooks/twilio/relay/<token>`` (Telnyx's
``conversation_relay_start`` command ``.../hooks/telnyx/relay/<token>``), the token a signed,
expiring name of the call attempt it was issued for (``sign_token``): ``<call id>.<expiry>.
<HMAC-SHA256 over both with the account's auth token (Telnyx: API key)>``. A handshake is
accepted only when the token is genuine and unexpired, and, for Twilio, the request carries
``X-Twilio-Signature`` over that URL (the same auth token; Telnyx does not sign its
handshake, so the token is its credential); its ``setup`` frame must name the call the
provider placed for that attempt. Anything else is closed with 1008 (policy violation)
and logged, before a word is said. The conversation's record is kept
(``RelayStore.finished``) before the ``end`` frame goes out, so the call's final status
callback finds it there.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from twilio.request_validator import RequestValidator

from credira.conversation.agent import Conversation, Frame, Limits, Policy
from credira.conversation.context import CallContext
from credira.conversation.record import Record
from credira.kit.clock import Clock

log = structlog.get_logger("credira.conversation.relay")

TOKEN_TTL = timedelta(minutes=5)  # between the TwiML's fetch and the socket's opening
SETUP_SECONDS = 10.0
POLICY_VIOLATION = 1008


def _mac(call_id: str, expires: int, secret: str) -> str:
    digest = hmac.new(
        secret.encode(), f"relay:{call_id}:{expires}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_token(call_id: str, secret: str, now: datetime, ttl: timedelta = TOKEN_TTL) -> str:
    expires = int((now + ttl).timestamp())
    return f"{call_id}.{expires}.{_mac(call_id, expires, secret)}"


def token_call(token: str) -> str | None:
    """The call a token names (not yet verified)."""
    parts = token.split(".")
    return parts[0] if len(parts) == 3 and parts[0] else None


def token_valid(token: str, call_id: str, secret: str, now: datetime) -> bool:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != call_id or not parts[1].isdigit():
        return False
    expires = int(parts[1])
    if now.timestamp() > expires:
        return False
    return hmac.compare_digest(parts[2], _mac(call_id, expires, secret))


def relay_url(public_url: str, token: str, provider: str = "twilio") -> str:
    """The socket's URL as the provider is given it (and, Twilio, signs it)."""
    base = public_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return f"{base}/hooks/{provider}/relay/{token}"


@dataclass(frozen=True)
class RelayCall:
    """What the relay needs of the attempt a token names."""

    call_id: str
    context: CallContext
    auth_token: str  # the account's: signs the token and the handshake
    account_sid: str
    provider_call_id: str | None
    # Whether the provider signs the handshake (Twilio's X-Twilio-Signature); Telnyx does not,
    # and the token, signed with the account's API key, is the handshake's credential.
    signed: bool = True
    provider: str = "twilio"


class RelayStore(Protocol):
    async def opened(self, call_id: str) -> RelayCall | None:
        """The attempt, if it is a conversation agent's call still waiting for its socket."""
        ...

    async def finished(self, call_id: str, record: dict[str, Any]) -> None:
        """Keep the conversation's record with the call."""
        ...


class Refused(Exception):
    pass


async def serve(
    websocket: WebSocket,
    token: str,
    store: RelayStore,
    *,
    public_url: str,
    clock: Clock,
    policy_for: Callable[[CallContext], Policy],
    limits: Limits | None = None,
) -> Record | None:
    """Hold one call's conversation on ``websocket``; its record, or None when refused."""
    try:
        call = await _handshake(websocket, token, store, public_url, clock)
    except Refused as exc:
        log.warning("relay.refused", reason=str(exc), call_id=token_call(token))
        await websocket.close(code=POLICY_VIOLATION)
        return None
    await websocket.accept()
    try:
        await _setup(websocket, call)
    except Refused as exc:
        log.warning("relay.setup_refused", reason=str(exc), call_id=call.call_id)
        await websocket.close(code=POLICY_VIOLATION)
        return None

    async def send(frame: Frame) -> None:
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await websocket.send_text(json.dumps(frame))

    async def receive() -> Frame | None:
        try:
            raw = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return None
        try:
            frame = json.loads(raw)
        except ValueError:
            return {"type": "error", "description": "not JSON"}
        return frame if isinstance(frame, dict) else {"type": "error", "description": "not a frame"}

    kept = False

    async def keep(record: Record) -> None:
        nonlocal kept
        if not kept:
            kept = True
            await store.finished(call.call_id, record.to_json())

    conversation = Conversation(
        call.context,
        policy_for(call.context),
        send,
        receive,
        clock=clock,
        limits=limits,
        before_end=keep,
    )
    record = await conversation.run()
    await keep(record)
    if websocket.application_state == WebSocketState.CONNECTED:
        # The provider may hang up first (its close is not read after the end frame).
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()
    return record


async def _handshake(
    websocket: WebSocket, token: str, store: RelayStore, public_url: str, clock: Clock
) -> RelayCall:
    call_id = token_call(token)
    if call_id is None:
        raise Refused("malformed token")
    call = await store.opened(call_id)
    if call is None:
        raise Refused("no conversation call waits for this token")
    if not token_valid(token, call_id, call.auth_token, clock.now()):
        raise Refused("the token is forged, another attempt's, or expired")
    if not call.signed:
        return call
    signature = websocket.headers.get("x-twilio-signature", "")
    url = relay_url(public_url, token, call.provider)
    if not signature or not RequestValidator(call.auth_token).validate(url, {}, signature):
        raise Refused("the handshake is not signed by Twilio for this account")
    return call


async def _setup(websocket: WebSocket, call: RelayCall) -> None:
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), SETUP_SECONDS)
        frame = json.loads(raw)
    except (TimeoutError, ValueError, WebSocketDisconnect, RuntimeError):
        raise Refused("no setup frame") from None
    if not isinstance(frame, dict) or frame.get("type") != "setup":
        raise Refused("the first frame is not setup")
    if frame.get("accountSid") not in (None, call.account_sid):
        raise Refused("another Twilio account's call")
    # Telnyx names the call by its call_control_id (its callSid too).
    sid = frame.get("callControlId") or frame.get("callSid")
    if call.provider_call_id and sid != call.provider_call_id:
        raise Refused("the setup names another call")
