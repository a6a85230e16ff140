"""Structured logs (structlog): one event name per line, with the request id bound.

Rendering is the most a log line costs, and the worker writes two per call (about 6 % of its
CPU in the worker benchmark with structlog's defaults). So the console lines keep their keys in
the order they were given (structlog's sorting cost a third of each line), and JSON lines are
written by orjson.

Every character that is not printable (``str.isprintable``: controls, C1 controls, line and
paragraph separators, format characters such as bidirectional overrides, lone surrogates) is
escaped in both renderings, wherever it is: event name, key, value, exception text (whose line
breaks the console keeps). A request
path with an escape sequence otherwise erased lines of the terminal showing the log, and a NUL
made ``grep`` take the log for a binary file. A line is checked whole (``isprintable``, about
1 µs for a console line of 200 characters; a JSON line that is ASCII, 0.1 µs) and rewritten only
when the check fails.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from json import dumps as json_dumps
from typing import Any, TextIO

import orjson
import structlog

# Candidates for escaping: all but printable ASCII (each is then checked with isprintable).
_SUSPECT = re.compile(r"[^ -~]")
# Written after the line itself, each on lines of its own.
_TRAILERS = ("stack", "exception")


def _as_python(match: re.Match[str]) -> str:
    char = match.group()
    return char if char.isprintable() else repr(char)[1:-1]  # \x1b, \x85, \u2028, \ud800


def _as_json(match: re.Match[str]) -> str:
    char = match.group()
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def escape(text: str) -> str:
    """``text`` with each character that is not printable written as Python escapes it."""
    return text if text.isprintable() else _SUSPECT.sub(_as_python, text)


def _escape_lines(text: str) -> str:
    return "\n".join(escape(line) for line in text.split("\n"))


def _orjson(value: Any, **options: Any) -> str:
    fallback: Callable[[Any], Any] | None = options.get("default")
    try:
        line = orjson.dumps(value, default=fallback).decode()
    except orjson.JSONEncodeError:
        # orjson refuses lone surrogates (and integers past 64 bits), which the standard
        # library writes (the line then has its non-JSON values as their repr).
        line = json_dumps(value, default=fallback)
    # orjson escapes the C0 controls; DEL, C1 and the rest are escaped here, as \uXXXX. An
    # ASCII line (isascii is a flag lookup) needs only a search for DEL.
    if (line.isascii() and "\x7f" not in line) or line.isprintable():
        return line
    return _SUSPECT.sub(_as_json, line)


class _PrintableConsole:
    """structlog's console renderer, its output made printable: the line itself wholly (a value
    with a space or a quote it already writes as its repr, a bare one as it is), the trailing
    exception or stack line by line, keeping their line breaks."""

    def __init__(self, renderer: structlog.dev.ConsoleRenderer) -> None:
        self._renderer = renderer

    def __call__(self, logger: Any, name: str, event_dict: structlog.typing.EventDict) -> str:
        trailers: dict[str, str] | None = None
        for key in _TRAILERS:
            if key in event_dict:
                trailers = trailers or {}
                trailers[key] = _escape_lines(str(event_dict.pop(key)))
        line = escape(self._renderer(logger, name, event_dict))
        if trailers is None:
            return line
        return line + self._renderer(logger, name, trailers)


def configure(level: str = "info", *, json: bool = False, file: TextIO | None = None) -> None:
    """Log at ``level`` and above to ``file`` (standard error by default)."""
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_orjson)
        if json
        else _PrintableConsole(structlog.dev.ConsoleRenderer(colors=False, sort_keys=False))
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=file or sys.stderr),
        cache_logger_on_first_use=True,
    )
