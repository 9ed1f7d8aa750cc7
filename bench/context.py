"""What every figure is given: its sizes, a scratch directory, progress, the shared logs,
and PostgreSQL when it is reachable."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.logs import Logs
from bench.progress import Reporter
from bench.sizes import Size


@dataclass
class Context:
    size: Size
    workdir: Path
    progress: Reporter
    logs: Logs
    postgres: str | None  # server URL when reachable
    postgres_missing: str | None  # why not, when it is not
    memo: dict[Any, Any] = field(default_factory=dict)  # measurements figures share

    def scratch(self, name: str) -> Path:
        """A fresh directory of the run's scratch space."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path
