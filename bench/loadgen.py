"""The load generator: a small asyncio HTTP/1.1 client over raw sockets, run in its own process.

``python -m bench.loadgen SPEC.json`` prints one JSON result. SPEC holds ``host``, ``port``,
``concurrency`` (keep-alive connections), ``warmup`` and ``duration`` (seconds), ``headers``,
``requests`` (a pool of ``{"method", "path", "body"}``; ``{n}`` in a body is replaced by a
request counter) and ``rate`` (null: closed loop, each connection sends its next request when
the previous reply arrived; a number: open loop, requests are due at a fixed pace whatever the
server does, and latency counts from when each was due, so queueing is not hidden).
``counter_start`` (default 0) is where the request counter starts (loads run one after another
on the same rows start where the last left off, so no write repeats an earlier one's body), and
``keep_latencies`` adds every measured latency to the result (``latencies_s``), for results of
several loads to be pooled (``merge``).
A request may carry a ``kind`` label; the result then adds ``by_kind``: per label, the replies
by status, the connection errors (``"error"``) and, in open loop, the requests dropped past the
grace period (``"dropped"``), so a mixed pool shows which request failed.

Connection ``c`` takes requests ``c, c + C, c + 2C, ...`` of the pool, so two connections never
write the same row at the same time when the pool holds distinct rows.

Why this instead of wrk or httpx: wrk is not in the project's dependencies (and needs Lua to
vary paths and bodies); httpx costs several hundred microseconds of Python per request on the
same two cores as the server, which would bend the very figures we measure. This client pre-builds
each request's bytes and parses only the status line and Content-Length: about 30-50 us of CPU
per request on uvloop, a small fraction of what the server spends.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Template:
    head: bytes  # request line and headers up to (not including) Content-Length / blank line
    parts: list[bytes] | None  # the body split at {n}; None: no body
    kind: str | None = None  # a label to count replies by (optional)

    def render(self, n: int) -> bytes:
        if self.parts is None:
            return self.head + b"\r\n"
        body = str(n).encode().join(self.parts)
        return self.head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    status: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    sample: str | None = None
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, kind: str | None, what: str) -> None:
        if kind is not None:
            counts = self.by_kind.setdefault(kind, {})
            counts[what] = counts.get(what, 0) + 1


def templates(spec: dict[str, Any]) -> list[Template]:
    host = f"{spec['host']}:{spec['port']}"
    common = "".join(f"{k}: {v}\r\n" for k, v in spec.get("headers", {}).items())
    out = []
    for r in spec["requests"]:
        head = f"{r['method']} {r['path']} HTTP/1.1\r\nHost: {host}\r\n{common}"
        body = r.get("body")
        if body is None:
            out.append(Template(head.encode(), None, r.get("kind")))
        else:
            head += f"Content-Type: {r.get('content_type', 'application/json')}\r\n"
            parts = [p.encode() for p in body.split("{n}")]
            out.append(Template(head.encode(), parts, r.get("kind")))
    return out


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes
) -> tuple[int, bytes]:
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"content-length:")
    if at < 0 and status in (204, 304):  # no body, by definition (RFC 9110)
        return status, b""
    if at < 0:
        raise RuntimeError(f"reply without Content-Length: {head[:200]!r}")
    end = lower.find(b"\r\n", at)
    body = await reader.readexactly(int(lower[at + 15 : end]))
    if b"connection: close" in lower:
        raise ConnectionResetError("server closed the connection")
    return status, body


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, data: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            return await exchange(self.reader, self.writer, data)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def record(tally: Tally, status: int, body: bytes, latency: float, kind: str | None = None) -> None:
    tally.latencies.append(latency)
    tally.status[status] = tally.status.get(status, 0) + 1
    tally.count(kind, str(status))
    if not 200 <= status < 300 and tally.sample is None:
        tally.sample = body[:300].decode(errors="replace")


async def closed_loop(spec: dict[str, Any], pool: list[Template], tally: Tally) -> float:
    concurrency = int(spec["concurrency"])
    start = time.perf_counter()
    measure_from = start + float(spec["warmup"])
    until = measure_from + float(spec["duration"])
    counter = [int(spec.get("counter_start", 0))]

    async def run(c: int) -> None:
        conn = Connection(spec["host"], spec["port"])
        i = c
        while True:
            counter[0] += 1
            template = pool[i % len(pool)]
            data = template.render(counter[0])
            i += concurrency
            t0 = time.perf_counter()
            if t0 >= until:
                break
            try:
                status, body = await conn.send(data)
            except Exception as exc:
                if t0 >= measure_from:
                    tally.errors += 1
                    tally.sample = tally.sample or repr(exc)
                    tally.count(template.kind, "error")
                await asyncio.sleep(0.01)
                continue
            t1 = time.perf_counter()
            if t0 >= measure_from and t1 <= until:
                record(tally, status, body, t1 - t0, template.kind)
        conn.close()

    await asyncio.gather(*(run(c) for c in range(concurrency)))
    return float(spec["duration"])


async def open_loop(spec: dict[str, Any], pool: list[Template], tally: Tally) -> float:
    """Requests due every 1/rate s; ``concurrency`` connections take them in turn."""
    concurrency = int(spec["concurrency"])
    rate = float(spec["rate"])
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    start = time.perf_counter()
    measure_from = start + float(spec["warmup"])
    until = measure_from + float(spec["duration"])
    grace = until + 5.0
    dropped = [0]
    first = int(spec.get("counter_start", 0))

    async def produce() -> None:
        n = 0
        while True:
            due = start + n / rate
            if due >= until:
                break
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            queue.put_nowait((n, due))
            n += 1
        for _ in range(concurrency):
            queue.put_nowait(None)

    async def run() -> None:
        conn = Connection(spec["host"], spec["port"])
        while (item := await queue.get()) is not None:
            n, due = item
            template = pool[n % len(pool)]
            if time.perf_counter() > grace:
                dropped[0] += 1
                tally.count(template.kind, "dropped")
                continue
            try:
                status, body = await conn.send(template.render(first + n))
            except Exception as exc:
                if due >= measure_from:
                    tally.errors += 1
                    tally.sample = tally.sample or repr(exc)
                    tally.count(template.kind, "error")
                continue
            if due >= measure_from:
                record(tally, status, body, time.perf_counter() - due, template.kind)
        conn.close()

    await asyncio.gather(produce(), *(run() for _ in range(concurrency)))
    tally.errors += dropped[0]
    return float(spec["duration"])


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def latency_figures(lat: list[float]) -> dict[str, float]:
    """Mean, p50, p90, p99 and max in ms of sorted latencies in seconds."""
    return {
        "mean_ms": (sum(lat) / len(lat) * 1000) if lat else float("nan"),
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p90_ms": percentile(lat, 0.90) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "max_ms": (lat[-1] * 1000) if lat else float("nan"),
    }


def summarize(tally: Tally, duration: float, spec: dict[str, Any]) -> dict[str, Any]:
    lat = sorted(tally.latencies)
    ok = sum(n for s, n in tally.status.items() if 200 <= s < 300)
    labelled = {"by_kind": tally.by_kind} if tally.by_kind else {}
    return {
        "mode": "open" if spec.get("rate") else "closed",
        "rate": spec.get("rate"),
        "concurrency": spec["concurrency"],
        "duration": duration,
        "requests": len(lat),
        "ok": ok,
        "errors": tally.errors + len(lat) - ok,
        "status": {str(k): v for k, v in sorted(tally.status.items())},
        "rps": ok / duration if duration else 0.0,
        **latency_figures(lat),
        "error_sample": tally.sample,
        **labelled,
        **({"latencies_s": lat} if spec.get("keep_latencies") else {}),
    }


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One closed-loop result from several loads of the same requests (made with
    ``keep_latencies``): counts and durations added, the latency figures over all the
    latencies together."""
    lat = sorted(x for r in results for x in r["latencies_s"])
    duration = sum(float(r["duration"]) for r in results)
    ok = sum(int(r["ok"]) for r in results)
    status: dict[str, int] = {}
    for r in results:
        for code, n in r["status"].items():
            status[code] = status.get(code, 0) + n
    return {
        "mode": results[0]["mode"],
        "rate": results[0]["rate"],
        "concurrency": results[0]["concurrency"],
        "duration": duration,
        "slices": len(results),
        "requests": len(lat),
        "ok": ok,
        "errors": sum(int(r["errors"]) for r in results),
        "status": dict(sorted(status.items())),
        "rps": ok / duration if duration else 0.0,
        # Each slice's rate, to see how much it moved while the figure was taken.
        "slice_rps": [r["rps"] for r in results],
        **latency_figures(lat),
        "error_sample": next((r["error_sample"] for r in results if r["error_sample"]), None),
    }


async def main_async(spec: dict[str, Any]) -> dict[str, Any]:
    pool = templates(spec)
    tally = Tally()
    if spec.get("rate"):
        duration = await open_loop(spec, pool, tally)
    else:
        duration = await closed_loop(spec, pool, tally)
    return summarize(tally, duration, spec)


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(main_async(spec))
    else:
        result = uvloop.run(main_async(spec))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
