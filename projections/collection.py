"""Python's cyclic garbage collector, run every so many batches while the views catch up.

Catching up allocates millions of short-lived objects (decoded events, rows), and a batch
keeps thousands of them alive at once: left to itself, the collector promotes them to the
oldest generation and then, every few batches, traverses every object of the process — the
tickets the projection caches included — in a full collection. On a rebuild that was about
a fifth of the time, spent finding almost nothing: what the projections drop is freed by
reference counting.

:func:`per_batch` pauses the automatic collections and :meth:`PerBatch.done` runs one full
collection every :data:`FULL_EVERY` batches instead (a few percent of the time): garbage in
cycles is still freed, so memory stays bounded however long the log. (Collecting the young
generations after each batch cost more: it traversed the batch's events, still alive.) The
collector's state is restored when the catch-up ends, also on error.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Batches between two collections (with 2,000-event batches, one per 100,000 events).
FULL_EVERY = 50


class PerBatch:
    """Collects garbage every few batches while the automatic collections are paused."""

    def __init__(self) -> None:
        self.batches = 0

    def done(self) -> None:
        """A batch was written: collect every :data:`FULL_EVERY` batches."""
        self.batches += 1
        if self.batches % FULL_EVERY == 0:
            gc.collect()


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
