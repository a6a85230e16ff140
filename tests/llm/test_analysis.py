"""Call analysis by an LLM against a local OpenAI-compatible server: the request it makes (the
strict schema, the transcript fenced off as data), and every failure ending in None (the
rules' analysis stays)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from credira.llm import LLMSettings
from credira.llm.analysis import (
    INSTRUCTIONS,
    SCHEMA,
    SCHEMA_NAME,
    CallAnalyst,
)
from credira.transcript import parse_transcript
from tests.llm.analysis_facts import CALL, TRANSCRIPT, answer
from tests.llm.fake_openai import (
    FakeOpenAI,
    hang,
    malformed,
    rate_limited,
    refusal,
    server_error,
    structured,
    truncated,
)
from tests.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key="sk-analysis-key") as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def fake(server: FakeOpenAI) -> AsyncIterator[FakeOpenAI]:
    server.requests.clear()
    yield server
    assert server.unused == 0


@pytest_asyncio.fixture(loop_scope="module")
async def analyst(fake: FakeOpenAI) -> AsyncIterator[CallAnalyst]:
    llm = LLMSettings(url=fake.url, model="llama3.2", api_key="sk-analysis-key", max_retries=1)
    made = CallAnalyst(llm, seconds=2.0)
    yield made
    await made.aclose()


async def test_the_request_asks_for_the_strict_schema_with_the_transcript_fenced_off(
    analyst: CallAnalyst, fake: FakeOpenAI
) -> None:
    fake.script(structured(answer()))
    inferred = await analyst.inferred(CALL)
    assert inferred is not None
    assert inferred.outcome == "promise_to_pay"
    (sent,) = fake.requests
    assert sent.authorization == "Bearer sk-analysis-key"
    assert sent.body["model"] == "llama3.2"
    assert sent.body["stream"] is False
    assert sent.body["temperature"] == 0.0
    assert sent.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SCHEMA},
    }
    system, user = sent.body["messages"]
    assert system == {"role": "system", "content": INSTRUCTIONS}
    facts = json.loads(user["content"].split("\n", 1)[0].removeprefix("Facts: "))
    assert facts["invoice"] == {
        "number": "INV-7",
        "amount": "250.00",
        "currency": "USD",
        "due_date": "2026-11-01",
    }
    assert facts["call_ended_local"] == "2026-12-08T10:30-05:00"
    assert facts["debtor_time_zone"] == "America/New_York"
    nonce = facts["nonce"]
    body = user["content"].split(f"BEGIN TRANSCRIPT {nonce}\n", 1)[1]
    turns = json.loads(body.split(f"\nEND TRANSCRIPT {nonce}", 1)[0])
    assert turns == [{"speaker": t.speaker, "text": t.text} for t in parse_transcript(TRANSCRIPT)]


async def test_an_answer_that_fails_the_schema_is_no_analysis(
    analyst: CallAnalyst, fake: FakeOpenAI
) -> None:
    fake.script(structured(answer(outcome="paid_in_full")))
    assert await analyst.inferred(CALL) is None
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: [server_error(500), server_error(502)], id="server-error"),
        pytest.param(lambda: [rate_limited("60")], id="rate-limited"),
        pytest.param(lambda: [malformed()], id="malformed"),
        pytest.param(lambda: [structured("{'outcome': 'dispute'}")], id="not-json"),
        pytest.param(lambda: [truncated('{"outcome": "promise_to_pay", "prom')], id="truncated"),
        pytest.param(lambda: [refusal()], id="refusal"),
    ],
)
async def test_a_failing_llm_gives_no_analysis(
    analyst: CallAnalyst, fake: FakeOpenAI, failure: Any
) -> None:
    fake.script(*failure())
    assert await analyst.inferred(CALL) is None


async def test_a_hanging_llm_gives_no_analysis_within_the_limit(
    analyst: CallAnalyst, fake: FakeOpenAI
) -> None:
    fake.script(hang())
    started = time.monotonic()
    assert await analyst.inferred(CALL) is None
    assert time.monotonic() - started < 2.5  # the analyst's 2 s


async def test_a_rate_limit_within_the_cap_is_waited_out(
    analyst: CallAnalyst, fake: FakeOpenAI
) -> None:
    fake.script(rate_limited("0.1"), structured(answer()))
    inferred = await analyst.inferred(CALL)
    assert inferred is not None
    assert inferred.promised_amount == Decimal(100)


async def test_an_unreachable_llm_gives_no_analysis() -> None:
    llm = LLMSettings(url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=0)
    made = CallAnalyst(llm, seconds=1.0)
    try:
        assert await made.inferred(CALL) is None
    finally:
        await made.aclose()


async def test_no_log_line_holds_the_key(
    analyst: CallAnalyst, fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    # A retried 429, then a refused key that the server quotes back: both are logged.
    fake.script(rate_limited("0.05"), structured(answer()))
    assert await analyst.inferred(CALL) is not None
    wrong = "sk-wrong-analysis-key-4242"
    made = CallAnalyst(LLMSettings(url=fake.url, model="llama3.2", api_key=wrong), seconds=2)
    try:
        assert await made.inferred(CALL) is None
    finally:
        await made.aclose()
    logged = capsys.readouterr()
    assert "llm.retry" in logged.out
    assert "call.analysis.llm_failed" in logged.out
    assert "Incorrect API key provided: ***" in logged.out
    assert wrong not in logged.out + logged.err
    assert "sk-analysis-key" not in logged.out + logged.err
