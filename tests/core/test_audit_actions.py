"""Every audit action the laptop writes is one the service accepts (sync.records.AUDIT_ACTIONS):
an action missing from the list would be refused at every sync."""

from __future__ import annotations

import ast
from pathlib import Path

from sync.records import AUDIT_ACTIONS

ROOT = Path(__file__).resolve().parents[2]


def _actions_written() -> set[str]:
    """String literals passed as the action of ``uow.create``/``uow.audit`` or of an
    ``AuditEvent(action=...)`` anywhere in app/."""
    found: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            candidates: list[ast.expr] = []
            if name == "AuditEvent":
                candidates.extend(k.value for k in node.keywords if k.arg == "action")
            if name == "audit" and len(node.args) >= 3:
                candidates.append(node.args[2])
            if name == "create" and len(node.args) >= 4:
                candidates.append(node.args[3])
            for value in candidates:
                for sub in ast.walk(value):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        found.add(sub.value)
    return found


def test_every_action_the_laptop_writes_is_on_the_services_list() -> None:
    written = _actions_written()
    assert {"viewed", "created", "corrected", "changed", "resolved"} <= written
    assert written <= set(AUDIT_ACTIONS), written - set(AUDIT_ACTIONS)
