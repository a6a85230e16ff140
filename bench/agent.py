"""Our own voice agent's overhead per turn: from the debtor's final ``prompt`` frame to the
agent's first ``text`` frame, over ConversationRelay's WebSocket, with an OpenAI-compatible
model that answers at once (a local server streaming a one-chunk answer), so what is measured
is the agent's own path: the frame read, the guard, the LLM client's request and its stream,
the first token screened and sent. Also: the memory one open conversation holds.

The agent runs alone in a process of its own (uvicorn serving the relay socket, the same
`credira.conversation.relay.serve` a Twilio call reaches, the deterministic policy or the LLM
policy); the fake model in another; the debtors (many concurrent sockets) in this process.

    python -m bench.agent [--calls 100] [--turns 20] [--policy llm|scripted]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from twilio.request_validator import RequestValidator

from credira.conversation.agent import Limits, Policy
from credira.conversation.context import CallContext
from credira.conversation.llm_policy import LLMPolicy
from credira.conversation.relay import RelayCall, relay_url, serve, sign_token
from credira.conversation.scripted import ScriptedPolicy
from credira.kit.clock import SystemClock
from credira.llm import LLMClient, LLMSettings

SID = "AC" + "d" * 32
TOKEN = "bench-relay-auth-token-0123456789"  # noqa: S105 - a fake account's
PUBLIC = "http://credira.bench.example"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _context(call_id: str) -> CallContext:
    return CallContext(
        call_id=call_id,
        account_id="acc_bench",
        customer_name="Jane Doe",
        company_name="Acme Ltd",
        agent_name="Alex",
        invoice_number="INV-1",
        amount=Decimal("1250.00"),
        currency="USD",
        amount_text="1,250.00 USD",
        due_date=date(2026, 11, 1),
        language="en-US",
        zone="America/New_York",
        instructions="Remind the debtor of the invoice.",
        max_duration=3600,
    )


class _Store:
    async def opened(self, call_id: str) -> RelayCall | None:
        return RelayCall(call_id, _context(call_id), TOKEN, SID, None)

    async def finished(self, call_id: str, record: dict[str, Any]) -> None:
        return None


def _agent(port: int, llm_url: str | None) -> None:
    """The agent's process: the relay socket on ``port``."""
    clock = SystemClock()
    store = _Store()
    limits = Limits(silence_seconds=600, reply_timeout=10)

    async def main() -> None:
        client = LLMClient(LLMSettings(url=llm_url, model="bench")) if llm_url else None

        def policy_for(context: CallContext) -> Policy:
            return LLMPolicy(client, context, clock) if client else ScriptedPolicy(clock)

        async def relay(websocket: WebSocket) -> None:
            await serve(
                websocket,
                websocket.path_params["token"],
                store,
                public_url=PUBLIC,
                clock=clock,
                policy_for=policy_for,
                limits=limits,
            )

        app = Starlette(routes=[WebSocketRoute("/hooks/twilio/relay/{token}", relay)])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        await uvicorn.Server(config).serve()

    import logging

    logging.disable(logging.INFO)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())


def _model_app() -> Starlette:
    """An OpenAI-compatible server whose every answer is one streamed chunk, at once."""
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "model": "bench",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "Could you tell me more?"}}
        ],
    }
    done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode()

    async def completions(request: Request) -> Response:
        await request.body()

        async def stream() -> Any:
            yield body

        return StreamingResponse(stream(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def _model(port: int) -> None:
    """The fake model's process."""
    config = uvicorn.Config(_model_app(), host="127.0.0.1", port=port, log_level="warning")
    asyncio.run(uvicorn.Server(config).serve())


async def _listening(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            await asyncio.sleep(0.05)


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def _debtor(
    port: int,
    n: int,
    turns: int,
    samples: list[float],
    opened: asyncio.Event,
    go: asyncio.Event,
    pause: float = 0.0,
) -> None:
    call_id = f"call_bench{n:05d}"
    token = sign_token(call_id, TOKEN, datetime.now(UTC))
    signature = RequestValidator(TOKEN).compute_signature(relay_url(PUBLIC, token), {})
    local = f"ws://127.0.0.1:{port}/hooks/twilio/relay/{token}"
    async with websockets.connect(
        local, additional_headers={"X-Twilio-Signature": signature}, max_queue=None
    ) as ws:
        await ws.send(json.dumps({"type": "setup", "callSid": f"CA{n}", "accountSid": SID}))
        while not json.loads(await ws.recv()).get("last"):  # the opening line
            pass
        opened.set()
        await go.wait()
        pauses = random.Random(n)  # noqa: S311 - pacing, not secrets
        for turn in range(turns):
            # The debtor listens to the agent's line and speaks: calls' turns spread in time,
            # as on real calls, instead of every call's turn at the same instant.
            await asyncio.sleep(pauses.uniform(0.5, 1.5) * pause)
            said = "Yes, speaking." if turn == 0 else "I'm not sure yet."
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "prompt", "voicePrompt": said, "last": True}))
            first = json.loads(await ws.recv())
            samples.append(time.perf_counter() - started)
            if first.get("type") == "end":
                return
            while not first.get("last"):
                first = json.loads(await ws.recv())
                if first.get("type") == "end":
                    return


async def run(calls: int, turns: int, policy: str, pause: float) -> dict[str, Any]:
    model_port, agent_port = _free_port(), _free_port()
    spawn = multiprocessing.get_context("spawn")
    # The model answers from a process of its own: in this one, its answers would wait behind
    # the debtors' frames on one event loop, and that wait would be timed as the agent's.
    model = spawn.Process(target=_model, args=(model_port,), daemon=True)
    if policy == "llm":
        model.start()
    llm_url = f"http://127.0.0.1:{model_port}/v1" if policy == "llm" else None
    process = spawn.Process(target=_agent, args=(agent_port, llm_url), daemon=True)
    process.start()
    assert process.pid is not None
    try:
        if policy == "llm":
            await _listening(model_port)
        await _listening(agent_port)
        idle = _rss(process.pid)
        # A warm-up call (imports, first connections), not counted.
        await _debtor(agent_port, 0, 3, [], asyncio.Event(), _set(asyncio.Event()))
        before = _rss(process.pid)
        samples: list[float] = []
        go = asyncio.Event()
        opened = [asyncio.Event() for _ in range(calls)]
        debtors = [
            asyncio.create_task(_debtor(agent_port, n + 1, turns, samples, opened[n], go, pause))
            for n in range(calls)
        ]
        await asyncio.gather(*(event.wait() for event in opened))
        holding = _rss(process.pid)
        go.set()
        await asyncio.gather(*debtors)
    finally:
        process.terminate()
        process.join(5)
        if model.pid is not None:
            model.terminate()
            model.join(5)
    samples.sort()
    ms = [s * 1000 for s in samples]
    return {
        "policy": policy,
        "pause_s": pause,
        "calls": calls,
        "turns": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 2),
        "max_ms": round(ms[-1], 2),
        "agent_rss_idle_mib": round(idle / 2**20, 1),
        "memory_per_call_kib": round((holding - before) / calls / 1024, 1),
        "cpus": os.cpu_count(),
    }


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--policy", choices=("llm", "scripted"), default="llm")
    parser.add_argument(
        "--pause", type=float, default=1.0, help="mean seconds a debtor takes to answer"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.calls, args.turns, args.policy, args.pause))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
