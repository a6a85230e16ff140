"""The built-in voice provider: behaves like a telephony provider, places no real calls.

Its side of each call is a row in ``simulator_calls``, written once per idempotency key, so a
repeated or taken-over request never dials twice, whichever process sends it. A call's status
at any moment follows from the time since it was placed and its scenario, chosen by the last
two digits of the dialled number (see the README table). ``time_scale`` compresses the
timeline: 1.0 means a ringing phase of about a second and an answered call of about two.

A call's timeline is fixed when it is placed, so the process that placed (or last read) a call
answers for its ringing and talking from memory, and reads the row only once the call should
have ended (a call cancelled elsewhere meanwhile then ends as cancelled) or when it does not
know the call: polling a call costs no database round trip until its end. Recordings are
spoken from the row when asked for, so they can be fetched long after the call ended.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.channel.voice import simulator_repository as repository
from credira.channel.voice import speech
from credira.channel.voice.port import (
    CallRequest,
    CallStatus,
    ProviderCall,
    Recording,
    VoiceProviderError,
)
from credira.conversation.context import wants_conversation
from credira.conversation.simulated import converse
from credira.kit.batch import GroupCommit
from credira.kit.clock import Clock
from credira.kit.ids import new_token
from credira.models import SimulatedCall
from credira.transcript.format import Turn, render_transcript

DEBTOR_LINES = {
    "promise": "Yes, I know about it. I can pay the full amount in 7 days.",
    "dispute": "I don't owe this. I never received those goods, I dispute this invoice.",
    "callback": "I'm busy right now. Can you call me back tomorrow at 10?",
    "opt_out": "Stop calling me. Do not call this number again.",
    "acknowledge": "Yes, I received the invoice. Thanks for the reminder.",
}
AGENT_REPLIES = {
    "promise": "Thank you. I have noted your promise to pay in 7 days. Goodbye.",
    "dispute": "I understand. I have recorded your dispute and we will look into it. Goodbye.",
    "callback": "Of course. We will call you back tomorrow at 10. Goodbye.",
    "opt_out": "Understood. We will not call this number again. Goodbye.",
    "acknowledge": "Thank you for confirming. Have a good day. Goodbye.",
}
SCENARIOS = {
    "01": "no_answer",
    "02": "busy",
    "03": "voicemail",
    "04": "failure",
    "05": "promise",
    "06": "dispute",
    "07": "callback",
    "08": "opt_out",
    "09": "long",
}
# The scenarios in which nobody answers (or a machine does): no conversation.
UNANSWERED = frozenset({"no_answer", "busy", "failure", "voicemail"})
# The caller id of simulated calls from agents that have no number of their own (a reserved
# fictional-use number, like the ones telephony providers give test accounts).
DEFAULT_CALLER_ID = "+15005550006"
LONG_CALL_SECONDS = 30.0  # scenario 09 stays in progress this long in real time, unscaled


KNOWN_CALLS = 20_000  # calls a simulator remembers (most recent first); others are read


@dataclass(frozen=True)
class _Placed:
    """What the simulator's row says about a call: all its status depends on."""

    provider_call_id: str
    scenario: str
    script: str
    time_scale: float
    placed_time: datetime
    cancelled_time: datetime | None
    from_number: str | None
    # A conversation agent's call: the record of the scripted debtor's conversation.
    conversation: dict[str, Any] | None = None

    @classmethod
    def of(cls, row: SimulatedCall) -> _Placed:
        return cls(
            row.provider_call_id,
            row.scenario,
            row.script,
            row.time_scale,
            row.placed_time,
            row.cancelled_time,
            row.from_number,
            row.conversation,
        )


def scenario_for(number: str) -> str:
    return SCENARIOS.get(number[-2:], "acknowledge")


@dataclass(frozen=True)
class _Timeline:
    ringing: float
    answered: float | None
    final: float
    final_status: CallStatus
    duration: int


def _timeline(scenario: str, scale: float) -> _Timeline:
    if scenario == "no_answer":
        return _Timeline(0.2 * scale, None, 1.2 * scale, "no_answer", 0)
    if scenario == "busy":
        return _Timeline(0.1 * scale, None, 0.3 * scale, "busy", 0)
    if scenario == "failure":
        return _Timeline(0.1 * scale, None, 0.3 * scale, "failed", 0)
    if scenario == "voicemail":
        return _Timeline(0.2 * scale, 0.6 * scale, 1.4 * scale, "voicemail", 24)
    if scenario == "long":
        answered = 0.6 * scale
        return _Timeline(0.2 * scale, answered, answered + LONG_CALL_SECONDS, "completed", 1260)
    return _Timeline(0.2 * scale, 0.6 * scale, 1.6 * scale, "completed", 95)


