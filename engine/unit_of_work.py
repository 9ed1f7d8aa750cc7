"""The unit of work: the aggregates one piece of work loaded or created, saved together.

An identity map (one object per aggregate id) in front of the application's repository:
:meth:`UnitOfWork.get` loads an aggregate once, every later ``get`` returns the same object;
:meth:`UnitOfWork.commit` saves every pending event of every aggregate in one transaction;
:meth:`UnitOfWork.rollback` forgets them. A bulk unit of work (an import) runs many commands;
each runs inside a :meth:`UnitOfWork.savepoint`, so a command that fails takes back only its
own effects and the work goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Recording

from engine.chain import Chained, LedgerEvent

Loader = Callable[[UUID], Chained | None]
Saver = Callable[..., list[Recording[UUID]]]
History = Callable[[UUID], Iterable[Any]]


class Savepoint:
    """:meth:`UnitOfWork.savepoint`'s context manager, a class: every command of an import
    enters one, and a generator-based context manager cost it three times as much."""

    __slots__ = ("_marks", "_outer", "_unit")

    def __init__(self, unit: UnitOfWork) -> None:
        self._unit = unit
        self._outer: dict[UUID, int | None] | None = None
        self._marks: dict[UUID, int | None] = {}

    def __enter__(self) -> dict[UUID, int | None]:
        unit = self._unit
        self._outer, unit._marks = unit._marks, self._marks
        return self._marks

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        unit, marks, outer = self._unit, self._marks, self._outer
        try:
            if kind is not None:
                unit._restore(marks)
        finally:
            unit._marks = outer
            if outer is not None:
                for key, mark in marks.items():
                    outer.setdefault(key, mark)


class UnitOfWork:
    """Aggregates loaded or created in one piece of work, saved in one transaction."""

    def __init__(self, load: Loader, save: Saver, history: History) -> None:
        self._load = load
        self._save = save
        self._history = history
        self._map: dict[UUID, Chained | None] = {}
        self._marks: dict[UUID, int | None] | None = None
        self._absent: set[UUID] = set()
        self.discarded = False
        #: The log's head when this piece of work began (None: not read; a bulk unit), and
        #: the position since which the log held only this process's own events then.
        self.head: int | None = None
        self.own_since: int | None = None

    # ------------------------------------------------------------------ identity map

    def get(self, aggregate_id: UUID) -> Chained | None:
        """The aggregate (loaded once, then the same object), or None if it does not exist."""
        if aggregate_id not in self._map:
            absent = aggregate_id in self._absent
            self._map[aggregate_id] = None if absent else self._load(aggregate_id)
            if self._marks is not None:  # loaded by this command: forgotten if it fails
                self._marks.setdefault(aggregate_id, None)
        aggregate = self._map[aggregate_id]
        self._mark(aggregate_id, aggregate)
        return aggregate

    def know_absent(self, aggregate_ids: Iterable[UUID]) -> None:
        """Aggregates the store was found not to hold (asked for many at once): ``get``
        answers None for them without a read (unless this unit has added one since)."""
        self._absent.update(aggregate_ids)

    def peek(self, aggregate_id: UUID) -> Chained | None:
        """The aggregate if this unit of work holds it already (never loads)."""
        return self._map.get(aggregate_id)

    def add(self, aggregate: Chained) -> None:
        """A new aggregate (its pending events are saved on commit)."""
        if self._marks is not None:
            self._marks.setdefault(aggregate.id, None)
        self._map[aggregate.id] = aggregate

    def _mark(self, aggregate_id: UUID, aggregate: Chained | None) -> None:
        if self._marks is not None and aggregate is not None:
            self._marks.setdefault(aggregate_id, len(aggregate.pending_events))

    def held(self) -> list[Chained]:
        """Every aggregate this unit of work loaded or created."""
        return [a for a in self._map.values() if a is not None]

    @property
    def pending(self) -> list[Chained]:
        return [a for a in self._map.values() if a is not None and a.pending_events]

    # ------------------------------------------------------------------ savepoints

    def savepoint(self) -> Savepoint:
        """Run one command: if it raises, the aggregates it touched are as before it.

        Yields the marks (aggregate id → pending events before the command, None if the
        command created it), from which :meth:`events_since` lists what the command recorded.
        """
        return Savepoint(self)

    def events_since(self, marks: dict[UUID, int | None]) -> list[LedgerEvent]:
        """The events recorded since ``marks`` were taken, aggregate by aggregate."""
        recorded: list[LedgerEvent] = []
        for key, mark in marks.items():
            aggregate = self._map.get(key)
            if aggregate is not None:
                recorded.extend(aggregate.pending_events[mark or 0 :])  # type: ignore[arg-type]
        return recorded

    def _restore(self, marks: dict[UUID, int | None]) -> None:
        for key, mark in marks.items():
            aggregate = self._map.get(key)
            if aggregate is None:
                continue
            if mark is None:
                del self._map[key]
                continue
            pending = list(aggregate.pending_events)
            if len(pending) == mark:
                continue
            # Mutators cannot be undone: rebuild from the stored events and the pending ones
            # that came before the failed command.
            state: Any = None
            for event in [*self._history(key), *pending[:mark]]:
                state = event.mutate(state)
            state.pending_events.extend(pending[:mark])
            self._map[key] = state

    # ------------------------------------------------------------------ ending

    def commit(self) -> list[Recording[UUID]]:
        """Save every pending event in one transaction (IntegrityError on a write race)."""
        pending = self.pending
        recordings = self._save(*pending) if pending else []
        self._map.clear()
        self._absent.clear()
        return recordings

    def rollback(self) -> None:
        """Forget everything: nothing of this unit of work is written."""
        self._map.clear()
        self._absent.clear()

    def discard(self) -> None:
        """Decide that this unit of work writes nothing (a bulk job that found bad input)."""
        self.rollback()
        self.discarded = True
