"""The one transcript format: what every voice provider's transcript is read as, and what the
simulator writes.

A transcript is a list of turns, each spoken by the agent or the debtor. Written, it is one
line per turn, ``Agent: ...`` / ``Debtor: ...``, a line break inside a turn being an indented
continuation line. Reading is lenient where providers differ: the labels they use
(``Assistant:``, ``User:``, ``Customer:`` ...) in any case, CRLF line ends, blank lines between
turns and unindented continuation lines.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Speaker = Literal["agent", "debtor"]


@dataclass(frozen=True)
class Turn:
    speaker: Speaker
    text: str


LABELS: dict[Speaker, str] = {"agent": "Agent", "debtor": "Debtor"}
# The labels read, each naming one of the two speakers.
_ALIASES: dict[str, Speaker] = {
    "agent": "agent",
    "assistant": "agent",
    "bot": "agent",
    "ai": "agent",
    "debtor": "debtor",
    "customer": "debtor",
    "user": "debtor",
    "caller": "debtor",
    "callee": "debtor",
    "human": "debtor",
}
_LABEL_LINE = re.compile(r"^(" + "|".join(_ALIASES) + r")\s*:", re.IGNORECASE)
_INDENT = "  "


def render_transcript(turns: Sequence[Turn]) -> str:
    """One line per turn, ``Agent: ...`` / ``Debtor: ...``; a line break inside a turn is
    written as an indented continuation line, so that `parse_transcript` gives the turns back."""
    lines: list[str] = []
    for turn in turns:
        first, *rest = turn.text.split("\n")
        lines.append(f"{LABELS[turn.speaker]}: {first}")
        lines.extend(_INDENT + line for line in rest)
    return "".join(line + "\n" for line in lines)


def parse_transcript(text: str) -> list[Turn]:
    """Inverse of `render_transcript` (CRLF line ends are read as LF). Also reads the labels
    providers use (``Assistant:``, ``User:``, ``Customer:`` ...) and unindented continuation
    lines; blank lines between turns are skipped."""
    turns: list[tuple[Speaker, list[str]]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        label = _LABEL_LINE.match(line)
        if label:
            body = line[label.end() :]
            turns.append((_ALIASES[label.group(1).lower()], [body.removeprefix(" ")]))
        elif line.startswith(_INDENT) and turns:
            turns[-1][1].append(line.removeprefix(_INDENT))
        elif not line.strip():
            continue
        elif turns:
            turns[-1][1].append(line)
        else:
            raise ValueError(f"transcript line {number}: expected 'Agent:' or 'Debtor:'")
    return [Turn(speaker, "\n".join(lines)) for speaker, lines in turns]


def debtor_took_part(text: str) -> bool:
    """Whether the transcript has a turn of the debtor's, under any label `parse_transcript`
    reads: what makes a completed call a conversation. Text it cannot read has none (and so
    is never classified)."""
    try:
        turns = parse_transcript(text)
    except ValueError:
        return False
    return any(turn.speaker == "debtor" for turn in turns)
