"""The domain stays free of infrastructure: engine/ imports no adapters, NATS, SQL or CLI."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_THIRD_PARTY = {"eventsourcing", "pydantic", "holidays"}
FORBIDDEN_MODULES = {"eventsourcing.sqlite", "eventsourcing.postgres", "eventsourcing.popo"}
STDLIB_IO = {"sqlite3", "socket", "subprocess", "asyncio", "urllib", "http", "requests"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_engine_imports_only_stdlib_eventsourcing_and_pydantic() -> None:
    """No module under engine/ imports adapters, projections, I/O modules or storage backends."""
    offenders = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "engine" or name.startswith("__future__"):
                continue
            is_stdlib = top in __import__("sys").stdlib_module_names
            if (
                name in FORBIDDEN_MODULES
                or top in {"adapters", "projections", "nats", "structlog", "rich", "yaml"}
                or top in STDLIB_IO
                or (not is_stdlib and top not in ALLOWED_THIRD_PARTY)
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_engine_never_reads_the_wall_clock() -> None:
    """The domain gets time from an injected clock: no now(), today(), utcnow() or time()."""
    pattern = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "engine").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
