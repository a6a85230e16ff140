"""What a conversation leaves behind: its turns with their times, the tool calls between them
(accepted or refused, and why), and the outcome those tool calls make. Kept as JSON on the
provider's row of the call and read by the worker that concludes it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from credira.transcript.analysis import Analysis
from credira.transcript.format import Turn, render_transcript

Speaker = Literal["agent", "debtor"]
# The outcomes the worker knows (``credira.transcript.Outcome``).
RecordedOutcome = Literal[
    "acknowledged", "promise_to_pay", "dispute", "callback_requested", "opt_out", "wrong_party"
]


@dataclass
class Line:
    speaker: Speaker
    text: str
    at: datetime
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "turn",
            "speaker": self.speaker,
            "text": self.text,
            "at": self.at.isoformat(),
        }
        if self.interrupted:
            data["interrupted"] = True
        return data


@dataclass
class ToolUse:
    name: str
    arguments: dict[str, Any]
    at: datetime
    accepted: bool
    result: str  # what the policy is told: done, or why not

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "tool",
            "name": self.name,
            "arguments": self.arguments,
            "at": self.at.isoformat(),
            "accepted": self.accepted,
            "result": self.result,
        }


@dataclass
class Record:
    lines: list[Line | ToolUse] = field(default_factory=list)
    outcome: RecordedOutcome | None = None
    promised_date: date | None = None
    promised_amount: str | None = None
    instalments: list[dict[str, str]] | None = None
    dispute_reason: str | None = None
    callback_time: datetime | None = None
    payment_link_sent: bool = False
    verified: bool = False
    ended_by: str | None = None  # debtor, agent, max_duration, silence, llm_failure, hangup

    def said(self, speaker: Speaker, text: str, at: datetime, interrupted: bool = False) -> None:
        if text.strip():
            self.lines.append(Line(speaker, text.strip(), at, interrupted))

    def tools(self, accepted: bool | None = None) -> list[ToolUse]:
        return [
            u
            for u in self.lines
            if isinstance(u, ToolUse) and (accepted is None or u.accepted == accepted)
        ]

    def transcript(self) -> str:
        turns = [Turn(u.speaker, u.text) for u in self.lines if isinstance(u, Line)]
        return render_transcript(turns).removesuffix("\n")

    def debtor_spoke(self) -> bool:
        return any(isinstance(u, Line) and u.speaker == "debtor" for u in self.lines)

    def final_outcome(self) -> RecordedOutcome | None:
        """What the call's tools recorded; a verified debtor who spoke and agreed to nothing
        acknowledged the call. None: nothing recorded (the rules read the transcript)."""
        if self.outcome is not None:
            return self.outcome
        return "acknowledged" if self.verified and self.debtor_spoke() else None

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": [u.to_json() for u in self.lines],
            "outcome": self.final_outcome(),
            "promised_date": self.promised_date.isoformat() if self.promised_date else None,
            "promised_amount": self.promised_amount,
            "instalments": self.instalments,
            "dispute_reason": self.dispute_reason,
            "callback_time": self.callback_time.isoformat() if self.callback_time else None,
            "payment_link_sent": self.payment_link_sent,
            "verified": self.verified,
            "ended_by": self.ended_by,
        }


@dataclass(frozen=True)
class Recorded:
    """A concluded conversation's result as the worker reads it (from ``Record.to_json``)."""

    outcome: RecordedOutcome | None
    promised_date: date | None
    callback_time: datetime | None
    dispute_reason: str | None
    tools: tuple[str, ...]  # the accepted tool calls, in order
    data: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recorded:
        promised = data.get("promised_date")
        callback = data.get("callback_time")
        return cls(
            outcome=data.get("outcome"),
            promised_date=date.fromisoformat(promised) if promised else None,
            callback_time=datetime.fromisoformat(callback) if callback else None,
            dispute_reason=data.get("dispute_reason"),
            tools=tuple(
                str(u["name"])
                for u in data.get("lines") or []
                if u.get("type") == "tool" and u.get("accepted")
            ),
            data=data,
        )


def recorded_analysis(analysis: Analysis, data: dict[str, Any]) -> Analysis:
    """The transcript's reading of a conversation with what the agent recorded through its
    tools in place of what the rules inferred: outcome, promised day, callback time. The
    sentiment and keywords stay the transcript's."""
    recorded = Recorded.from_json(data)
    if recorded.outcome is None:
        return analysis
    summary = _SUMMARIES[recorded.outcome]
    if recorded.outcome == "promise_to_pay" and recorded.promised_date is not None:
        amount = data.get("promised_amount")
        plan = data.get("instalments")
        summary = (
            f"Agreed a plan of {len(plan)} payments from {recorded.promised_date.isoformat()}."
            if plan
            else f"Promised to pay {amount} on {recorded.promised_date.isoformat()}."
        )
    elif recorded.outcome == "dispute" and recorded.dispute_reason:
        summary = f"Disputed: {recorded.dispute_reason}"
    elif recorded.outcome == "callback_requested" and recorded.callback_time is not None:
        summary = f"Asked to be called back at {recorded.callback_time.isoformat()}."
    return replace(
        analysis,
        outcome=recorded.outcome,
        confidence_score=1.0,
        promised_date=recorded.promised_date,
        callback_time=recorded.callback_time,
        summary=summary,
    )


_SUMMARIES: dict[RecordedOutcome, str] = {
    "acknowledged": "The debtor was reached and acknowledged the invoice.",
    "promise_to_pay": "The debtor promised to pay.",
    "dispute": "The debtor disputed the invoice.",
    "callback_requested": "The debtor asked to be called back.",
    "opt_out": "The person asked not to be called again.",
    "wrong_party": "The person who answered was not the debtor.",
}
