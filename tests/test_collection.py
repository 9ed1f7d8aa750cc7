"""Garbage collection by batch while the views catch up (projections.collection)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from engine.application import Desk
from projections import collection
from projections.views import open_views


class Node:
    """Something that can sit in a reference cycle."""

    other: Any = None


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    """The collector on for the test, and as it was after it (tests turn it off)."""
    enabled = gc.isenabled()
    gc.enable()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector_enabled")
def test_automatic_collections_are_paused_for_the_block_and_back_after_it() -> None:
    with collection.per_batch():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection.per_batch():
        raise RuntimeError
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_enabled")
def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collection.per_batch():
        pass
    assert not gc.isenabled()


def _cycle() -> weakref.ref[Node]:
    """A pair of nodes that only reference counting cannot free; a weak reference to one."""
    node = Node()
    node.other = Node()
    node.other.other = node
    return weakref.ref(node)


@pytest.mark.usefixtures("collector_enabled")
def test_a_batch_end_collects_nothing_while_the_process_did_not_grow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(collection, "MIN_GROWTH", 10**9)
    with collection.per_batch() as batches:
        gone = _cycle()
        batches.done()
        batches.done()
        assert gone() is not None  # nothing collects it meanwhile, automatically or not
    gc.collect()
    assert gone() is None


@pytest.mark.usefixtures("collector_enabled")
def test_garbage_in_cycles_is_freed_once_the_process_grew(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collection, "MIN_GROWTH", 1_000)
    with collection.per_batch() as batches:
        gone = [_cycle() for _ in range(2_000)]  # 4,000 objects in cycles
        batches.done()
        assert all(ref() is None for ref in gone)
        kept = batches.kept
        assert kept > 0
        gone = [_cycle() for _ in range(kept // 4)]  # not as many as were kept: left alone
        batches.done()
        assert all(ref() is not None for ref in gone)
        gone += [_cycle() for _ in range(kept)]
        batches.done()
        assert all(ref() is None for ref in gone)


@pytest.mark.usefixtures("collector_enabled")
def test_catching_up_leaves_the_collector_as_it_found_it(memory_desk: Desk) -> None:
    memory_desk.execute(
        "open", {"ref": "INC1", "title": "t", "caller": "c", "impact": 2, "urgency": 2}, actor="a"
    )
    views = open_views(memory_desk)
    assert views.catch_up(batch=1) > 0
    assert gc.isenabled()
