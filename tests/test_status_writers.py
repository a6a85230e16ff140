"""A status has one writer: its object's state machine (``<domain>/state.py``), which also
appends the change's event. Read from the source: no other module of ``src/`` assigns a
``status``, passes one to a model or an ``UPDATE``, or builds a row holding one."""

from __future__ import annotations

import ast
from pathlib import Path

import credira

SRC = Path(credira.__file__).parent
STATE_MACHINES = {
    "callout/state.py",
    "call/state.py",
    "email/state.py",
    "invoice/state.py",
    "invoice/import_job.py",
}
# Objects whose status is a life cycle; users, agents and templates have a plain field.
MODELS = {"Callout", "Call", "Email", "Invoice"}
DOMAINS = ("callout/", "call/", "email/", "invoice/", "worker/")


def _violations(path: Path, relative: str) -> list[str]:
    found: list[str] = []
    tree = ast.parse(path.read_text(), filename=relative)
    for node in ast.walk(tree):
        where = f"{relative}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
                found.append(f"{where}: assigns .status")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            writes = name in MODELS or name == "values"
            if writes and any(k.arg == "status" for k in node.keywords):
                found.append(f"{where}: status= in {name}(...)")
            if name == "setattr" and len(node.args) > 1:
                key = node.args[1]
                if isinstance(key, ast.Constant) and key.value == "status":
                    found.append(f"{where}: setattr(..., 'status', ...)")
        elif isinstance(node, ast.Dict) and relative.startswith(DOMAINS):
            for key, value in zip(node.keys, node.values, strict=True):
                if not (isinstance(key, ast.Constant) and key.value == "status"):
                    continue
                # Reading an object's status into a reply is no write.
                if not (isinstance(value, ast.Attribute) and value.attr == "status"):
                    found.append(f"{where}: a row with a 'status' key")
    return found


def test_only_the_state_machines_write_a_status() -> None:
    violations: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative in STATE_MACHINES or relative.startswith("migrations/"):
            continue
        violations += _violations(path, relative)
    assert violations == []


def test_the_check_finds_each_kind_of_status_write(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "callout.status = 'done'\n"
        "Callout(id='x', status='scheduled')\n"
        "update(Call).values(status='failed')\n"
        "setattr(email, 'status', 'sent')\n"
        "row = {'id': 1, 'status': 'initiated'}\n"
        "reply = {'status': call.status}\n"
    )
    found = _violations(probe, "worker/probe.py")
    assert sorted(int(line.split(":")[1]) for line in found) == [1, 2, 3, 4, 5], found
