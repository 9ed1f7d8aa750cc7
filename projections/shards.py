"""Building the views in parallel: one process per shard of the tickets.

A ticket's rows depend on its own events and on the policy's calendars only, never on
another ticket's events. So views built from nothing (a rebuild, the first read of a store)
split by ticket: shard *k* of *n* holds the tickets whose stream id's last byte is *k*
modulo *n*. Each shard is built by a process of its own (``python -m
projections.shard_worker``): it selects its tickets' records up to the head the build started
from (the database skips the others, they are never decoded) and applies them with the same
projections as one process would, into a SQLite file of its own. When every shard is done,
one transaction per view copies the shards' rows into the store's views (dropping the view's
secondary indexes first and building them once over the copied rows) and records the view's
tracking position; what was written to the log after the head is then caught up as
usual.

The views are the same as when built in one process, row for row: the projections' rows do
not depend on how the log is cut into batches (the property tests check it), and a ticket is
always in one shard with all its events.

Only SQLite file stores are built in shards (:func:`worker_count`): the shards are copied into
the store's file with ``ATTACH``. If a shard process fails — it cannot start, runs out of
memory, is killed — the others are stopped, nothing of theirs is kept, and the views are
built in one process; if another process caught a view up meanwhile, the copy of that view is
skipped (:class:`ViewMovedError`). :class:`ShardedRebuild` says how a build ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: A log shorter than this is rebuilt in one process: starting a process (imports, opening
#: the store) costs about a second, the time to project some ten thousand events.
PARALLEL_FROM = 50_000
#: The most shard processes a rebuild starts (SQLite attaches at most ten databases).
MAX_WORKERS = 8
#: How often a shard process reports how far it has read, in events.
REPORT_EVERY = 2000

Progress = Callable[[int, int], None]


def memory_mib(field: str) -> float | None:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MiB.

    Read from /proc rather than ``getrusage``: Linux carries the peak of the process that
    forked a child over into the child's ``ru_maxrss``, so a small child of a big parent would
    report the parent's size. ``VmHWM`` belongs to the process's own memory since exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def available_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def worker_count(requested: int | None, events: int, *, sqlite_file: bool) -> int:
    """How many shard processes to rebuild the tickets view with (1: sequentially).

    ``requested`` None chooses: one per available CPU (at most :data:`MAX_WORKERS`) for a
    log of at least :data:`PARALLEL_FROM` events, else 1. A store other than a SQLite file
    is always rebuilt sequentially."""
    if not sqlite_file:
        return 1
    if requested is None:
        return min(available_cpus(), MAX_WORKERS) if events >= PARALLEL_FROM else 1
    if requested < 1:
        raise ValueError(f"workers must be at least 1, not {requested}")
    return min(requested, MAX_WORKERS)


def shard_of(stream_id: Any, shards: int) -> int:
    """The shard of a stream (a UUID): its last byte modulo ``shards`` (the SQL of
    :func:`projections.shard_worker.shard_records` computes the same from the stored id)."""
    return (int(stream_id.int) & 0xFF) % shards


@dataclass
class ShardSettings:
    """When and how views are built in shard processes: how many (``workers``; None chooses,
    see :func:`worker_count`; 1 never starts any), the interpreter, and the tickets
    projection's cache size in each (None: :data:`projections.tickets.CACHE_SIZE` shared
    out among them)."""

    workers: int | None = None
    python: str = sys.executable
    cache_size: int | None = None


@dataclass
class ShardOutcome:
    """One shard: its database, and what its process reported: events read, seconds, its
    peak memory (MiB)."""

    shard: int
    path: Path
    events: int = 0
    seconds: float = 0.0
    peak_rss_mib: float | None = None


@dataclass
class ShardedRebuild:
    """How the last rebuild of the tickets view ran: ``workers`` processes (1: in this
    process), what each reported, and why it fell back to one process if it did."""

    workers: int
    head: int = 0
    shards: list[ShardOutcome] = field(default_factory=list)
    fallback: str | None = None

    @property
    def peak_rss_mib(self) -> float:
        """The shard processes' peak memory, added up (they run at the same time)."""
        return sum(s.peak_rss_mib or 0.0 for s in self.shards)


