"""Write ``credira_sdk/_sync_client.py`` from ``_async_client.py``: the same methods without
``async``/``await``, ``Async`` names made plain, ``asyncio.sleep`` as ``time.sleep``.

    python sdk/tools/unasync.py            # rewrite _sync_client.py
    python sdk/tools/unasync.py --check    # exit 1 when it is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ruff_format import formatted

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "credira_sdk"
SOURCE = PACKAGE / "_async_client.py"
TARGET = PACKAGE / "_sync_client.py"

# In order; each a regular expression and its replacement.
RULES: list[tuple[str, str]] = [
    (r"\bimport asyncio\b", "import time"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\baread\b", "read"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
]


def render(source: str) -> str:
    text = source
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return formatted(text, TARGET)


def main(argv: list[str]) -> int:
    text = render(SOURCE.read_text())
    if "--check" in argv:
        if TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run python sdk/tools/unasync.py")
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
