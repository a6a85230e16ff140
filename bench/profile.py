# ruff: noqa: S603  (runs our own processes: python, credira, py-spy, git)
"""Sampling profiles of a process under load, with py-spy (a bench-only dependency), and a
plain-text digest of where the time goes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """Start sampling ``pid`` for ``seconds`` in the background (collapsed stacks to ``out``)."""
    tool = py_spy()
    if tool is None:
        return None
    return subprocess.Popen(
        [
            tool,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path})"


def _area(frame: str) -> str:
    path = frame
    for area, needle in (
        ("credira", "credira/"),
        ("sqlalchemy", "sqlalchemy/"),
        ("asyncpg", "asyncpg/"),
        ("aiosqlite", "aiosqlite/"),
        ("pydantic", "pydantic"),
        ("fastapi", "fastapi/"),
        ("starlette", "starlette/"),
        ("uvicorn", "uvicorn/"),
        ("structlog", "structlog/"),
        ("limits", "limits/"),
        ("asyncio", "asyncio/"),
    ):
        if needle in path:
            return area
    return "other"


def digest(path: Path, top: int = 15) -> dict[str, Any]:
    """Self time by function, inclusive time by Credira function, and self time by library."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            f
            for f in stack.split(";")
            if f and not f.startswith("process ") and not f.startswith("thread ")
        ]
        if not frames:
            continue
        leaf = frames[-1]
        own[_short(leaf)] += n
        areas[_area(leaf)] += n
        for frame in {_short(f) for f in frames if "credira/" in f}:
            # The whole process runs under these: they say nothing.
            if not frame.startswith(("serve (", "<module> (", "main (")):
                inclusive[frame] += n

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return (
            [(k, round(100 * v / total, 1)) for k, v in counter.most_common(top)] if total else []
        )

    return {
        "samples": total,
        "self_pct": share(own),
        "credira_inclusive_pct": share(inclusive),
        "self_by_library_pct": share(areas),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(digest(Path(sys.argv[1])), indent=1))
