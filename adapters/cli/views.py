"""The views themselves: ``rebuild`` them from the log, see where they stand
(``projections status``), or keep them up to date (``projections run``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from adapters.cli import render
from adapters.cli.errors import EXIT_OK, UsageError
from adapters.settings import Settings

if TYPE_CHECKING:
    from projections.views import DeskViews


def _views(settings: Settings) -> DeskViews:
    from adapters.bootstrap import open_desk  # noqa: PLC0415
    from projections.views import open_views  # noqa: PLC0415

    return open_views(open_desk(settings))


def rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from projections.shards import MAX_WORKERS  # noqa: PLC0415
    from projections.views import VIEW_NAMES  # noqa: PLC0415

    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        raise UsageError(f"--workers: {args.workers} is not between 1 and {MAX_WORKERS}")
    views = _views(settings)
    names = [args.view] if args.view else list(VIEW_NAMES)
    with _progress(f"rebuilding {', '.join(names)}") as progress:
        count = views.rebuild(names, progress=progress, workers=args.workers)
    statuses = [s.as_dict() for s in views.status()]
    outcome = views.last_rebuild
    workers = 1 if outcome is None else outcome.workers
    fallback = None if outcome is None else outcome.fallback
    if fallback is not None:
        from adapters.logging import get_logger  # noqa: PLC0415

        get_logger("deskledger.views").warning(
            "views.rebuild_fell_back", workers=workers, reason=fallback
        )
    if args.json:
        render.emit_json(
            {
                "rebuilt": names,
                "events": count,
                "workers": 1 if fallback else workers,
                "fallback": fallback,
                "views": statuses,
            }
        )
    else:
        processes = f" in {workers} processes" if workers > 1 and not fallback else ""
        render.line(f"rebuilt {', '.join(names)} from {count} events{processes}")
    return EXIT_OK


def projections(args: argparse.Namespace, settings: Settings) -> int:
    views = _views(settings)
    if args.action == "run":
        from adapters.followers import follow, stop_on_signals  # noqa: PLC0415

        follow(views, stop_on_signals())
        return EXIT_OK
    statuses = views.status()
    if args.json:
        render.emit_json([s.as_dict() for s in statuses])
    else:
        render.show(
            render.table(
                "projections",
                ("view", "position", "log head", "lag (events)"),
                ((s.name, s.position, s.head, s.lag) for s in statuses),
            )
        )
    return EXIT_OK


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal (none when output is piped)."""
    console = render.stderr()
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn  # noqa: PLC0415

    with Progress(
        "{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
