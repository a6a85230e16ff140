"""The layers, read from the source: outside repositories (and the database and migrations
packages) no module of ``src/`` builds SQL or runs it; ``kit/`` holds domain-free helpers that
import nothing of the application's settings, database or models; and the domain packages
import each other one way, but for the two-way pairs listed with their reason."""

from __future__ import annotations

import ast
from pathlib import Path

import credira

SRC = Path(credira.__file__).parent

# Statement builders of SQLAlchemy (and the dialect helpers of ``credira.db.dialect``).
BUILDERS = {
    "select",
    "insert",
    "update",
    "delete",
    "text",
    "func",
    "exists",
    "union",
    "union_all",
    "literal_column",
    "insert_ignore",
    "claimable_ids",
    "take_in_turn",
    "prefer_index_order",
}
# Running a statement; ``session.get`` (a row by its key) and ``add`` are the ORM's, not SQL.
RUNNERS = {"execute", "scalars", "scalar", "stream", "stream_scalars", "exec_driver_sql"}
BUILDER_MODULES = ("sqlalchemy", "credira.db.dialect")
# Where SQL lives: repositories (``repository.py``, or ``<name>_repository.py`` beside the
# module it serves), the database package (engine, dialect helpers, the migrations driver)
# and the migrations. No exception is left outside them.
ALLOWED_SQL: dict[str, str] = {}


def _sql_home(relative: str) -> bool:
    return (
        relative.endswith("repository.py")
        or relative.startswith(("db/", "migrations/"))
        or relative in ALLOWED_SQL
    )


def _sql_built(path: Path, relative: str) -> list[str]:
    tree = ast.parse(path.read_text(), filename=relative)
    builders: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(BUILDER_MODULES):
            builders |= {a.asname or a.name for a in node.names if a.name in BUILDERS}
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        where = f"{relative}:{node.lineno}"
        func = node.func
        if isinstance(func, ast.Name) and func.id in builders:
            found.append(f"{where}: {func.id}(...)")
        elif isinstance(func, ast.Attribute):
            if func.attr in RUNNERS:
                found.append(f"{where}: .{func.attr}(...)")
            elif isinstance(func.value, ast.Name) and func.value.id in builders:
                found.append(f"{where}: {func.value.id}.{func.attr}(...)")
    return found


def test_only_repositories_build_sql() -> None:
    violations: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if not _sql_home(relative):
            violations += _sql_built(path, relative)
    assert violations == []


def test_the_sql_check_finds_each_kind_of_statement(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from sqlalchemy import func, select, text, update as change\n"
        "from credira.db.dialect import insert_ignore\n"
        "select(Call)\n"
        "change(Call).values(done=True)\n"
        "text('SELECT 1')\n"
        "func.count(Call.id)\n"
        "insert_ignore(session, Call, ['id'])\n"
        "await session.execute(statement)\n"
        "await session.scalars(statement)\n"
        "await session.scalar(statement)\n"
        "await session.get(Call, call_id)\n"
    )
    found = _sql_built(probe, "worker/probe.py")
    assert sorted(int(line.split(":")[1]) for line in found) == list(range(3, 11)), found
    assert _sql_home("email/repository.py")
    assert _sql_home("channel/voice/simulator_repository.py")
    assert not _sql_home("email/service.py")


# What ``kit/`` may not import: the application's settings, database, models and HTTP edge,
# and any domain package.
KIT_FORBIDDEN = (
    "credira.config",
    "credira.db",
    "credira.models",
    "credira.api",
    "credira.app",
    "credira.wiring",
)


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
    return modules


def test_kit_imports_nothing_of_the_application() -> None:
    allowed = ("credira.kit", "credira.errors")
    violations = []
    for path in sorted((SRC / "kit").rglob("*.py")):
        for module in sorted(_imports(path)):
            if module.startswith(("fastapi", "starlette")):
                # Query parameters and requests are read at the HTTP edge (credira.api).
                violations.append(f"kit/{path.name}: {module}")
                continue
            if not module.startswith("credira"):
                continue
            if module.startswith(KIT_FORBIDDEN) or not module.startswith(allowed):
                violations.append(f"kit/{path.name}: {module}")
    assert violations == []


DOMAINS = ("call", "callout", "email", "invoice", "report")
# Two-way imports between domain packages still to break, each with why it is there. An
# endpoints module is the HTTP edge above every service, so it is not counted.
TWO_WAY: dict[frozenset[str], str] = {
    frozenset({"call", "callout"}): (
        "POST /v1/calls makes a callout (call.service -> callout.state, policy); cancelling a "
        "callout or settling its invoice cancels its undialled calls (callout.repository -> "
        "call.state)"
    ),
    frozenset({"callout", "invoice"}): (
        "a callout is made for an open invoice (callout.service -> invoice.service); settling "
        "an invoice cancels its pending callouts (invoice.service -> callout.repository)"
    ),
}


def _domain_edges() -> set[tuple[str, str]]:
    edges: set[tuple[str, str]] = set()
    for domain in DOMAINS:
        for path in sorted((SRC / domain).glob("*.py")):
            if path.name == "endpoints.py":
                continue
            for module in _imports(path):
                parts = module.split(".")
                if parts[0] == "credira" and len(parts) > 1 and parts[1] in DOMAINS:
                    edges.add((domain, parts[1]))
    return edges


def test_domain_packages_import_each_other_one_way() -> None:
    edges = _domain_edges()
    two_way = {
        frozenset(edge) for edge in edges if edge[0] != edge[1] and (edge[1], edge[0]) in edges
    }
    assert two_way <= set(TWO_WAY), sorted(sorted(pair) for pair in two_way - set(TWO_WAY))
    # A pair broken since stays broken: drop it from TWO_WAY.
    assert set(TWO_WAY) <= two_way
