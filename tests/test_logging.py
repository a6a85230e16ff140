"""What a log line looks like, in the console format and in JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
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


# Every kind of character a terminal or a line-oriented tool may act on: C0 controls (escape
# sequences, NUL, tab, CR, LF), DEL, C1 controls (U+009B is CSI to some terminals, U+0085 is a
# line break to some tools), the Unicode line and paragraph separators, a bidirectional override
# and a zero-width character (they make a line read other than it is), and a lone surrogate.
UNPRINTABLE = "\x1b[2K\x00\t\r\n\x07\x7f\x9b\x85\u2028\u2029\u202e\u200b\ud800"
# Without a space, quote or line break, which make the console writer quote a value.
BARE = "\x1b[1A\x00\x7f\x9b\u2028\ud800"


class _Shifty:
    def __repr__(self) -> str:
        return "<shifty \x1b[1A>"


def _non_printable(text: str) -> set[str]:
    return {char for char in text if not char.isprintable()}


def test_control_characters_are_escaped_in_every_part_of_a_console_line() -> None:
    out = io.StringIO()
    configure("info", file=out)
    log = structlog.get_logger("credira.worker").bind(bound=f"b{BARE}")

    log.info(
        f"event{UNPRINTABLE}",
        **{f"key{UNPRINTABLE}": f"value{UNPRINTABLE}", "other": _Shifty(), "n": 1},
    )
    try:
        raise ValueError(f"boom{UNPRINTABLE}")
    except ValueError:
        log.exception("worker.crashed")

    written = out.getvalue()
    first, second, *traceback = written.splitlines()
    assert _non_printable(first + second + "".join(traceback)) == set()
    escaped = repr(UNPRINTABLE)[1:-1]  # as Python writes a string's unprintable characters
    assert f"event{escaped}" in first
    # A value with a space, a quote or a line break is written as its repr, as structlog does.
    assert f"key{escaped}='value{escaped}'" in first
    assert f"bound=b{repr(BARE)[1:-1]} " in first
    assert "other=<shifty \\x1b[1A>" in first
    assert first.endswith(" n=1")
    # A traceback keeps its line breaks (its message's too); all else is escaped.
    assert "worker.crashed" in second
    assert traceback[0].startswith("Traceback (most recent call last):")
    before, after = escaped.split("\\n")
    assert traceback[-2:] == [f"ValueError: boom{before}", after]


def test_control_characters_are_escaped_in_a_json_line_and_read_back_unchanged() -> None:
    out = io.StringIO()
    configure("info", json=True, file=out)
    log = structlog.get_logger("credira.worker")

    log.info(
        f"event{UNPRINTABLE}",
        **{f"key{UNPRINTABLE}": f"value{UNPRINTABLE}", "nested": {"list": [UNPRINTABLE]}},
    )
    try:
        raise ValueError(f"boom{UNPRINTABLE}")
    except ValueError:
        log.exception("worker.crashed")

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert _non_printable("".join(lines)) == set()
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == f"event{UNPRINTABLE}"
    assert first[f"key{UNPRINTABLE}"] == f"value{UNPRINTABLE}"
    assert first["nested"] == {"list": [UNPRINTABLE]}
    assert second["exception"].endswith(f"ValueError: boom{UNPRINTABLE}")


@pytest.mark.parametrize("json_lines", [False, True], ids=["console", "json"])
def test_printable_text_beyond_ascii_is_written_as_it_is(json_lines: bool) -> None:
    out = io.StringIO()
    configure("info", json=json_lines, file=out)

    structlog.get_logger("credira.worker").info("contact.named", name="Zoë Ñúñez 山田")

    assert "Zoë Ñúñez 山田" in out.getvalue()


@pytest.mark.parametrize("json_lines", [False, True], ids=["console", "json"])
async def test_control_characters_in_a_request_path_are_escaped_in_the_log(
    client: httpx.AsyncClient, json_lines: bool
) -> None:
    out = io.StringIO()
    configure("info", json=json_lines, file=out)
    # The module loggers (the request log's among them) must not keep this configuration.
    structlog.configure(cache_logger_on_first_use=False)

    # An escape sequence that moves up a line and erases it, and a NUL (grep: "binary file").
    for path in ("/health%1b%5b1A%1b%5b2K", "/health%00"):
        assert (await client.get(path)).status_code == 404

    lines = out.getvalue().splitlines()
    assert _non_printable("".join(lines)) == set()
    if json_lines:
        paths = [record.get("path") for record in map(json.loads, lines)]
        assert "/health\x1b[1A\x1b[2K" in paths
        assert "/health\x00" in paths
    else:
        assert any("path=/health\\x1b[1A\\x1b[2K " in line for line in lines)
        assert any("path=/health\\x00 " in line for line in lines)
