"""Following the log continuously: ``deskledger projections run``.

On PostgreSQL the follower LISTENs on the channel eventsourcing's recorder NOTIFYs on every
save, and each notification wakes a catch-up that applies everything new in batches (the
views' rows and position commit together). The library's projection runner applies one event
per transaction: at a steady 500 events/s that fell behind by seconds and kept falling
(``make bench``'s lag figure); batches keep the lag at one catch-up. Stores without
notifications (SQLite, memory) are followed by polling.

Two followers on one store never apply an event twice (each batch locks and checks its
view's tracking position), and either may be killed at any moment.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from adapters.logging import get_logger
from projections.backend import backend_of
from projections.views import DeskViews

log = get_logger("deskledger.projections")

POLL_SECONDS = 0.2


def follow(views: DeskViews, stop: threading.Event) -> None:
    """Keep ``views`` up to date with the log until ``stop`` is set."""
    caught = views.catch_up()
    log.info("projections.caught_up", events=caught, positions=views.positions())
    if backend_of(views.desk.recorder) != "postgres":
        _poll(views, stop)
        return
    _listen(views, stop)


def _listen(views: DeskViews, stop: threading.Event) -> None:
    """Catch up whenever the store notifies a save (and every POLL_SECONDS regardless, should
    a notification be missed)."""
    from psycopg.sql import SQL, Identifier  # noqa: PLC0415 - PostgreSQL stores only

    recorder: Any = views.desk.recorder
    try:
        with recorder.datastore.get_connection() as connection:  # autocommit: LISTEN is live
            connection.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))
            log.info("projections.following", views=list(views.projections), mode="listen/notify")
            while not stop.is_set():
                for _ in connection.notifies(timeout=POLL_SECONDS, stop_after=1):
                    pass
                count = views.catch_up()
                if count:
                    log.info("projections.applied", events=count, positions=views.positions())
    finally:
        log.info("projections.stopped", positions=views.positions())


def _poll(views: DeskViews, stop: threading.Event) -> None:
    log.info("projections.following", views=list(views.projections), mode="polling")
    while not stop.wait(POLL_SECONDS):
        count = views.catch_up()
        if count:
            log.info("projections.applied", events=count, positions=views.positions())
    log.info("projections.stopped", positions=views.positions())


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
    return stop


Runner = Callable[..., Any]
