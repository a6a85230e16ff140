"""A model for the fake OpenAI-compatible server that answers as a well-behaved LLM would:
it reads the conversation's messages and writes its words and tool calls with the
deterministic policy's judgement (its own copy of the call's guard tells it which calls the
server will accept), so the same evaluation suite runs through the LLM code path: streamed
text, tool calls split in fragments, tool results sent back, and a second request after a
refused tool."""

from __future__ import annotations

import re
from typing import Any

from tests.conversation.harness import context
from tests.llm.fake_openai import Call, Reply, call, text, tool_calls

from credira.conversation.context import CallContext
from credira.conversation.guard import Guard, ToolResult
from credira.conversation.scripted import ScriptedPolicy
from credira.kit.clock import Clock

_INVOICE = re.compile(r"Invoice INV-(\d+)")


class ScriptedModel:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: dict[str, tuple[ScriptedPolicy, Guard]] = {}
        self.contexts: dict[str, CallContext] = {}

    def context_for(self, system: str) -> CallContext:
        """The call's context, as the harness built it (named by the invoice's number)."""
        found = _INVOICE.search(system)
        n = int(found.group(1)) - 7000 if found else 0
        from tests.conversation.cases import CASES

        case = CASES[n]
        return context(n, lang=case.lang, **case.overrides)

    def answer(self, body: dict[str, Any]) -> Reply:
        messages = body["messages"]
        system = messages[0]["content"]
        assert body.get("tools"), "the agent's tools are offered"
        if system not in self.calls or len(messages) <= 3:
            # A new call (its system message, the opening line, the debtor's first words).
            ctx = self.context_for(system)
            self.calls[system] = (ScriptedPolicy(self.clock), Guard(ctx))
        policy, guard = self.calls[system]
        last = messages[-1]
        if last["role"] != "user":
            # The tool results of a turn whose words were already written.
            return text("")
        said = str(last["content"])
        guard.last_debtor = said
        made: list[Call] = []

        def act(name: str, arguments: dict[str, Any]) -> ToolResult:
            made.append(call(name, arguments))
            return guard.call(name, arguments, self.clock.now())

        words = policy.decide("" if said == "(silence)" else said, guard, act)
        if made:
            return tool_calls(*made, say=_pieces(words))
        return text(*_pieces(words))


def _pieces(words: str) -> tuple[str, ...]:
    """The words as a model streams them: a few characters at a time."""
    return tuple(words[i : i + 12] for i in range(0, len(words), 12))
