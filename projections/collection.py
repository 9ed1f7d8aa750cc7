"""Python's cyclic garbage collector, run between batches while the views catch up, when the
process holds many more objects than after the last collection.

Catching up allocates millions of short-lived objects (decoded events, rows), and a batch
keeps thousands of them alive at once: left to itself, the collector promotes them to the
oldest generation and then, every few batches, traverses every object of the process — the
tickets the projection caches included — in a full collection. On a rebuild that was about
a fifth of the time, spent finding almost nothing: what the projections drop is freed by
reference counting.

:func:`per_batch` pauses the automatic collections, and :meth:`PerBatch.done` collects after
a batch only when the objects the collector tracks grew, since the last collection, by as
many as were left after it (and at least :data:`MIN_GROWTH`). Between batches the batch's
own objects are gone, so what the count holds is what the process kept: the projection's
cache filling up, or garbage in cycles. Memory therefore stays within about twice what the
process holds, however long the log; once the cache is full, a rebuild runs without
collections. (A collection every 100,000 events cost ~0.65 s each on a 1M-event log: 6% of
its time. Collecting the young generations after each batch cost more still: it traversed
the batch's events, still alive.) The collector's state is restored when the catch-up ends,
also on error.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: The least growth, in objects the collector tracks, that makes a batch end collect.
MIN_GROWTH = 200_000


class PerBatch:
    """Collects garbage between batches, when the process grew, while the automatic
    collections are paused."""

    def __init__(self) -> None:
        self.kept = 0  # objects tracked after the last collection (none yet)

    def done(self) -> None:
        """A batch was written: collect if the process grew enough since the last time.

        ``gc.get_count()[0]`` is the number of objects allocated minus those freed since the
        last collection (never below zero: it can only overstate the growth)."""
        if gc.get_count()[0] > max(MIN_GROWTH, self.kept):
            gc.collect()
            self.kept = len(gc.get_objects())


@contextmanager
def per_batch() -> Iterator[PerBatch]:
    """Automatic collections paused for the block (unless they were off already)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield PerBatch()
    finally:
        if enabled:
            gc.enable()
