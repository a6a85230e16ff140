"""What a log line looks like, in the console format and in JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from credira.logging import configure


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_a_console_line_has_time_level_event_and_the_fields_in_the_order_given() -> None:
    out = io.StringIO()
    configure("info", file=out)
    log = structlog.get_logger("credira.worker").bind(callout_id="callout_1")

    log.info("callout.attempt.finished", status="completed", call_id="call_1")
    log.debug("not.shown")

    (line,) = out.getvalue().splitlines()
    stamp = datetime.fromisoformat(line.split(" ", 1)[0])
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
    assert "[info     ] callout.attempt.finished" in line
    assert line.endswith("callout_id=callout_1 status=completed call_id=call_1")


def test_a_json_line_is_one_object_with_every_field() -> None:
    out = io.StringIO()
    configure("debug", json=True, file=out)
    log = structlog.get_logger("credira.worker")

    log.debug(
        "call.recording.unavailable", call_id="call_1", until=datetime(2026, 1, 2, tzinfo=UTC)
    )
    log.info("odd.value", value=object())

    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event"] == "call.recording.unavailable"
    assert first["level"] == "debug"
    assert first["call_id"] == "call_1"
    assert first["until"] == "2026-01-02T00:00:00+00:00"
    assert datetime.fromisoformat(first["timestamp"]).tzinfo is not None
    # What JSON cannot hold is written as its repr, not dropped and not an error.
    assert second["value"].startswith("<object object at")


def test_an_exception_is_logged_with_its_traceback_in_json() -> None:
    out = io.StringIO()
    configure("info", json=True, file=out)
    log = structlog.get_logger("credira.worker")

    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("worker.callout_crashed", callout_id="callout_1")

    record = json.loads(out.getvalue())
    assert record["level"] == "error"
    assert "ValueError: boom" in record["exception"]