class ShardFailedError(RuntimeError):
    """A shard process did not finish its shard."""


class ViewMovedError(RuntimeError):
    """A view was caught up by another process while the shards were built: its rows are
    that process's, and the shards' are not needed."""


class _Worker:
    """One shard process: started with its job on stdin, read from its stdout by a thread."""

    def __init__(self, job: dict[str, Any], python: str, folder: Path, shard: int) -> None:
        self.outcome = ShardOutcome(shard, Path(job["path"]))
        self.at = 0  # the position read up to
        self.done = False
        self.error_path = folder / f"shard-{shard}.err"
        self._errors = self.error_path.open("wb")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, our interpreter
                [python, "-m", "projections.shard_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                env=_child_environment(),
            )
        except OSError as error:
            self._errors.close()
            raise ShardFailedError(f"shard {shard} could not start {python}: {error}") from None
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._follow, args=(self.process.stdout,))
        self._reader.daemon = True
        self._reader.start()
        try:
            self.process.stdin.write(json.dumps(job).encode())
            self.process.stdin.close()
        except OSError:  # it died before reading its job: wait() tells
            pass

    def _follow(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if "at" in message:
                self.at = int(message["at"])
            if message.get("done"):
                self.outcome.events = int(message.get("events", 0))
                self.outcome.seconds = float(message.get("seconds", 0.0))
                peak = message.get("peak_rss_mib")
                self.outcome.peak_rss_mib = None if peak is None else float(peak)
                self.done = True

    def finished(self) -> bool:
        return self.process.poll() is not None

    def wait(self) -> None:
        """Wait for the process and its output; ShardFailedError unless it finished."""
        code = self.process.wait()
        self._reader.join()
        self._errors.close()
        if code != 0 or not self.done:
            lines = self.error_path.read_bytes().decode(errors="replace").strip().splitlines()
            reason = lines[-1] if lines else "no message"
            raise ShardFailedError(
                f"shard {self.outcome.shard} stopped (exit {code}): {reason[:500]}"
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(timeout=5)
        self._errors.close()


def build_shards(
    *,
    env: dict[str, str],
    application: str,
    views: Sequence[str],
    now: str,
    until: int,
    workers: int,
    folder: Path,
    progress: Progress | None,
    settings: ShardSettings,
) -> list[ShardOutcome]:
    """Build ``views`` from the log up to ``until`` in ``workers`` shards, each a database
    in ``folder``; returns each shard's outcome. ShardFailedError (every
    process stopped) if any shard fails."""
    started: list[_Worker] = []
    try:
        for shard in range(workers):
            job = {
                "env": env,
                "application": application,
                "views": list(views),
                "now": now,
                "shard": shard,
                "shards": workers,
                "until": until,
                "path": str(folder / f"shard-{shard}.db"),
                "cache_size": settings.cache_size,
            }
            started.append(_Worker(job, settings.python, folder, shard))
        while not all(w.finished() for w in started):
            if any(w.finished() and w.process.returncode != 0 for w in started):
                break
            if progress is not None:
                progress(sum(w.at for w in started) // len(started), until)
            time.sleep(0.1)
        # A failed shard first: the others are then stopped rather than waited for.
        for worker in sorted(started, key=lambda w: w.process.returncode in (None, 0)):
            worker.wait()
        if progress is not None:
            progress(until, until)
        return [worker.outcome for worker in started]
    finally:
        for worker in started:
            worker.stop()


def _child_environment() -> dict[str, str]:
    """This process's environment, with this package findable however it was imported."""
    root = str(Path(__file__).resolve().parent.parent)
    environment = dict(os.environ)
    path = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = root if not path else f"{root}{os.pathsep}{path}"
    return environment


def scratch_folder(store_file: str) -> Path:
    """A folder for the shard databases beside the store's file (the same file system, and
    room where the views will be anyway)."""
    parent = Path(store_file).resolve().parent
    return Path(tempfile.mkdtemp(prefix=".deskledger-rebuild-", dir=parent))
