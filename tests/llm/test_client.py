"""The LLM client against a local OpenAI-compatible server: streamed text and tool calls,
structured answers, what each request carries, and every way an answer fails."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from credira.llm import (
    Finished,
    LLMBadAnswer,
    LLMClient,
    LLMDeclined,
    LLMRateLimited,
    LLMRequestRejected,
    LLMServerError,
    LLMSettings,
    LLMTimeout,
    LLMTruncated,
    LLMUnavailable,
    StreamPart,
    TextDelta,
    ToolCall,
    Usage,
)
from tests.llm.fake_openai import (
    FakeOpenAI,
    call,
    cut,
    hang,
    malformed,
    rate_limited,
    refusal,
    rejected,
    server_error,
    slow,
    structured,
    text,
    tool_calls,
    truncated,
)
from tests.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "sk-test-0123456789abcdefSECRET"
HELLO = [{"role": "user", "content": "Hello"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "record_promise",
            "description": "Record a promise to pay.",
            "parameters": {
                "type": "object",
                "properties": {"date": {"type": "string"}, "amount": {"type": "number"}},
                "required": ["date", "amount"],
                "additionalProperties": False,
            },
        },
    }
]
SCHEMA = {
    "type": "object",
    "properties": {"outcome": {"type": "string", "enum": ["paid", "unpaid"]}},
    "required": ["outcome"],
    "additionalProperties": False,
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def fake(server: FakeOpenAI) -> AsyncIterator[FakeOpenAI]:
    server.requests.clear()
    server.responder = None
    yield server
    assert server.unused == 0, "a scripted reply was not asked for"


def settings_for(fake: FakeOpenAI, **limits: Any) -> LLMSettings:
    return LLMSettings(url=fake.url + "/", model="fake-model", api_key=KEY, **limits)


@pytest_asyncio.fixture(loop_scope="module")
async def client(fake: FakeOpenAI) -> AsyncIterator[LLMClient]:
    async with LLMClient(settings_for(fake, max_retries=1, retry_after_cap=0.5)) as made:
        yield made


async def collect(client: LLMClient, **kwargs: Any) -> list[StreamPart]:
    return [part async for part in client.stream(HELLO, **kwargs)]


async def drain(client: LLMClient, got: list[StreamPart]) -> None:
    async for part in client.stream(HELLO):
        got.append(part)


# -- what comes back --------------------------------------------------------------------------


async def test_stream_yields_text_as_it_comes_then_finished(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    fake.script(text("Hel", "lo, ", "this is Ava."))
    parts = await collect(client)
    assert parts == [
        TextDelta("Hel"),
        TextDelta("lo, "),
        TextDelta("this is Ava."),
        Finished("stop", Usage(12, 5)),
    ]
    (sent,) = fake.requests
    assert sent.body == {"model": "fake-model", "messages": HELLO, "stream": True}
    assert sent.authorization == f"Bearer {KEY}"


async def test_streamed_answers_read_to_their_end_keep_one_connection(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    # The stream is read past [DONE] to the body's end, so the connection goes back to the
    # pool: a conversation's turns do not each open a new TCP connection.
    fake.script(text("One."), tool_calls(call("end_call", {})), text("Three."))
    for _ in range(3):
        parts = await collect(client)
        assert isinstance(parts[-1], Finished)
    peers = {r.peer for r in fake.requests}
    assert len(fake.requests) == 3
    assert len(peers) == 1, peers


async def test_stream_assembles_tool_calls_split_across_chunks(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    promise = {"date": "2026-12-24", "amount": 120.5, "note": 'pay \u00e9 "quoted" {x}'}
    fake.script(
        tool_calls(
            call("record_promise", promise, id="call_abc"),
            call("end_call", ""),
            say=("One moment.",),
            split=7,
        )
    )
    parts = await collect(client, tools=TOOLS, temperature=0.2, max_tokens=200)
    assert parts == [
        TextDelta("One moment."),
        ToolCall("call_abc", "record_promise", promise),
        ToolCall("call_1_end_call", "end_call", {}),
        Finished("tool_calls", Usage(12, 5)),
    ]
    body = fake.requests[0].body
    assert body["tools"] == TOOLS
    assert (body["temperature"], body["max_tokens"]) == (0.2, 200)


async def test_structured_asks_for_a_strict_json_schema_and_parses_the_object(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    fake.script(structured({"outcome": "paid"}))
    assert await client.structured(HELLO, "call_outcome", SCHEMA) == {"outcome": "paid"}
    body = fake.requests[0].body
    assert body["stream"] is False
    assert body["temperature"] == 0.0
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "call_outcome", "strict": True, "schema": SCHEMA},
    }


# -- retries ----------------------------------------------------------------------------------


async def test_429_is_retried_after_its_retry_after(client: LLMClient, fake: FakeOpenAI) -> None:
    fake.script(rate_limited("0.3"), text("ok"))
    started = time.monotonic()
    assert (await collect(client))[0] == TextDelta("ok")
    assert time.monotonic() - started >= 0.3
    assert len(fake.requests) == 2


async def test_429_in_milliseconds_is_honoured(client: LLMClient, fake: FakeOpenAI) -> None:
    fake.script(rate_limited("200", header="retry-after-ms"), structured({"outcome": "paid"}))
    started = time.monotonic()
    assert await client.structured(HELLO, "x", SCHEMA) == {"outcome": "paid"}
    assert time.monotonic() - started >= 0.2


async def test_429_asking_to_wait_past_the_cap_fails_at_once(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    fake.script(rate_limited("30"))
    with pytest.raises(LLMRateLimited) as raised:
        await collect(client)
    assert raised.value.retry_after == 30
    assert len(fake.requests) == 1


async def test_server_errors_are_retried_a_bounded_number_of_times(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    fake.script(server_error(500), server_error(503))
    with pytest.raises(LLMServerError) as raised:
        await client.structured(HELLO, "x", SCHEMA)
    assert raised.value.status_code == 503
    assert len(fake.requests) == 2  # max_retries=1


async def test_a_server_error_then_an_answer_succeeds(client: LLMClient, fake: FakeOpenAI) -> None:
    fake.script(server_error(502), text("fine"))
    assert (await collect(client))[0] == TextDelta("fine")


async def test_a_rejected_request_is_not_retried_and_never_quotes_the_key(
    fake: FakeOpenAI,
) -> None:
    wrong = "sk-wrong-key-that-must-not-leak"
    llm = LLMSettings(url=fake.url, model="fake-model", api_key=wrong)
    assert wrong not in repr(llm)
    async with LLMClient(llm) as client:
        assert wrong not in repr(client)
        with pytest.raises(LLMRequestRejected) as raised:
            await collect(client)
    assert raised.value.status_code == 401
    assert wrong not in str(raised.value)
    assert "Incorrect API key provided: ***" in str(raised.value)  # the fake quoted it
    assert len(fake.requests) == 1


async def test_a_4xx_is_rejected(client: LLMClient, fake: FakeOpenAI) -> None:
    fake.script(rejected(404, "The model `fake-model` does not exist"))
    with pytest.raises(LLMRequestRejected, match="does not exist"):
        await client.structured(HELLO, "x", SCHEMA)
    assert len(fake.requests) == 1


async def test_an_unreachable_server_is_unavailable() -> None:
    llm = LLMSettings(url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=1)
    async with LLMClient(llm) as client:
        with pytest.raises(LLMUnavailable):
            await collect(client)


# -- limits -----------------------------------------------------------------------------------


async def test_a_hanging_server_times_out_waiting_for_the_first_token(fake: FakeOpenAI) -> None:
    fake.script(hang())
    async with LLMClient(settings_for(fake, first_token_timeout=0.3)) as client:
        started = time.monotonic()
        with pytest.raises(LLMTimeout) as raised:
            await collect(client)
    assert raised.value.phase == "first_token"
    assert 0.3 <= time.monotonic() - started < 2
    assert len(fake.requests) == 1  # a slow server is not asked again


async def test_the_total_limit_bounds_a_structured_answer(fake: FakeOpenAI) -> None:
    fake.script(slow(1.0, structured({"outcome": "paid"})))
    llm = settings_for(fake, first_token_timeout=5, total_timeout=0.3)
    async with LLMClient(llm) as client:
        with pytest.raises(LLMTimeout) as raised:
            await client.structured(HELLO, "x", SCHEMA)
    assert raised.value.phase == "total"


async def test_a_stream_that_stalls_between_chunks_times_out(fake: FakeOpenAI) -> None:
    fake.script(text("Hello", " there", chunk_delay=0.6))
    got: list[StreamPart] = []
    async with LLMClient(settings_for(fake, first_token_timeout=0.3)) as client:
        with pytest.raises(LLMTimeout) as raised:
            await drain(client, got)
    assert raised.value.phase == "idle"


async def test_a_slow_but_steady_stream_is_bounded_by_the_total_limit(fake: FakeOpenAI) -> None:
    fake.script(text(*["word "] * 20, chunk_delay=0.05))
    llm = settings_for(fake, first_token_timeout=1, total_timeout=0.4)
    async with LLMClient(llm) as client:
        got: list[StreamPart] = []
        with pytest.raises(LLMTimeout) as raised:
            await drain(client, got)
    assert raised.value.phase == "total"
    assert 0 < len(got) < 20


# -- broken answers ---------------------------------------------------------------------------


async def test_malformed_json_is_a_bad_answer(client: LLMClient, fake: FakeOpenAI) -> None:
    fake.script(malformed(), malformed())
    with pytest.raises(LLMBadAnswer, match="not JSON"):
        await client.structured(HELLO, "x", SCHEMA)
    with pytest.raises(LLMBadAnswer, match="not JSON"):
        await collect(client)
    assert len(fake.requests) == 2  # never asked again


@pytest.mark.parametrize("abort", [False, True], ids=["ended", "dropped"])
async def test_a_stream_cut_midway_is_truncated(
    client: LLMClient, fake: FakeOpenAI, abort: bool
) -> None:
    fake.script(cut(text("Your balance", " is"), after=2, abort=abort))
    got: list[StreamPart] = []
    with pytest.raises(LLMTruncated):
        await drain(client, got)
    assert got == [TextDelta("Your balance")]


async def test_a_tool_call_cut_in_its_arguments_is_truncated(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    reply = tool_calls(call("record_promise", {"date": "2026-12-24", "amount": 10}), split=4)
    reply.pieces = reply.pieces[:3]  # the arguments stop half-way
    reply.finish_reason = "length"
    fake.script(reply)
    with pytest.raises(LLMTruncated, match="record_promise"):
        await collect(client, tools=TOOLS)


async def test_tool_call_arguments_that_are_not_an_object_are_a_bad_answer(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    fake.script(tool_calls(call("record_promise", "[1, 2]")))
    with pytest.raises(LLMBadAnswer, match="not a JSON object"):
        await collect(client, tools=TOOLS)


async def test_a_structured_answer_cut_by_length_is_truncated(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    fake.script(truncated('{"outcome": "pa'))
    with pytest.raises(LLMTruncated):
        await client.structured(HELLO, "x", SCHEMA)


@pytest.mark.parametrize("content", ["[1, 2]", "not json at all", ""])
async def test_a_structured_answer_that_is_not_an_object_is_a_bad_answer(
    client: LLMClient, fake: FakeOpenAI, content: str
) -> None:
    fake.script(structured(content))
    with pytest.raises(LLMBadAnswer):
        await client.structured(HELLO, "x", SCHEMA)


async def test_a_refusal_is_declined(client: LLMClient, fake: FakeOpenAI) -> None:
    fake.script(refusal())
    with pytest.raises(LLMDeclined):
        await client.structured(HELLO, "x", SCHEMA)


async def test_an_error_inside_a_stream_is_a_server_error(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    fake.script(malformed('{"error": {"message": "model overloaded"}}'))
    with pytest.raises(LLMServerError, match="model overloaded"):
        await collect(client)


async def test_the_fake_refuses_a_schema_strict_mode_would_refuse(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}
    with pytest.raises(LLMRequestRejected, match="additionalProperties"):
        await client.structured(HELLO, "x", loose)
    with pytest.raises(LLMRequestRejected, match="name must match"):
        await client.structured(HELLO, "bad name!", SCHEMA)


async def test_chat_is_the_stream_under_the_name_src_calls(
    client: LLMClient, fake: FakeOpenAI
) -> None:
    fake.script(text("hi"))
    assert [part async for part in client.chat(HELLO)] == [
        TextDelta("hi"),
        Finished("stop", Usage(12, 5)),
    ]


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"])
async def test_an_unreadable_or_past_retry_after_is_retried_at_once_or_by_backoff(
    client: LLMClient, fake: FakeOpenAI, value: str
) -> None:
    fake.script(rate_limited(value), text("ok"))
    started = time.monotonic()
    assert (await collect(client))[0] == TextDelta("ok")
    assert time.monotonic() - started < 1.0
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    "chunk",
    [
        '{"choices": [{"index": 0, "delta": {"tool_calls": 5}, "finish_reason": null}]}',
        '{"choices": [{"index": 0, "delta": {"tool_calls": [7]}, "finish_reason": null}]}',
        '{"choices": [{"index": 0, "delta": "text", "finish_reason": null}]}',
        '{"choices": ["text"]}',
        "[1, 2]",
    ],
)
async def test_a_chunk_out_of_the_protocol_is_a_bad_answer(
    client: LLMClient, fake: FakeOpenAI, chunk: str
) -> None:
    fake.script(malformed(chunk))
    with pytest.raises(LLMBadAnswer):
        await collect(client)
