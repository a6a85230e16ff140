"""The relay socket of a conversation agent's call (``/hooks/twilio/relay/{token}``,
``/hooks/telnyx/relay/{token}``): no API key; the handshake is bound to the attempt by its
token, and Twilio's is signed too (`relay`)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, WebSocket

from credira.api.deps import Runtime
from credira.channel.voice.port import VoiceProviderError
from credira.channel.voice.telnyx import TelnyxVoice
from credira.channel.voice.twilio import TwilioVoice
from credira.conversation.agent import Policy
from credira.conversation.context import CallContext
from credira.conversation.llm_policy import LLMPolicy
from credira.conversation.relay import POLICY_VIOLATION, serve
from credira.conversation.scripted import ScriptedPolicy

log = structlog.get_logger("credira.conversation")

router = APIRouter(prefix="/hooks")


@router.websocket("/twilio/relay/{token}")
async def twilio_relay(websocket: WebSocket, token: str) -> None:
    """ConversationRelay's socket for one call attempt: refused (1008) unless Twilio signed
    the handshake for the account whose attempt the token names."""
    await _relay(websocket, token, "twilio")


@router.websocket("/telnyx/relay/{token}")
async def telnyx_relay(websocket: WebSocket, token: str) -> None:
    """Telnyx's Conversation Relay socket for one call attempt: refused (1008) unless the
    token is the one issued for that attempt (signed with the account's API key, unexpired)."""
    await _relay(websocket, token, "telnyx")


async def _relay(websocket: WebSocket, token: str, name: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        provider = runtime.voice.get(name)
    except VoiceProviderError:
        provider = None
    if not isinstance(provider, TwilioVoice | TelnyxVoice):
        await websocket.close(code=POLICY_VIOLATION)
        return
    clock = runtime.clock
    # One client per process: every call's turns share its pool of kept-alive connections.
    client = runtime.agent_llm

    def policy_for(context: CallContext) -> Policy:
        if client is None:
            return ScriptedPolicy(clock)
        return LLMPolicy(client, context, clock)

    await serve(
        websocket,
        token,
        provider,
        public_url=runtime.settings.public_url,
        clock=clock,
        policy_for=policy_for,
    )
