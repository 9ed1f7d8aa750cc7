"""Structured logs (structlog): JSON when not on a terminal, readable when they are.

Logs go to stderr, or to a file (``DESKLEDGER_LOG_FILE``) — never to stdout, which carries the
command's output. Every event names what it is about (``ticket``, ``position``...).

Loggers come from :func:`get_logger`. Importing structlog costs a command line more than many
commands take (it loads rich's traceback and pretty-printing modules), so a command that
logs nothing never imports it: :func:`configure_logging` only notes the configuration until
structlog is loaded, and the first logger that is used applies it.
"""

from __future__ import annotations

import sys
from threading import Lock
from typing import IO, Any

_pending: tuple[str, bool | None, Any] | None = None
_lock = Lock()


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
    When structlog is not loaded yet, the configuration is applied by the first logger used.
    """
    global _pending  # noqa: PLW0603 - the process's one logging configuration
    stream: Any = _CurrentStderr() if file is None else _open_log(file)
    with _lock:
        if "structlog" in sys.modules:
            _pending = None
            _configure(level, json, stream)
        else:
            _pending = (level, json, stream)


def _configure(level: str, json: bool | None, stream: Any) -> None:
    import logging  # noqa: PLC0415 - for its level names only

    import structlog  # noqa: PLC0415 - loaded by the first command that logs

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


def _apply_pending() -> None:
    global _pending  # noqa: PLW0603 - the process's one logging configuration
    with _lock:
        if _pending is not None:
            level, json, stream = _pending
            _pending = None
            _configure(level, json, stream)


class _Logger:
    """A structlog logger that loads (and configures) structlog when first used."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            _apply_pending()
            import structlog  # noqa: PLC0415 - loaded by the first command that logs

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)


def get_logger(name: str) -> Any:
    """A logger named ``name`` (``deskledger.relay``...): structlog's, loaded on first use."""
    return _Logger(name)


def _open_log(path: str) -> IO[str]:
    from engine.errors import DeskLedgerError  # noqa: PLC0415

    try:
        return open(path, "a", encoding="utf-8", buffering=1)
    except OSError as error:
        raise DeskLedgerError(f"log file {path}: {error.strerror or error}") from None
