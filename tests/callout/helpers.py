"""Helpers for the callout tests: the seed file, and moving a callout's status."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from credira.callout import state
from credira.callout.state import FINISHED, CalloutStatus
from credira.models import Callout
from tests.shapes import TIMESTAMP as TIME_RE

# A verbatim copy of ../shared/seeds/000_c05570d194f5e3da.txt, so the suite runs on a fresh clone.
SEED_PATH = Path(__file__).with_name("seed_000_c05570d194f5e3da.txt")


@dataclass(frozen=True)
class Seed:
    curl: str
    request_body: dict[str, Any]
    reply: dict[str, Any]
    errors: list[dict[str, Any]]


def load_seed() -> Seed:
    """Split the seed into its curl command, request body, success reply and error replies.

    The file repeats the request and reply three times, then lists five error replies; every
    reply is a JSON object whose opening brace stands alone on its line.
    """
    text = SEED_PATH.read_text()
    curl_start = text.index("curl ")
    curl_end = text.index("}'", curl_start) + 2
    curl = text[curl_start:curl_end]
    body_text = curl[curl.index("--data '") + len("--data '") : -1]
    decoder = json.JSONDecoder()
    replies = [
        decoder.raw_decode(text, match.start())[0]
        for match in re.finditer(r"^\{$", text, re.MULTILINE)
    ]
    successes = [r for r in replies if r["success"] is True]
    errors = [r for r in replies if r["success"] is False]
    assert all(s == successes[0] for s in successes), "the seed's repeated replies differ"
    return Seed(curl, json.loads(body_text), successes[0], errors)


def parse_time(value: str) -> datetime:
    assert TIME_RE.fullmatch(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


async def set_status(app: FastAPI, callout_id: str, status: str) -> None:
    """Move a callout to ``status`` through its state machine, as a worker would: a scheduled
    one is claimed first (by a worker that holds it for an hour), then finished if ``status``
    is final."""
    runtime = app.state.runtime
    async with runtime.sessionmaker() as session:
        callout = await session.get(Callout, callout_id)
        assert callout is not None, callout_id
        now = runtime.clock.now()
        if callout.status == CalloutStatus.SCHEDULED and status != CalloutStatus.CANCELLED:
            for name, value in state.claim_values("tests", now, timedelta(hours=1)).items():
                setattr(callout, name, value)
            state.claimed(session, callout, now)
        if status in FINISHED:
            state.finish(session, callout, CalloutStatus(status), None, now)
        await session.commit()
