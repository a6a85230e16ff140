"""The test suite and the bench share one module, ``tests/factories.py``, and nothing else:
read from the source, no module of ``tests/`` imports ``bench``, and no module of ``bench/``
imports any of ``tests`` but the factories."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported(source: str) -> set[str]:
    """What a module imports, each name in full (``from a import b`` is ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def crossing(source: str, other: str, allowed: str | None = None) -> set[str]:
    """The names of package ``other`` that ``source`` imports, ``allowed`` and its names aside."""

    def within(name: str, package: str) -> bool:
        return name == package or name.startswith(f"{package}.")

    return {
        name
        for name in imported(source)
        if within(name, other) and not (allowed and within(name, allowed))
    }


def _all(folder: str, other: str, allowed: str | None = None) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in sorted(crossing(path.read_text(), other, allowed))
    ]


def test_the_tests_import_nothing_of_the_bench() -> None:
    assert _all("tests", "bench") == []


def test_the_bench_imports_only_the_factories_of_the_tests() -> None:
    assert _all("bench", "tests", "tests.factories") == []


def test_the_check_sees_each_way_of_crossing() -> None:
    shared = "from tests import factories\nfrom tests.factories import invoice_row\n"
    assert crossing(shared, "tests", "tests.factories") == set()
    for source, name in [
        ("import tests.support\n", "tests.support"),
        ("from tests import support\n", "tests.support"),
        ("from tests.chaos.harness import run_chaos\n", "tests.chaos.harness.run_chaos"),
        ("def f():\n    from tests.support import Api\n", "tests.support.Api"),
    ]:
        assert crossing(source, "tests", "tests.factories") == {name}
    assert crossing("from bench import soak_mix\n", "bench") == {"bench.soak_mix"}
