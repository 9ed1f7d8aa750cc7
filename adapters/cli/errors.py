"""The one error schema and exit-code map of every command (docs/cli.md).

=====  =======================================================================
exit   meaning
=====  =======================================================================
0      success
1      a check failed: ``verify`` found a problem, a scenario expectation failed,
       a stored event cannot be read (run ``verify``)
2      bad input: an invalid command, transition, argument, file or policy (nothing written)
3      infrastructure unavailable: the store or NATS cannot be reached
=====  =======================================================================

An error is one line on stderr, ``deskledger: error: <message>``; with ``--json`` it is one
JSON object: ``{"error": {"type", "message", "exit_code", ...facts}}`` where the facts are
whichever of ``ref``, ``state``, ``command``, ``field``, ``path``, ``position``, ``line``
and ``command_id`` the error carries. A closed pipe (``deskledger export | head``) is not an
error: the command stops quietly.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from engine.errors import DeskLedgerError, UnavailableError, UnreadableEventError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3
EXIT_INTERRUPTED = 130

FACTS = ("ref", "state", "command", "field", "path", "position", "line", "command_id")


class UsageError(DeskLedgerError, ValueError):
    """A command-line argument is missing or invalid."""


def exit_code(error: BaseException) -> int:
    """The exit code an error ends a command with."""
    from eventsourcing.persistence import PersistenceError  # noqa: PLC0415 - lazy for start-up

    from adapters.nats import UnpublishableEventError  # noqa: PLC0415 - never loads nats-py

    if isinstance(error, UnreadableEventError | UnpublishableEventError):
        return EXIT_CHECK_FAILED
    if isinstance(error, UnavailableError | PersistenceError):
        return EXIT_UNAVAILABLE
    if isinstance(error, DeskLedgerError):
        return EXIT_BAD_INPUT
    raise TypeError(f"not a DeskLedger error: {error!r}")  # pragma: no cover


def payload(error: BaseException, code: int) -> dict[str, Any]:
    """The JSON form of an error."""
    body: dict[str, Any] = {
        "type": type(error).__name__,
        "message": _one_line(error),
        "exit_code": code,
    }
    for fact in FACTS:
        value = getattr(error, fact, None)
        if value is not None:
            body[fact] = value if isinstance(value, int | str) else str(value)
    return {"error": body}


def report(error: BaseException, *, as_json: bool, code: int | None = None) -> int:
    """Write the error to stderr (one line, or JSON) and return its exit code."""
    code = exit_code(error) if code is None else code
    if as_json:
        sys.stderr.write(json.dumps(payload(error, code), ensure_ascii=False, default=str) + "\n")
    else:
        from adapters.cli.render import safe  # noqa: PLC0415

        sys.stderr.write(f"deskledger: error: {safe(_one_line(error))}\n")
    return code


def _one_line(error: BaseException) -> str:
    message = str(error).replace("\r\n", " ").replace("\n", " ").replace("\r", " ").strip()
    return message or type(error).__name__
