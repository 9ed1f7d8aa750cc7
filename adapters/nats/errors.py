"""The errors of the NATS edge; importing this module never imports nats-py.

::

    DeskLedgerError
    ├── UnavailableError                      (engine.errors, CLI exit code 3)
    │   └── NatsUnavailableError              NATS unreachable, or the server could not start
    ├── NatsUrlError            (ValueError)  a malformed NATS URL (exit code 2)
    ├── RelayStreamError        (ValueError)  the stream belongs to another store, is ahead of
    │                                         the log, or its subjects clash (exit code 2)
    ├── UnpublishableEventError               an event the server refuses whatever the retry
    │                                         (larger than its max_payload) (exit code 1)
    ├── RelayInterruptedError                 a batch was not fully acknowledged (transient:
    │                                         the relay resumes from the stream)
    └── SubscriberConfigError   (ValueError)  a durable exists with other filters or is bound
"""

from __future__ import annotations

from engine.errors import DeskLedgerError, UnavailableError


class NatsUnavailableError(UnavailableError):
    """NATS could not be started or reached (CLI exit code 3)."""


class NatsUrlError(DeskLedgerError, ValueError):
    """A NATS URL that cannot work, whatever the network does (CLI exit code 2)."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"NATS URL {url!r}: {problem}")


class RelayStreamError(DeskLedgerError, ValueError):
    """The stream cannot be the progress record of this store's log (CLI exit code 2)."""


class UnpublishableEventError(DeskLedgerError):
    """An event NATS will never accept as it is; the relay cannot go past it (exit code 1).

    ``position``, ``ticket`` and ``reason`` say which event and why.
    """

    def __init__(self, position: int, ticket: str, reason: str) -> None:
        self.position = position
        self.ticket = ticket
        self.reason = reason
        super().__init__(
            f"ticket {ticket}: event at position {position} cannot be published: {reason}"
        )


class RelayInterruptedError(DeskLedgerError):
    """A batch was not fully acknowledged; the relay resumes from the stream (transient).

    ``position`` and ``ticket`` name the first message that was not confirmed, when known.
    """

    def __init__(
        self, problem: str, *, position: int | None = None, ticket: str | None = None
    ) -> None:
        self.position = position
        self.ticket = ticket
        where = f"position {position} (ticket {ticket}): " if position is not None else ""
        super().__init__(f"{where}{problem}")


class SubscriberConfigError(DeskLedgerError, ValueError):
    """The durable consumer exists with other filters or is in use; use another name."""
