"""A conversation agent's call on the built-in simulator: the scripted debtor of the dialled
number (`debtor.persona_for`) speaks ConversationRelay's frames to the same agent loop a
Twilio call reaches over its socket, in process, so `./dev serve` with no network runs the
real agent code path."""

from __future__ import annotations

import asyncio
from typing import Any

from credira.channel.voice.port import CallRequest
from credira.conversation.agent import Conversation, Limits
from credira.conversation.context import context_of
from credira.conversation.debtor import PERSONAS, persona_for, pipe, play
from credira.conversation.scripted import ScriptedPolicy
from credira.kit.clock import Clock

# A simulated debtor answers at once: a quarter of a second without a word is its silence
# (short, since the simulator places the call meanwhile; long enough for a busy event loop).
SIMULATED_LIMITS = Limits(silence_seconds=0.25, reply_timeout=5.0)


async def converse(request: CallRequest, clock: Clock) -> dict[str, Any]:
    """The record of the simulated debtor's conversation with the agent."""
    context = context_of(request)
    (agent_send, agent_receive), (debtor_send, debtor_receive), hang_up = pipe()
    conversation = Conversation(
        context,
        ScriptedPolicy(clock),
        agent_send,
        agent_receive,
        clock=clock,
        limits=SIMULATED_LIMITS,
    )
    running = asyncio.create_task(conversation.run())
    heard = await play(
        PERSONAS[persona_for(request.to_number)],
        debtor_send,
        debtor_receive,
        lang=context.language,
    )
    if not heard or heard[-1].get("type") != "end":
        hang_up()
    record = await running
    return record.to_json()
