"""The README's SDK example (create an invoice, schedule a callout, learn its outcome from a
signed webhook) runs as written against a real server."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- sdk-webhook-example -->"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)\n```", text, re.DOTALL)
    assert found, f"no python block after {MARKER} in README.md"
    return found.group(1)


def test_the_readme_example_runs(
    base_url: str, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDIRA_BASE_URL", base_url)
    monkeypatch.setenv("CREDIRA_API_KEY", api_key)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(readme_example(), "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    # The server's threads share stdout: the example's line is the one naming the callout.
    line = next(x for x in printed.getvalue().splitlines() if x.startswith("callout."))
    outcome, promised = line.split()
    assert outcome == "callout.completed"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", promised)
