"""What one process knows of its store's log: since which position it holds only its own writes.

Every event any process records gets a position greater than those of all events recorded
before it (eventsourcing serialises inserts: SQLite has one writer, PostgreSQL's inserts lock
the table), so the log's *head* — its highest position, one indexed read — says whether anything
was written since a process last looked. The application service reads it once per command
and tells :class:`LogHead`; after a commit it tells which positions its own events got.

:meth:`LogHead.observe` answers the question the caches ask: the position *since* which every
event in the log is this process's own. A cached value known to be current at a position at
or after it is still current — no other process wrote anything since, and this process keeps
its caches up to date with its own writes. The current policy version
(:mod:`engine.policy_versions`) and the tickets a Desk saved (:mod:`engine.aggregate_cache`)
are checked this way. A gap (another writer's events between two of ours, or positions a
failed insert used up) only makes the caches read again.
"""

from __future__ import annotations

from threading import Lock
from typing import Protocol


class HeadReader(Protocol):
    """Reads the log's head (its highest position, 0 when empty) some cheaper way than the
    recorder; closed with the desk."""

    def __call__(self) -> int: ...

    def close(self) -> None: ...


class LogHead:
    """The last head this process saw, and since when the log holds only its own writes."""

    def __init__(self) -> None:
        self._seen: int | None = None
        self._own_since: int | None = None
        self._lock = Lock()

    def observe(self, head: int) -> int:
        """A command read the log's head: the position since which the log holds nothing
        but this process's own events (``head`` itself when someone else wrote since)."""
        with self._lock:
            if head != self._seen or self._own_since is None:
                self._seen = self._own_since = head
            return self._own_since

    def wrote(self, positions: list[int]) -> None:
        """This process committed events at ``positions`` (ascending, those of one commit)
        and kept its caches up to date with them."""
        if not positions:
            return
        with self._lock:
            if self._seen is not None and positions[0] == self._seen + 1:
                self._seen = positions[-1]
            else:  # someone else's events (or a gap) before ours
                self._seen = self._own_since = positions[-1]
