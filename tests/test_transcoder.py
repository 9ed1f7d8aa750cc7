"""The desk's transcoder writes exactly the bytes of the library's, and fails as it does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from engine.transcoder import PrebuiltJSONTranscoder


def _pair() -> tuple[JSONTranscoder, JSONTranscoder]:
    library, prebuilt = JSONTranscoder(), PrebuiltJSONTranscoder()
    for transcoder in (library, prebuilt):
        transcoder.register(DatetimeAsISO())
        transcoder.register(UUIDAsHex())
    return library, prebuilt


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.datetimes(timezones=st.just(UTC)),
    st.uuids(),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), _VALUES, max_size=6))
def test_encodes_every_state_to_the_library_bytes(state: dict[str, Any]) -> None:
    library, prebuilt = _pair()
    assert prebuilt.encode(state) == library.encode(state)
    assert prebuilt.encode(state) == library.encode(state)  # the encoder, used again


def test_after_a_failure_it_encodes_as_before() -> None:
    """A failure inside a list leaves the list among the encoder's circular-reference
    markers; encoding that list again must not be taken for a cycle."""
    library, prebuilt = _pair()
    shared: list[Any] = [object()]
    for transcoder in (library, prebuilt):
        with pytest.raises(TranscodingNotRegisteredError):
            transcoder.encode({"list": shared})
    shared[0] = UUID(int=1)
    state = {"list": shared, "at": datetime(2020, 1, 1, tzinfo=UTC)}
    assert prebuilt.encode(state) == library.encode(state)
    circular: dict[str, Any] = {}
    circular["self"] = circular
    with pytest.raises(ValueError, match="Circular reference"):
        prebuilt.encode(circular)
    assert prebuilt.encode(state) == library.encode(state)
