"""The composition root: settings (or a store URL) and clocks in, a ready :class:`Desk` out."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from adapters.clock import SystemClock
from adapters.logging import get_logger
from adapters.settings import Settings
from adapters.stores import (
    StoreUnavailableError,
    prepared_store,
    redacted,
    snapshot_lister,
    store_env,
)
from engine.application import Desk
from engine.clock import Clock

if TYPE_CHECKING:
    from projections.queries import Queries


def open_desk(
    store: str | Settings | None = None,
    *,
    clock: Clock | None = None,
    wall_clock: Clock | None = None,
) -> Desk:
    """Open the store given by URL, by :class:`Settings`, or by the environment (README.md).

    ``clock`` gives business time to commands without an explicit ``at`` (default: the
    system clock); ``wall_clock`` stamps ``recorded_at`` (default: the system clock).
    """
    url = store.store if isinstance(store, Settings) else store or Settings.load().store
    env = store_env(url)
    system = SystemClock()
    try:
        with prepared_store(url, env, Desk.name) as ready:
            desk = Desk(ready, clock=clock or system, wall_clock=wall_clock or system)
    except PersistenceError as error:
        raise StoreUnavailableError(f"store {redacted(url)!r} is unavailable: {error}") from error
    desk.on_snapshot_ignored = _log_ignored_snapshot
    desk.snapshot_streams = snapshot_lister(desk.snapshots)
    return desk


def _log_ignored_snapshot(stream: UUID, version: int, why: str) -> None:
    """A read skipped a snapshot and rebuilt the ticket from its events: say so."""
    get_logger("deskledger.snapshots").warning(
        "snapshot.ignored", stream=str(stream), version=version, reason=why
    )


def open_read_side(
    store: str | Settings | None = None, *, clock: Clock | None = None
) -> tuple[Desk, Queries]:
    """The store and the one query layer over its views (caught up on every query)."""
    from projections.queries import Queries  # noqa: PLC0415 - only reads need the views
    from projections.views import open_views  # noqa: PLC0415

    desk = open_desk(store, clock=clock)
    return desk, Queries(open_views(desk))
