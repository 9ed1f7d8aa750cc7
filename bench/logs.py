"""The generated logs the read-side figures share, written once per run.

One SQLite store grows through :class:`bench.history.HistoryWriter` to the largest size a
selected figure needs; on the way, at each smaller size a figure asked for, a copy is taken
(SQLite's backup API, so the copy is consistent). Figures get a :class:`GeneratedLog` per
stage: ``small`` (figure 8's reference store, and the CLI's), ``mid`` (the second size of
figure 4's memory) and ``full`` (the log of figures 3, 4, 5 and 8).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.bootstrap import open_desk
from bench.history import MAJOR_REF, SAMPLE_REF, HistoryWriter
from bench.progress import Reporter
from bench.sizes import Size
from engine.clock import SimulatedClock

STAGES = ("small", "mid", "full")


@dataclass(frozen=True)
class GeneratedLog:
    """A store holding a generated history."""

    stage: str
    path: Path
    events: int
    tickets: int
    sample_ref: str  # an ordinary ticket that exists at every stage
    major_ref: str  # a major incident with children, at every stage
    first_opened_at: datetime
    last_opened_at: datetime

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    @property
    def now(self) -> datetime:
        """The desk's "now" for reads: a day after the last ticket opened."""
        return self.last_opened_at + timedelta(days=1)

    def clock(self) -> SimulatedClock:
        return SimulatedClock(self.now)

    def label(self) -> str:
        return f"{self.events:,} events, {self.tickets:,} tickets"


class Logs:
    """Grows one store through the stages that the selected figures need."""

    def __init__(self, size: Size, workdir: Path, progress: Reporter) -> None:
        self.targets = {"small": size.log_small, "mid": size.log_mid, "full": size.log_full}
        self.workdir = workdir
        self.progress = progress
        self.wanted: set[str] = set()
        self.ready: dict[str, GeneratedLog] = {}
        self._writer: HistoryWriter | None = None
        self._path = workdir / "log-growing.db"

    def want(self, stages: Iterable[str]) -> None:
        self.wanted.update(stages)

    def get(self, stage: str) -> GeneratedLog:
        """The log at ``stage`` (written now if it is not yet)."""
        if stage not in self.ready:
            self.want([stage])
            self._grow_through(stage)
        return self.ready[stage]

    def _grow_through(self, stage: str) -> None:
        if self._writer is None:
            clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
            self._writer = HistoryWriter(open_desk(f"sqlite:///{self._path}", clock=clock))
        writer = self._writer
        for name in STAGES[: STAGES.index(stage) + 1]:
            if name not in self.wanted or name in self.ready:
                continue
            target = self.targets[name]
            if writer.events > target:  # passed already without a copy: not expected
                raise RuntimeError(f"the {name} log was not kept while the log grew past it")
            with self.progress.task(f"writing the log ({name})", total=target) as task:
                writer.grow_to(target, progress=task.update)
            path = self.workdir / f"log-{name}.db"
            events, tickets = writer.events, writer.tickets
            if name == STAGES[-1]:  # nothing grows past it: keep the file itself
                self.close()
                _move(self._path, path)
            else:
                backup(self._path, path)
            self.ready[name] = GeneratedLog(
                stage=name,
                path=path,
                events=events,
                tickets=tickets,
                sample_ref=SAMPLE_REF,
                major_ref=MAJOR_REF,
                first_opened_at=writer.first_opened_at,
                last_opened_at=writer.last_opened_at,
            )

    def close(self) -> None:
        if self._writer is not None:
            self._writer.desk.close()
            self._writer = None


def backup(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (SQLite's backup API), replacing ``target``."""
    target.unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _move(source: Path, target: Path) -> None:
    """Rename a closed SQLite file, with its write-ahead log if one is left."""
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{source}{suffix}")
        if part.exists():
            part.replace(Path(f"{target}{suffix}"))
