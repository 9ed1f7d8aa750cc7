"""Structured logs (structlog): JSON when not on a terminal, readable when they are.

Logs go to stderr, or to a file (``DESKLEDGER_LOG_FILE``) — never to stdout, which carries the
command's output. Every event names what it is about (``ticket``, ``position``...).
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

import structlog


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the write (test runners and
    embedding products swap it; binding the stream at configure time would outlive it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(
    level: str = "INFO", *, json: bool | None = None, file: str | None = None
) -> None:
    """Configure structlog for the process: ``level`` and above, to stderr or ``file``.

    ``json`` forces the renderer; by default logs are JSON unless they go to a terminal.
    """
    stream: Any = _CurrentStderr()
    if file is not None:
        stream = _open_log(file)
    as_json = (not stream.isatty()) if json is None else json
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def _open_log(path: str) -> IO[str]:
    from engine.errors import DeskLedgerError  # noqa: PLC0415

    try:
        return open(path, "a", encoding="utf-8", buffering=1)
    except OSError as error:
        raise DeskLedgerError(f"log file {path}: {error.strerror or error}") from None
