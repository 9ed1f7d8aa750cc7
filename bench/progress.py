"""Progress while the suite runs: rich bars on a terminal, plain lines otherwise.

Figures ask for a :class:`Task` (a description and, when known, a total) and advance it. On a
terminal one rich display shows the figure being measured and the step inside it; piped
(CI, ``make bench | tee``) each step prints a line when it starts, at every quarter of its
total, and when it ends with its duration.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class Task(Protocol):
    def update(self, completed: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class Reporter(Protocol):
    def figure(self, index: int, count: int, name: str) -> None: ...

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Task]: ...

    def note(self, text: str) -> None: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------- plain lines


class _PlainTask:
    def __init__(self, out: TextIO, description: str, total: int | None) -> None:
        self.out, self.description, self.total = out, description, total
        self.completed = 0
        self._quarter = 0

    def update(self, completed: int) -> None:
        self.completed = completed
        if not self.total:
            return
        quarter = min(3, 4 * completed // self.total)
        if quarter > self._quarter:
            self._quarter = quarter
            self.out.write(f"    {self.description}: {completed:,}/{self.total:,}\n")
            self.out.flush()

    def advance(self, amount: int = 1) -> None:
        self.update(self.completed + amount)


class PlainReporter:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def figure(self, index: int, count: int, name: str) -> None:
        self.out.write(f"[{index}/{count}] {name}\n")
        self.out.flush()

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Task]:
        suffix = f" ({total:,})" if total else ""
        self.out.write(f"  {description}{suffix}...\n")
        self.out.flush()
        began = time.perf_counter()
        yield _PlainTask(self.out, description, total)
        self.out.write(f"  {description}: done in {time.perf_counter() - began:.1f} s\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self.out.write(f"  {text}\n")
        self.out.flush()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------- rich


class _RichTask:
    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress, self.id = progress, task

    def update(self, completed: int) -> None:
        self.progress.update(self.id, completed=completed)

    def advance(self, amount: int = 1) -> None:
        self.progress.advance(self.id, amount)


class RichReporter:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.progress.start()
        self._figures = self.progress.add_task("figures", total=None)

    def figure(self, index: int, count: int, name: str) -> None:
        self.progress.update(
            self._figures, description=f"[bold]{name}[/bold]", total=count, completed=index - 1
        )

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Task]:
        task = self.progress.add_task(f"  {description}", total=total)
        try:
            yield _RichTask(self.progress, task)
        finally:
            self.progress.remove_task(task)

    def note(self, text: str) -> None:
        self.progress.console.print(f"  {text}")

    def close(self) -> None:
        self.progress.stop()


def reporter_for(console: Console) -> Reporter:
    """Rich progress on a terminal, plain lines otherwise."""
    if console.is_terminal:
        return RichReporter(console)
    return PlainReporter()
