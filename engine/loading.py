"""Reading aggregates back from the store; a damaged stream is an error, not a crash.

A stored event that cannot be decoded (garbage bytes, a topic swapped to another class, a
missing field, a version gap) makes :func:`load` raise
:class:`~engine.errors.UnreadableEventError` naming the stream: reads of that ticket fail with
"run verify" while every other ticket still reads. Infrastructure failures
(:class:`~eventsourcing.persistence.PersistenceError`) pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import OriginatorIDError, OriginatorVersionError
from eventsourcing.persistence import EventStore, MapperDeserialisationError
from eventsourcing.utils import TopicError

from engine.errors import UnreadableEventError

#: What decoding or replaying a damaged stream raises (never PersistenceError: that is an
#: unavailable store, not a damaged one).
DECODING_ERRORS: tuple[type[BaseException], ...] = (
    MapperDeserialisationError,
    TopicError,
    OriginatorIDError,
    OriginatorVersionError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
)


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Fold ``events`` into ``aggregate`` (None before the first) with their own mutators.

    The projector :class:`~eventsourcing.application.Repository` is given: the library's
    default asserts ``isinstance(event, CanMutateProtocol)`` for every event, a check
    against a runtime-checkable Protocol that costs more than most mutators. Every event
    this store holds is a :class:`~engine.chain.LedgerEvent`, whose ``mutate`` is the
    library's own; an object without one fails here with AttributeError (a damaged
    stream, see :data:`DECODING_ERRORS`).
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def load(repository: Repository[UUID], aggregate_id: UUID, name: str) -> Any | None:
    """The aggregate, or None if the stream is empty; UnreadableEventError if damaged."""
    try:
        return repository.get(aggregate_id, projector_func=replay)
    except AggregateNotFoundError:
        return None
    except DECODING_ERRORS as error:
        raise UnreadableEventError(name, None, f"{type(error).__name__}: {error}") from None


def fast_forward(events: EventStore[UUID], aggregate: Any, name: str) -> Any:
    """``aggregate`` with the events its stream got after its version applied (by anyone);
    UnreadableEventError if one of them is damaged."""
    try:
        return replay(aggregate, events.get(aggregate.id, gt=aggregate.version))
    except DECODING_ERRORS as error:
        raise UnreadableEventError(name, None, f"{type(error).__name__}: {error}") from None


def history(events: EventStore[UUID], aggregate_id: UUID, name: str) -> Iterator[Any]:
    """Every event of a stream in order, decoded; UnreadableEventError if one cannot be."""
    try:
        yield from events.get(aggregate_id)
    except DECODING_ERRORS as error:
        raise UnreadableEventError(name, None, f"{type(error).__name__}: {error}") from None
