"""The read side of one store: its views, kept up to date from the log.

:func:`open_views` puts the views beside the store's events (the same SQLite file or
PostgreSQL schema; an in-memory SQLite database for ``memory://``). :meth:`DeskViews.catch_up`
reads the log from each view's tracking position and applies what is new in batches (every
CLI read does it first, so a command followed by a read always shows its effect);
:meth:`DeskViews.rebuild` drops views and rebuilds them from the log.

:class:`~projections.reading.ReadSide` is what the query layer
(:class:`projections.queries.Queries`) reads: :class:`DeskViews` for a store, and the same
two views maintained elsewhere (a replica fed over NATS, ``adapters.nats.replica``) by the
same projections.
"""

from __future__ import annotations

import shutil
import uuid
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import OperationalError, ProgrammingError, Tracking

from engine.application import Desk
from engine.ids import ticket_id
from engine.loading import history
from projections import shards
from projections.backend import backend_of
from projections.tables import AuditStore, TicketsStore

if TYPE_CHECKING:
    from engine.calendar import BusinessCalendar
    from projections.audit import AuditProjection
    from projections.feed import Item
    from projections.tickets import TicketsProjection

VIEW_NAMES = ("tickets", "audit")
#: Events per transaction when catching up or rebuilding.
BATCH = 2000
#: A view filled from nothing with at least this many events gets its secondary indexes
#: built once at the end (:meth:`~projections.store.ViewStore.defer_indexes`), not row by
#: row: 14% of a one-process rebuild of 1M events on SQLite. Below it, the indexes stay, and
#: on PostgreSQL, where keeping them up to date costs less than building them at the end.
DEFER_INDEXES_FROM = 10_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ViewStatus:
    """Where a view stands: its tracking position and how far it is behind the log."""

    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)

    def as_dict(self) -> dict[str, object]:
        return {"view": self.name, "position": self.position, "head": self.head, "lag": self.lag}


