"""Following the log continuously: ``deskledger projections run``.

On PostgreSQL each view is followed by eventsourcing's own projection runner, whose
subscription wakes on the store's LISTEN/NOTIFY, one event per transaction (asynchronous
commit; the view's rows and position commit together). Before the runners start, the views
catch up in large batches, so a long backlog is not replayed one transaction at a time.
Stores without notifications (SQLite, memory) are followed by polling.

Two followers on one store never apply an event twice (each batch locks and checks its
view's tracking position), and either may be killed at any moment.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from types import FrameType
from typing import Any

from eventsourcing.projection import BaseProjectionRunner

from adapters.clock import SystemClock
from adapters.logging import get_logger
from engine.application import Desk
from projections.backend import backend_of
from projections.views import DeskViews

log = get_logger("deskledger.projections")

POLL_SECONDS = 0.2


class FollowerDesk(Desk):
    """The application the library's runner constructs from the store's settings."""

    # The store's name, not the class's (eventsourcing names a subclass after itself): it
    # names the events table the runner reads and the views' tracking rows.
    name = Desk.name

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env, clock=SystemClock())


def follow(views: DeskViews, env: Mapping[str, str], stop: threading.Event) -> None:
    """Keep ``views`` up to date with the log until ``stop`` is set."""
    caught = views.catch_up()
    log.info("projections.caught_up", events=caught, positions=views.positions())
    if backend_of(views.desk.recorder) != "postgres":
        _poll(views, stop)
        return
    # A runner follows only once entered: entering starts its subscription (LISTEN), and
    # leaving stops it and joins its threads.
    try:
        with ExitStack() as stack:
            runners = [
                stack.enter_context(
                    BaseProjectionRunner(
                        projection=projection,
                        application_class=FollowerDesk,
                        tracking_recorder=projection.view,
                        topics=(),
                        env=dict(env),
                    )
                )
                for projection in views.projections.values()
            ]
            log.info("projections.following", views=list(views.projections), mode="listen/notify")
            while not stop.wait(0.5):
                for runner in runners:
                    runner.run_forever(timeout=0)  # re-raises a runner's error
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