def _transcript(
    scenario: str, script: str, conversation: dict[str, Any] | None = None
) -> str | None:
    if scenario in ("no_answer", "busy", "failure"):
        return None
    if conversation is not None and scenario != "voicemail":
        return (
            render_transcript(
                [
                    Turn(line["speaker"], line["text"])
                    for line in conversation.get("lines") or []
                    if line.get("type") == "turn"
                ]
            ).removesuffix("\n")
            or None
        )
    if scenario == "voicemail":
        turns = [Turn("agent", f"{script} Please call us back at your earliest convenience.")]
    elif scenario == "long":
        turns = [
            Turn("agent", script),
            Turn("debtor", "Yes, I received the invoice, but I have a few questions about it."),
            Turn("agent", "Of course, go ahead."),
            Turn("debtor", "Which delivery does it cover, and can I see the line items?"),
            Turn("agent", "It covers last month's delivery; the line items are in the email."),
            Turn("debtor", "All right, that makes sense. Thanks for the reminder."),
            Turn("agent", "Thank you for your time. Goodbye."),
        ]
    else:
        turns = [
            Turn("agent", script),
            Turn("debtor", DEBTOR_LINES[scenario]),
            Turn("agent", AGENT_REPLIES[scenario]),
        ]
    # Kept without the last line end, as calls store transcripts (the endpoint serving the
    # text adds it).
    return render_transcript(turns).removesuffix("\n")