class DeskViews:
    """The views of one store and the projections that maintain them (a
    :class:`~projections.reading.ReadSide`)."""

    def __init__(self, desk: Desk, tickets: TicketsStore, audit: AuditStore) -> None:
        self.desk = desk
        self.tickets = tickets
        self.audit = audit
        self._ready = False
        #: How the last :meth:`rebuild` ran (its shard processes, a fallback's reason).
        self.last_rebuild: shards.ShardedRebuild | None = None
        #: How a parallel rebuild starts its shard processes.
        self.shard_settings = shards.ShardSettings()

    @cached_property
    def projections(self) -> dict[str, TicketsProjection | AuditProjection]:
        """The projections that maintain the views (built the first time events are to be
        applied: a read of views that are up to date needs none of them)."""
        from projections.audit import AuditProjection  # noqa: PLC0415
        from projections.tickets import TicketsProjection  # noqa: PLC0415
        from projections.world import StoreWorld  # noqa: PLC0415

        return {
            "tickets": TicketsProjection(self.tickets, world=StoreWorld(self.desk)),
            "audit": AuditProjection(self.audit),
        }

    @property
    def application(self) -> str:
        return self.desk.name

    def now(self) -> datetime:
        return self.desk.clock.now()

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        return self.desk.calendar(version, name)

    def history(self, ref: str) -> Iterator[Any]:
        return history(self.desk.events, ticket_id(ref), ref)

    def stores(self) -> dict[str, TicketsStore | AuditStore]:
        """Each view's store, by the view's name."""
        return {"tickets": self.tickets, "audit": self.audit}

    def ensure(self) -> None:
        """Create the views' tables on first use (once; concurrent creators are safe),
        rebuild from the log a view that an older version built with fewer columns, and
        build the indexes of a view whose rebuild stopped before building them."""
        if self._ready:
            return
        for store in self.stores().values():
            try:
                store.max_tracking_id(self.application)
            except (OperationalError, ProgrammingError):
                store.create()
            else:
                if store.outdated():
                    store.drop()
                    store.create()
                    forget = getattr(self.projections[store.view], "forget", None)
                    if forget is not None:  # the tickets projection's cache
                        forget()
                elif store.missing_indexes():
                    store.create()
        self._ready = True

    def positions(self) -> dict[str, int]:
        self.ensure()
        stores = self.stores()
        return {name: stores[name].max_tracking_id(self.application) or 0 for name in VIEW_NAMES}

    def status(self) -> list[ViewStatus]:
        head = self.desk.recorder.max_notification_id() or 0
        return [ViewStatus(name, pos, head) for name, pos in self.positions().items()]

    def catch_up(
        self, *, progress: Progress | None = None, batch: int = BATCH, workers: int | None = None
    ) -> int:
        """Apply every event the views have not seen; returns how many events were read.

        Views built from nothing (a rebuild, the first read of a store, views an older
        version built) on a SQLite file store are built by shard processes, one share of
        the tickets each (:mod:`projections.shards`): ``workers`` of them (None: as
        :attr:`shard_settings` says, by default one per CPU for logs of 50,000 events or
        more; 1: in this process). :attr:`last_rebuild` tells how it ran."""
        positions = self.positions()
        head = self.desk.recorder.max_notification_id() or 0
        if min(positions.values()) >= head:
            return 0
        done = 0
        empty = [name for name, position in positions.items() if position == 0]
        if "tickets" in empty:
            done = self._in_shards(empty, head, progress, workers)
            if done:
                positions = self.positions()
        return done + self._apply(positions, progress, batch)

    def _apply(self, positions: dict[str, int], progress: Progress | None, batch: int) -> int:
        """Apply the events after each view's position, in this process."""
        head = self.desk.recorder.max_notification_id() or 0
        start = min(positions.values())
        if start >= head:
            return 0
        from projections.collection import per_batch  # noqa: PLC0415 - only when behind
        from projections.feed import read_items  # noqa: PLC0415

        filled = [name for name, position in positions.items() if position == 0]
        stores = self.stores()
        deferred = [
            stores[name]
            for name in filled
            if stores[name].dialect.name == "sqlite" and head - start >= DEFER_INDEXES_FROM
        ]
        for store in deferred:
            store.defer_indexes(head)
        done = 0
        with per_batch() as collector:
            for items in read_items(
                self.desk.recorder, self.desk.mapper, self.application, start, page=batch
            ):
                self._feed(items, positions)
                done += len(items)
                collector.done()
                if progress is not None:
                    progress(items[-1][1].notification_id - start, head - start)
        for store in deferred:  # built by the batch that reached the head, normally
            store.build_indexes()
        for name in filled:  # built from nothing: the planner's statistics say "empty"
            self.projections[name].view.analyse()
        return done

    def _feed(self, items: Sequence[Item], positions: dict[str, int]) -> None:
        keys = [tracking.notification_id for _, tracking in items]
        for name, projection in self.projections.items():
            fresh = items[bisect_right(keys, positions[name]) :]
            if fresh:
                projection.process_batch(fresh)
                positions[name] = fresh[-1][1].notification_id

    def rebuild(
        self,
        names: Sequence[str] = VIEW_NAMES,
        *,
        progress: Progress | None = None,
        workers: int | None = None,
    ) -> int:
        """Drop the named views and rebuild them from the whole log; returns how many
        events were read (``workers``: as :meth:`catch_up`)."""
        for name in names:
            projection = self.projections[name]
            projection.view.drop()
            projection.view.create()
            forget = getattr(projection, "forget", None)  # the tickets projection's cache
            if forget is not None:
                forget()
        self._ready = True
        return self.catch_up(progress=progress, workers=workers)

    def _sqlite_file(self) -> str | None:
        """The store's SQLite file, if the views live in one."""
        datastore: Any = getattr(self.tickets, "datastore", None)
        pool: Any = getattr(datastore, "pool", None)
        if backend_of(self.desk.recorder) != "sqlite" or pool is None:
            return None
        if pool.is_sqlite_memory_mode or not pool.db_name:
            return None
        return str(pool.db_name)

    def _in_shards(
        self, names: Sequence[str], head: int, progress: Progress | None, workers: int | None
    ) -> int:
        """The named (empty) views built up to ``head`` by shard processes, if the store
        and the log call for them; returns how many events the shards read (0: none ran,
        or they failed and nothing of theirs was kept)."""
        file = self._sqlite_file()
        wanted = workers if workers is not None else self.shard_settings.workers
        count = shards.worker_count(wanted, head, sqlite_file=file is not None)
        outcome = self.last_rebuild = shards.ShardedRebuild(workers=count, head=head)
        if count < 2 or file is None:
            return 0
        env = dict(self.desk.env)
        env["SQLITE_DBNAME"] = str(Path(file).resolve())
        env["CREATE_TABLE"] = "false"
        try:
            folder = shards.scratch_folder(file)
        except OSError as error:  # a read-only directory, a full disk: one process then
            outcome.fallback = f"no room for the shards beside the store: {error}"
            return 0
        try:
            built = shards.build_shards(
                env=env,
                application=self.application,
                views=names,
                now=self.now().isoformat(),
                until=head,
                workers=count,
                folder=folder,
                progress=progress,
                settings=self.shard_settings,
            )
            outcome.shards = built
            tracking = Tracking(self.application, head)
            for name in names:  # SQLite views (only SQLite stores are sharded)
                absorb = getattr(self.projections[name].view, "absorb")  # noqa: B009
                try:
                    absorb([shard.path for shard in built], tracking)
                except shards.ViewMovedError as moved:  # its rows come from elsewhere
                    outcome.fallback = str(moved)
        except shards.ShardFailedError as error:
            outcome.fallback = str(error)
            return 0
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return sum(s.events for s in outcome.shards)


def open_views(desk: Desk) -> DeskViews:
    """The views of ``desk``'s store, beside its events (backends imported on demand)."""
    recorder: Any = desk.recorder
    backend = backend_of(recorder)
    if backend == "postgres":
        from projections.postgres import PostgresAuditView, PostgresTicketsView  # noqa: PLC0415

        datastore = recorder.datastore
        return DeskViews(desk, PostgresTicketsView(datastore), PostgresAuditView(datastore))
    from eventsourcing.sqlite import SQLiteDatastore  # noqa: PLC0415

    from projections.sqlite import SQLiteAuditView, SQLiteTicketsView  # noqa: PLC0415

    if backend == "sqlite":
        datastore = recorder.datastore
    else:  # memory:// — the views live in an in-memory SQLite database of their own
        name = f"file:deskledger-views-{uuid.uuid4().hex}?mode=memory&cache=shared"
        datastore = SQLiteDatastore(name)
    return DeskViews(desk, SQLiteTicketsView(datastore), SQLiteAuditView(datastore))
