"""The command fields the engine reads without pydantic's serializer are what it would give.

``command_texts`` (checked against the limits) and the fields ``command_digest`` binds a
command id to are read straight from a command of single values; any command, whatever its
values, must give exactly what ``model_dump`` gives, or limits and idempotency would change.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine import commands as cmd
from engine.vocabulary import Channel, HoldReason, TicketKind, Visibility

#: Valid values for required fields, so that most drawn commands validate.
_REQUIRED = {
    "title": "t",
    "caller": "c",
    "impact": 2,
    "urgency": 3,
    "reason": "awaiting_caller",
    "code": "solved",
    "notes": "n",
    "text": "x",
    "child": "INC2",
    "audience": "all",
    "message": "m",
    "summary": "s",
    "root_cause": "r",
    "problem": "PRB1",
}

_ENUMS = [*HoldReason, *TicketKind, *Channel, *Visibility]

_VALUES = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.integers(min_value=-1, max_value=5),
    st.booleans(),
    st.sampled_from(_ENUMS),
    st.lists(st.text(min_size=1, max_size=3), max_size=2),
    st.lists(st.fixed_dictionaries({"text": st.text(min_size=1, max_size=3)}), max_size=2),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
)
#: Most drawn commands are invalid (the model rejects them): the valid ones are the point.
_SLOW_FILTER = [HealthCheck.filter_too_much, HealthCheck.too_slow]


@st.composite
def commands(draw: st.DrawFn) -> cmd.Command:
    model = draw(st.sampled_from(sorted(cmd.COMMANDS.values(), key=lambda m: m.__name__)))
    fields: dict[str, Any] = {"ref": "INC1"}
    for name, info in model.model_fields.items():
        if name == "ref":
            continue
        if info.is_required():
            fields[name] = draw(st.one_of(st.just(_REQUIRED.get(name, "v")), _VALUES))
        elif draw(st.booleans()):
            fields[name] = draw(_VALUES)
    try:
        return model(**fields)
    except ValidationError:
        assume(False)
        raise  # pragma: no cover - assume raised


@settings(max_examples=300, deadline=None, suppress_health_check=_SLOW_FILTER)
@given(commands())
def test_texts_are_what_model_dump_gives(command: cmd.Command) -> None:
    assert _typed(cmd.command_texts(command)) == _typed(command.model_dump(exclude={"ref"}))


@settings(max_examples=300, deadline=None, suppress_health_check=_SLOW_FILTER)
@given(commands())
def test_digest_binds_the_fields_model_dump_gives(command: cmd.Command) -> None:
    expected = command.model_dump(mode="json", exclude_unset=True)
    assert _typed(cmd._given_fields(command)) == _typed(expected)


def _typed(fields: dict[str, Any]) -> dict[str, tuple[type, Any]]:
    """Each value with its type: an enum member equals its text, but is not the same."""
    return {name: (type(value), value) for name, value in fields.items()}
