"""The errors DeskLedger raises, one tree under :class:`DeskLedgerError`.

::

    DeskLedgerError
    ├── TicketNotFoundError        (LookupError)   no ticket has that ref
    ├── DuplicateTicketError       (ValueError)    open with a ref already in use
    ├── InvalidTransitionError     (ValueError)    command not allowed in the ticket's state
    │   └── TicketFinalError                       any command on a closed or canceled ticket
    ├── CommandValidationError     (ValueError)    a missing or invalid field
    │   ├── NotPermittedError                      the actor may not do this (e.g. declare major)
    │   └── CommandIdReusedError                   a command_id reused for another command
    ├── ConcurrencyError                           expected_version mismatch or a racing writer
    ├── PolicyError                (ValueError)    an invalid policy, with the offending key path
    ├── UnreadableEventError                       a stored event cannot be decoded (run verify)
    └── UnavailableError                           a store or NATS cannot be reached (adapters)

Every error carries the facts a caller needs (ticket ref, state, command, field) as
attributes as well as in its message, so an embedding product can react without parsing text.
"""

from __future__ import annotations


class DeskLedgerError(Exception):
    """Base class of every error DeskLedger raises on purpose."""


class TicketNotFoundError(DeskLedgerError, LookupError):
    """No ticket with this ref exists in the store."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"ticket {ref} not found")


class DuplicateTicketError(DeskLedgerError, ValueError):
    """A ticket with this ref already exists."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"ticket {ref} already exists")


class InvalidTransitionError(DeskLedgerError, ValueError):
    """The command is not allowed in the ticket's current state."""

    def __init__(self, ref: str, state: str, command: str, detail: str = "") -> None:
        self.ref = ref
        self.state = state
        self.command = command
        message = f"ticket {ref} is {state}: cannot {command}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class TicketFinalError(InvalidTransitionError):
    """The ticket is closed or canceled; nothing more can happen to it."""

    def __init__(self, ref: str, state: str, command: str) -> None:
        super().__init__(ref, state, command, f"{state} is final")


class CommandValidationError(DeskLedgerError, ValueError):
    """A command field is missing or invalid."""

    def __init__(self, field: str, problem: str, *, ref: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.ref = ref
        where = f"ticket {ref}: " if ref else ""
        super().__init__(f"{where}{field}: {problem}")


class NotPermittedError(CommandValidationError):
    """The actor is not allowed to perform this command."""


class ConcurrencyError(DeskLedgerError):
    """The ticket changed since the caller read it (expected_version mismatch)."""

    def __init__(self, ref: str, expected: int | None, actual: int | None) -> None:
        self.ref = ref
        self.expected = expected
        self.actual = actual
        if expected is None:
            message = f"ticket {ref} was changed by another writer meanwhile; reload and retry"
        else:
            message = f"ticket {ref}: expected version {expected}, but it is at version {actual}"
        super().__init__(message)


class PolicyError(DeskLedgerError, ValueError):
    """The policy is invalid; ``path`` names the offending key (``slas[2].calendar``)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class CommandIdReusedError(CommandValidationError):
    """A ``command_id`` already used on this ticket for a different command or fields."""

    def __init__(self, command_id: str, *, ref: str, earlier: str, now: str) -> None:
        self.command_id = command_id
        super().__init__(
            "command_id",
            f"{command_id!r} was already used for {earlier}; this is {now} "
            "(give each command its own id)",
            ref=ref,
        )


class UnreadableEventError(DeskLedgerError):
    """A stored event cannot be decoded: the log is damaged or was written by other code."""

    def __init__(self, ref: str, position: int | None, cause: str = "") -> None:
        self.ref = ref
        self.position = position
        self.cause = cause
        where = f"event at position {position}" if position is not None else "an event"
        super().__init__(f"ticket {ref}: {where} cannot be read; run verify")


class UnavailableError(DeskLedgerError):
    """Infrastructure (the store, NATS) cannot be reached; raised by adapters (exit 3)."""
