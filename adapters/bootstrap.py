"""Everything is wired here: a store URL and clocks in, a ready :class:`Desk` out."""

from __future__ import annotations

from eventsourcing.persistence import PersistenceError

from adapters.clock import SystemClock
from adapters.stores import (
    StoreUnavailableError,
    prepared_store,
    redacted,
    store_env,
    store_url,
)
from engine.application import Desk
from engine.clock import Clock


def open_desk(
    url: str | None = None, *, clock: Clock | None = None, wall_clock: Clock | None = None
) -> Desk:
    """Open the store at ``url`` (``--store``/``DESKLEDGER_STORE``/default SQLite file).

    ``clock`` gives business time to commands without an explicit ``at`` (default: the
    system clock); ``wall_clock`` stamps ``recorded_at`` (default: the system clock).
    """
    resolved = store_url(url)
    env = store_env(resolved)
    system = SystemClock()
    try:
        with prepared_store(resolved, env, Desk.name) as ready:
            return Desk(ready, clock=clock or system, wall_clock=wall_clock or system)
    except PersistenceError as error:
        raise StoreUnavailableError(
            f"store {redacted(resolved)!r} is unavailable: {error}"
        ) from error
