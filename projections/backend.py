"""Which of eventsourcing's persistence modules a recorder comes from.

DeskLedger subclasses the library's recorders (PostgreSQL writes one transaction per save,
``adapters.postgres``), so a recorder's own class may live elsewhere: the backend is the
first of its classes defined in ``eventsourcing.sqlite`` or ``eventsourcing.postgres``.
"""

from __future__ import annotations

from typing import Literal

Backend = Literal["sqlite", "postgres"]

_MODULES: dict[str, Backend] = {
    "eventsourcing.sqlite": "sqlite",
    "eventsourcing.postgres": "postgres",
}


def backend_of(recorder: object) -> Backend | None:
    """``"sqlite"`` or ``"postgres"`` for the library's recorders and their subclasses; None
    for any other (the in-memory ``POPO`` recorders, for one)."""
    for cls in type(recorder).__mro__:
        found = _MODULES.get(cls.__module__)
        if found is not None:
            return found
    return None
