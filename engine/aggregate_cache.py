"""Tickets this process saved, kept in memory so the next command on them does not replay them.

A command's cost would otherwise grow with its ticket's history: loading replays every event
since the last snapshot. The application service keeps the aggregates it just saved here,
each with the *log head* (the store's highest position, :mod:`engine.policy_versions`) at
which it was known to be current. A command that reads the same head finds its ticket as
it was left, without any read; when the head moved, the ticket is brought up to date with the
events its stream got since (one indexed read, usually of nothing), exactly as the library's
own aggregate cache fast-forwards.

The object itself is lent, not shared: :meth:`AggregateCache.take` removes it, and only a
unit of work that committed puts it back. A command that fails, or loses a write race, drops
its half-changed object; the next one loads the ticket from the store.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any
from uuid import UUID

#: How many aggregates a Desk keeps (least recently saved ones go first).
CACHED_AGGREGATES = 4096


class AggregateCache:
    """Aggregates by id, each with the log head at which it was current (LRU-bounded)."""

    def __init__(self, maxsize: int = CACHED_AGGREGATES) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[UUID, tuple[Any, int]] = OrderedDict()
        self._lock = Lock()

    def take(self, aggregate_id: UUID) -> tuple[Any, int] | None:
        """The aggregate and the head it was current at, removed from the cache."""
        with self._lock:
            return self._entries.pop(aggregate_id, None)

    def put(self, aggregate: Any, head: int) -> None:
        """Keep ``aggregate``, current as of the log's position ``head``."""
        with self._lock:
            self._entries[aggregate.id] = (aggregate, head)
            self._entries.move_to_end(aggregate.id)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
