"""``deskledger``: the command line (docs/cli.md). See :mod:`adapters.cli.errors` for exit codes
and the error schema, :mod:`adapters.cli.parser` for the commands."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from adapters.cli import errors
from adapters.cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNAVAILABLE, UsageError

# Submodules are attributes of this package once imported (``adapters.cli.report`` is a
# command's module), so the error reporter is reached through its module, never by a bare
# name a submodule import could rebind.


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code. Never raises for a DeskLedger error."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in _options(arguments)
    try:
        _check_encoding(arguments)
        from adapters.cli.parser import build_parser  # noqa: PLC0415

        args = build_parser(arguments).parse_args(arguments)
        wants_json = bool(getattr(args, "json", False))
        return _run(args)
    except BrokenPipeError:
        # The reader went away (``deskledger export | head``): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - every error ends as one line and an exit code
        return _failed(error, wants_json)


def _run(args: Any) -> int:
    from adapters.cli.args import log_level  # noqa: PLC0415
    from adapters.logging import configure_logging  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415

    settings = Settings.load(
        store=args.store, nats_url=getattr(args, "nats_url", None), log_level=args.log_level
    )
    configure_logging(log_level(settings.log_level), file=settings.log_file)
    module, _, name = str(args.handler).partition(":")
    handler: Callable[[Any, Settings], int] = getattr(importlib.import_module(module), name)
    return int(handler(args, settings))


def _failed(error: Exception, as_json: bool) -> int:
    import sqlite3  # noqa: PLC0415 - only to recognise its errors

    from eventsourcing.persistence import PersistenceError  # noqa: PLC0415

    from engine.errors import DeskLedgerError  # noqa: PLC0415

    if isinstance(error, DeskLedgerError):
        return errors.report(error, as_json=as_json)
    if isinstance(error, PersistenceError | sqlite3.Error):
        return errors.report(error, as_json=as_json, code=EXIT_UNAVAILABLE)
    # A bug of ours: still one line and an exit code, with the details in the log.
    from adapters.logging import get_logger  # noqa: PLC0415

    get_logger("deskledger.cli").debug("cli.internal_error", exc_info=error)
    internal = RuntimeError(f"internal error ({type(error).__name__}: {error}); please report it")
    return errors.report(internal, as_json=as_json, code=1)


def _options(arguments: list[str]) -> list[str]:
    """The arguments before ``--`` (after it, ``--json`` is a value, not the flag)."""
    return arguments[: arguments.index("--")] if "--" in arguments else arguments


def _check_encoding(arguments: list[str]) -> None:
    """Arguments must be text: bytes that are not UTF-8 are named, not stored. (NUL cannot
    come from a command line, only from a program calling :func:`main`; no file name or
    stored text may hold it either.)"""
    for index, argument in enumerate(arguments, start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError as error:
            raise UsageError(
                f"argument {index} is not valid UTF-8 text (at character {error.start})"
            ) from None
        if "\x00" in argument:
            raise UsageError(f"argument {index} contains a NUL character")


def entrypoint() -> None:
    sys.exit(main())


__all__ = ["entrypoint", "main"]
