"""The shortcuts of writing an event give what the general path gives.

* :func:`engine.isotext.iso_text` remembers the text of UTC instants: the same text
  ``isoformat`` gives, whatever the instant, its zone or the instants written before it.
* :func:`engine.chain.sealed` builds an event without its dataclass constructor: the same
  event, attributes in the same order (the store writes them in that order), and the
  constructor's own error for fields it would not take.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import chain, isotext, policy_registry, ticket  # noqa: F401 - defines the event classes
from engine.envelope import event_classes

_ZONES = st.one_of(
    st.none(),
    st.just(UTC),
    st.builds(
        timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
    ),
)


@given(st.lists(st.datetimes(timezones=_ZONES), min_size=1, max_size=6))
def test_an_instant_is_written_as_isoformat_writes_it(moments: list[datetime]) -> None:
    for moment in moments:
        assert isotext.iso_text(moment) == moment.isoformat()
    for moment in moments:  # remembered, or written out again
        assert isotext.iso_text(moment) == moment.isoformat()
        same_instant = moment.astimezone(timezone(timedelta(hours=1))) if moment.tzinfo else None
        if same_instant is not None:  # equal to a remembered UTC instant, written otherwise
            assert isotext.iso_text(same_instant) == same_instant.isoformat()


def test_the_remembered_instants_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isotext, "KEPT", 3)
    isotext._TEXTS.clear()
    for minute in range(10):
        moment = datetime(2016, 2, 29, 1, minute, tzinfo=UTC)
        assert isotext.iso_text(moment) == moment.isoformat()
        assert len(isotext._TEXTS) <= 3
    isotext._TEXTS.clear()


_EVENT_CLASSES = sorted(
    {
        cls
        for cls in event_classes(chain.LedgerEvent).values()
        if cls.__module__.startswith("engine")
    },
    key=lambda cls: cls.__qualname__,
)
_ANY = st.one_of(st.none(), st.text(max_size=3), st.integers(), st.booleans())


@given(st.sampled_from(_EVENT_CLASSES), st.data())
def test_an_event_is_built_as_its_constructor_builds_it(
    event_class: type[chain.LedgerEvent], data: st.DataObject
) -> None:
    names = [f.name for f in dataclasses.fields(event_class)]
    fields = {name: data.draw(_ANY, label=name) for name in names}
    fields["originator_id"] = data.draw(st.one_of(st.uuids(), st.text(max_size=2)))
    if data.draw(st.booleans(), label="shuffled"):
        fields = dict(reversed(fields.items()))
    if data.draw(st.booleans(), label="changed"):  # one left out, or one too many
        if data.draw(st.booleans()):
            fields.pop(data.draw(st.sampled_from(names)))
        else:
            fields["not_a_field"] = 1
    try:
        expected = event_class(**fields)
    except TypeError as error:
        refused = str(error)
    else:
        refused = None
    if refused is not None:
        with pytest.raises(TypeError, match=f"^{re.escape(refused)}$"):
            chain._built(event_class, dict(fields))
        return
    built = chain._built(event_class, dict(fields))
    assert type(built) is event_class
    assert built == expected
    assert list(vars(built).items()) == list(vars(expected).items())