class VoiceSimulator:
    name = "simulator"
    dedupes = True

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        time_scale: float = 1.0,
        recordings: bool = True,
    ) -> None:
        self._recordings = recordings
        self._sessionmaker = sessionmaker
        self._read_sessionmaker = read_sessionmaker or sessionmaker
        self._clock = clock
        self._scale = time_scale
        # Calls this process placed or read, by provider call id; ``True`` beside a call whose
        # row was read after it ended (its status can no longer change).
        self._known: OrderedDict[str, tuple[_Placed, bool]] = OrderedDict()
        # Calls placed, and rows read, by concurrent followers share transactions.
        self._placing = GroupCommit(self._place, key=lambda item: item[0].idempotency_key)
        self._reading = GroupCommit(self._read)

    def _remember(self, call: _Placed, settled: bool) -> None:
        self._known[call.provider_call_id] = (call, settled)
        self._known.move_to_end(call.provider_call_id)
        while len(self._known) > KNOWN_CALLS:
            self._known.popitem(last=False)

    async def start_call(self, request: CallRequest) -> str:
        scenario = scenario_for(request.to_number)
        conversation = None
        if wants_conversation(request) and scenario not in UNANSWERED:
            # Our own agent's call: its scripted debtor talks to it now, and the call's
            # timeline plays out the result. The conversation is the call: 09's debtor says
            # goodbye, with no half minute in progress after it (the script agents' long call).
            conversation = await converse(request, self._clock)
            if scenario == "long":
                scenario = "acknowledge"
        placed = _Placed(
            "sim_" + new_token(),
            scenario,
            request.script,
            self._scale,
            self._clock.now(),
            None,
            request.from_number or DEFAULT_CALLER_ID,
            conversation,
        )
        call_id, written = await self._placing.submit((request, placed))
        if written:
            self._remember(placed, settled=False)
        return call_id

    async def _place(self, batch: list[tuple[CallRequest, _Placed]]) -> list[tuple[str, bool]]:
        """Write the rows of calls placed at the same moment, in one transaction, each once
        per idempotency key: each call's id, and whether this request wrote it."""
        rows = [
            {
                "idempotency_key": request.idempotency_key,
                "provider_call_id": placed.provider_call_id,
                "to_number": request.to_number,
                "from_number": placed.from_number,
                "scenario": placed.scenario,
                "script": placed.script,
                "time_scale": placed.time_scale,
                "placed_time": placed.placed_time,
                "conversation": placed.conversation,
            }
            for request, placed in batch
        ]
        async with self._sessionmaker() as session:
            written = await repository.insert_new(session, rows)
            keys = [request.idempotency_key for request, _ in batch]
            others = [key for key in keys if key not in written]
            existing: dict[str, str] = {}
            if others:
                existing = await repository.ids_by_key(session, others)
            await session.commit()
        placed_ids: list[tuple[str, bool]] = []
        for key in keys:
            if key in written:
                placed_ids.append((written[key], True))
            elif key in existing:
                placed_ids.append((existing[key], False))
            else:  # pragma: no cover - the row was just written or already there
                raise VoiceProviderError("simulator lost a call record")
        return placed_ids

    async def get_call(self, provider_call_id: str) -> ProviderCall:
        now = self._clock.now()
        known = self._known.get(provider_call_id)
        if known is not None:
            call, settled = known
            status = self._status(call, now)
            if settled or not status.final:
                return status
        found = await self._reading.submit(provider_call_id)
        if found is None:
            raise VoiceProviderError(f"unknown call {provider_call_id}", retryable=False)
        status = self._status(found, now)
        if status.final:
            # Its follower has what it needs: forget it, so that memory stays flat however
            # many calls go by (a later read takes the row again).
            self._known.pop(provider_call_id, None)
        else:
            self._remember(found, settled=False)
        return status

    async def _read(self, provider_call_ids: list[str]) -> list[_Placed | None]:
        """The rows of calls asked about at the same moment, in one query."""
        async with self._read_sessionmaker() as session:
            rows = await repository.by_provider_ids(session, provider_call_ids)
            found = {row.provider_call_id: _Placed.of(row) for row in rows}
        return [found.get(call_id) for call_id in provider_call_ids]

    async def cancel_call(self, provider_call_id: str) -> None:
        now = self._clock.now()
        async with self._sessionmaker() as session:
            await repository.mark_cancelled(session, provider_call_id, now)
            await session.commit()
        known = self._known.get(provider_call_id)
        if known is not None and not known[1] and known[0].cancelled_time is None:
            self._remember(replace(known[0], cancelled_time=now), settled=False)

    def recording_on_request(self, result: ProviderCall) -> str | None:
        """A WAV for calls that were answered or reached voicemail, spoken when fetched: the
        transcript follows from the call's row, so any process can speak it at any later time."""
        return "wav" if self._speakable(result) else None

    async def fetch_recording(self, provider_call_id: str) -> Recording | None:
        """The call spoken aloud (espeak-ng), for calls that were answered or reached voicemail."""
        if not self._recordings or not speech.available():
            return None
        # A call this process never placed, or has forgotten, is read from its row.
        call = await self.get_call(provider_call_id)
        if not self._speakable(call) or call.transcript is None:
            return None
        audio = await speech.speak_transcript(call.transcript)
        return Recording(audio, "wav") if audio else None

    def _speakable(self, call: ProviderCall) -> bool:
        return bool(self._recordings and call.final and call.transcript and speech.available())

    async def placed_count(self) -> int:
        """How many distinct calls the simulator has placed (for tests and benchmarks)."""
        async with self._read_sessionmaker() as session:
            return await repository.count(session)

    @staticmethod
    def _status(row: _Placed, now: datetime) -> ProviderCall:
        timeline = _timeline(row.scenario, row.time_scale)
        placed = row.placed_time
        elapsed = (now - placed).total_seconds()

        def at(seconds: float) -> datetime:
            return placed + timedelta(seconds=seconds)

        cancelled = row.cancelled_time
        if cancelled is not None and (cancelled - placed).total_seconds() < timeline.final:
            return ProviderCall(
                row.provider_call_id,
                "cancelled",
                ended_time=cancelled,
                duration=0,
                from_number=row.from_number,
            )
        if elapsed < timeline.ringing:
            return ProviderCall(row.provider_call_id, "initiated", changes_at=at(timeline.ringing))
        if timeline.answered is None or elapsed < timeline.answered:
            if elapsed < timeline.final:
                return ProviderCall(
                    row.provider_call_id,
                    "ringing",
                    changes_at=at(
                        timeline.final if timeline.answered is None else timeline.answered
                    ),
                )
        elif elapsed < timeline.final:
            return ProviderCall(
                row.provider_call_id,
                "in_progress",
                answered_time=at(timeline.answered),
                changes_at=at(timeline.final),
            )
        answered = at(timeline.answered) if timeline.answered is not None else None
        minutes = math.ceil(timeline.duration / 60)
        return ProviderCall(
            row.provider_call_id,
            timeline.final_status,
            answered_time=answered,
            ended_time=at(timeline.final),
            duration=timeline.duration,
            transcript=_transcript(row.scenario, row.script, row.conversation),
            conversation=row.conversation if timeline.final_status == "completed" else None,
            from_number=row.from_number,
            cost=f"{0.05 * minutes:.2f}",
            currency="USD",
            error="carrier rejected the call (simulated provider failure)"
            if row.scenario == "failure"
            else None,
        )
