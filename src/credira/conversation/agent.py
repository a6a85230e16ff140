"""The agent loop of one call, over ConversationRelay's JSON frames.

In: ``setup``, ``prompt`` (``voicePrompt``, ``last``), ``dtmf``, ``interrupt``, ``error``. Out:
``text`` tokens (``token``, ``last``) as the policy produces them, and ``end`` (its
``handoffData`` the outcome). The loop says the recording notice first, then hands each final
prompt to the policy; a reply runs as a task so that the debtor can barge in (``interrupt``
cancels it, and the transcript keeps what was heard). The call ends with a closing line, never
dead air: when an ending tool is accepted, at ``max_duration``, after the debtor stays silent
twice, and when the policy fails or gives no first word within ``reply_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from credira.conversation.context import CallContext
from credira.conversation.guard import Guard, ToolResult
from credira.conversation.record import Record
from credira.kit.clock import Clock

log = structlog.get_logger("credira.conversation")

Frame = dict[str, Any]
Send = Callable[[Frame], Awaitable[None]]
# The next frame from the provider; None once the socket closed (the debtor hung up).
Receive = Callable[[], Awaitable[Frame | None]]
Act = Callable[[str, dict[str, Any]], ToolResult]


class Policy(Protocol):
    """What decides the agent's next words: it yields the reply's text as it comes and acts
    only through ``act`` (the guard's checked tools)."""

    def respond(self, said: str, guard: Guard, act: Act) -> AsyncIterator[str]: ...


class PolicyFailed(Exception):
    """The policy cannot answer (the LLM is down, refused, or answered nonsense)."""


@dataclass(frozen=True)
class Limits:
    silence_seconds: float = 8.0  # after the agent's words, before "are you still there?"
    silences: int = 2  # silences in a row that end the call
    reply_timeout: float = 8.0  # the policy's first word
    max_duration: float | None = None  # seconds; the context's when None


class Conversation:
    def __init__(
        self,
        context: CallContext,
        policy: Policy,
        send: Send,
        receive: Receive,
        *,
        clock: Clock,
        limits: Limits | None = None,
        before_end: Callable[[Record], Awaitable[None]] | None = None,
    ) -> None:
        self.context = context
        self.policy = policy
        self.guard = Guard(context)
        self.record: Record = self.guard.record
        self._send = send
        self._receive = receive
        self._clock = clock
        self.limits = limits or Limits()
        self._reply: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[tuple[str, Frame | None]] = asyncio.Queue()
        self._speaking = ""  # the agent's line being sent, for an interrupt to cut
        self._ended = False
        self._partial: list[str] = []
        self._before_end = before_end

    def now(self) -> datetime:
        return self._clock.now()

    # --- Sending ---

    async def _token(self, token: str, last: bool = False) -> None:
        await self._send({"type": "text", "token": token, "last": last})

    async def say(self, text: str) -> None:
        """A whole line at once (the fixed lines), recorded."""
        await self._token(text, last=True)
        self.record.said("agent", text, self.now())

    async def end(self, closing: str | None, ended_by: str) -> None:
        if self._ended:
            return
        self._ended = True
        self.record.ended_by = self.record.ended_by or ended_by
        if closing:
            await self.say(closing)
        if self._before_end is not None:
            # Kept before the end frame: the call's final status may follow it at once.
            await self._before_end(self.record)
        handoff = {"outcome": self.record.final_outcome(), "ended_by": self.record.ended_by}
        await self._send({"type": "end", "handoffData": json.dumps(handoff)})
        log.info(
            "conversation.ended",
            call_id=self.context.call_id,
            outcome=handoff["outcome"],
            ended_by=self.record.ended_by,
        )

    # --- The loop ---

    async def run(self) -> Record:
        deadline = time.monotonic() + float(self.limits.max_duration or self.context.max_duration)
        reader = asyncio.create_task(self._read())
        try:
            await self.say(self.guard.fill(self.guard.words.opening))
            silences = 0
            while not self._ended:
                replying = self._reply is not None and not self._reply.done()
                left = deadline - time.monotonic()
                if left <= 0:
                    await self._stop_reply()
                    await self.end(self.guard.words.closing_time, "max_duration")
                    break
                wait = left if replying else min(left, self.limits.silence_seconds)
                try:
                    kind, frame = await asyncio.wait_for(self._events.get(), wait)
                except TimeoutError:
                    if replying or time.monotonic() >= deadline:
                        continue
                    silences += 1
                    if silences >= self.limits.silences:
                        await self.end(self.guard.words.closing_silence, "silence")
                    else:
                        await self.say(self.guard.words.still_there)
                    continue
                if kind == "closed":
                    self.record.ended_by = self.record.ended_by or "hangup"
                    await self._stop_reply()
                    self._ended = True
                    break
                if kind == "replied":
                    if self.guard.ending is not None:
                        await self.end(None, "agent" if self.guard.ending == "end_call" else "tool")
                    continue
                assert frame is not None
                silences = 0 if kind == "prompt" else silences
                await self._on_frame(frame)
        finally:
            reader.cancel()
            await self._stop_reply()
        return self.record

    async def _read(self) -> None:
        while True:
            frame = await self._receive()
            if frame is None:
                await self._events.put(("closed", None))
                return
            kind = str(frame.get("type", ""))
            if kind == "prompt" and not frame.get("last", True):
                self._partial.append(str(frame.get("voicePrompt", "")))
                continue
            await self._events.put(("prompt" if kind == "prompt" else "frame", frame))

    async def _on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "prompt":
            said = " ".join([*self._partial, str(frame.get("voicePrompt", ""))]).strip()
            self._partial.clear()
            await self._stop_reply()
            if said:
                self.record.said("debtor", said, self.now())
            self._reply = asyncio.create_task(self._respond(said))
        elif kind == "dtmf":
            digit = str(frame.get("digit", ""))[:1]
            self.record.said("debtor", f"Pressed {digit}.", self.now())
            await self._stop_reply()
            self._reply = asyncio.create_task(self._respond(f"pressed {digit}"))
        elif kind == "interrupt":
            heard = str(frame.get("utteranceUntilInterrupt", ""))
            await self._stop_reply()
            self._cut(heard)
        elif kind == "error":
            log.warning(
                "conversation.provider_error",
                call_id=self.context.call_id,
                description=str(frame.get("description", ""))[:200],
            )

    def _cut(self, heard: str) -> None:
        """The debtor barged in: the agent's last line as far as they heard it."""
        for line in reversed(self.record.lines):
            if getattr(line, "speaker", None) == "agent":
                if heard and hasattr(line, "text"):
                    line.text = heard
                line.interrupted = True  # type: ignore[union-attr]
                return

    async def _stop_reply(self) -> None:
        reply, self._reply = self._reply, None
        if reply is not None and not reply.done():
            reply.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reply

    async def _respond(self, said: str) -> None:
        guard = self.guard
        guard.last_debtor = said
        parts: list[str] = []
        held: list[str] = []  # words before verification: said only once screened
        sent_any = False

        def act(name: str, arguments: dict[str, Any]) -> ToolResult:
            result = guard.call(name, arguments, self.now())
            log.info(
                "conversation.tool",
                call_id=self.context.call_id,
                tool=name,
                accepted=result.accepted,
            )
            return result

        async def emit(token: str) -> None:
            nonlocal sent_any
            if not sent_any:
                preamble = guard.preamble()
                if preamble:
                    token = f"{preamble} {token}"
                sent_any = True
            parts.append(token)
            await self._token(token)

        stream = self.policy.respond(said, guard, act).__aiter__()
        try:
            first = True
            while True:
                try:
                    if first:
                        token = await asyncio.wait_for(
                            stream.__anext__(), self.limits.reply_timeout
                        )
                        first = False
                    else:
                        token = await stream.__anext__()
                except StopAsyncIteration:
                    break
                if not guard.verified:
                    held.append(token)
                    continue
                if held:
                    token = "".join(held) + token
                    held.clear()
                await emit(token)
        except asyncio.CancelledError:
            # The debtor barged in (or the call ended): what was said so far stays in the
            # transcript, marked interrupted.
            if parts:
                self.record.said("agent", "".join(parts), self.now(), interrupted=True)
            raise
        except (TimeoutError, PolicyFailed) as exc:
            log.warning(
                "conversation.policy_failed", call_id=self.context.call_id, error=str(exc)[:200]
            )
            if parts:
                await self._token("", last=True)
                self.record.said("agent", "".join(parts), self.now())
            self.record.ended_by = "llm_failure"
            await self.end(guard.words.closing_trouble, "llm_failure")
            await self._events.put(("replied", None))
            return
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if held:
            await emit(guard.screen("".join(held)))
        if not parts and guard.ending is not None:
            await emit(guard.closing_line())
        elif guard.ending is not None and guard.ending != "end_call" and not _closes(parts):
            await emit(" " + guard.closing_line())
        if parts:
            await self._token("", last=True)
            self.record.said("agent", "".join(parts), self.now())
        await self._events.put(("replied", None))


def _closes(parts: list[str]) -> bool:
    text = "".join(parts).lower()
    return any(word in text for word in ("goodbye", "adiós", "bye"))
