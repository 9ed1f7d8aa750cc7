"""None bound through the registered adapter is stored exactly as without it (NULL), and
every other value as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from projections.sqlite_null import bind_none_directly

_KEY = (type(None), sqlite3.PrepareProtocol)
_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
)
_ROWS = st.lists(st.tuples(_VALUES, _VALUES, _VALUES), max_size=20)


@contextmanager
def _without_adapter() -> Iterator[None]:
    """The registry without the adapter for None, as it was again afterwards."""
    saved = sqlite3.adapters.pop(_KEY, None)
    try:
        yield
    finally:
        sqlite3.adapters.pop(_KEY, None)
        if saved is not None:
            sqlite3.adapters[_KEY] = saved


def _stored(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a TEXT, b BIGINT, c)")
    db.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    db.execute("UPDATE t SET c = ? WHERE rowid = 1", (None,))
    found = db.execute(
        "SELECT typeof(a), a, typeof(b), b, typeof(c), c FROM t ORDER BY rowid"
    ).fetchall()
    db.close()
    return found


@given(rows=_ROWS)
def test_rows_are_stored_the_same_with_the_adapter(rows: list[tuple[Any, ...]]) -> None:
    with _without_adapter():
        general = _stored(rows)
        bind_none_directly()
        assert general == _stored(rows)


def test_registered_once_and_an_adapter_of_others_kept() -> None:
    def theirs(value: None) -> None:
        return value

    with _without_adapter():
        bind_none_directly()
        ours = sqlite3.adapters[_KEY]
        bind_none_directly()
        assert sqlite3.adapters[_KEY] is ours
        sqlite3.adapters[_KEY] = theirs
        bind_none_directly()
        assert sqlite3.adapters[_KEY] is theirs
