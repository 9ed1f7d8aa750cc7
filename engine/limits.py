"""Text a user typed is bounded when stored: every text field of a command has a limit.

The limits are characters, with defaults a service desk would pick (a title fits a list
line, a comment fits a long e-mail), and a policy may change them (``limits:`` in the policy
file, field name → limit). A command with a longer value is rejected before anything is
written, naming the field and its limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import CommandValidationError

#: Limits of the text fields, in characters.
DEFAULT_LIMITS: Mapping[str, int] = {
    "title": 200,
    "description": 20_000,
    "caller": 200,
    "category": 200,
    "subcategory": 200,
    "service": 200,
    "group": 200,
    "assignee": 200,
    "comment": 10_000,
    "text": 10_000,
    "code": 100,
    "notes": 10_000,
    "knowledge": 200,
    "reason": 2_000,
    "to": 200,
    "audience": 200,
    "message": 10_000,
    "channel": 100,
    "summary": 10_000,
    "root_cause": 10_000,
    "actions": 2_000,
    "owner": 200,
    "link": 64,
    "contributing_factors": 2_000,
    "went_well": 2_000,
    "lessons": 2_000,
    "commander": 200,
    "comms_lead": 200,
    "affected_services": 200,
    "change": 64,
    "problem": 200,
    "child": 64,
    "actor": 200,
    "command_id": 200,
}
#: The limit of a text field not listed above.
FALLBACK_LIMIT = 2_000


_NOT_TEXT = frozenset({int, bool, float})


def check(
    fields: Mapping[str, Any],
    limits: Mapping[str, int],
    *,
    ref: str | None,
    actor: str,
    command_id: str | None,
) -> None:
    """Raise :class:`CommandValidationError` for the first text over its limit, or that is
    not valid Unicode (a lone surrogate, which no stored event can hold). A list's items are
    checked one by one; in a list of mappings such as a review's action items, ``text``
    counts against the list's own limit and every other member against its name's, e.g.
    ``owner``."""
    values: list[tuple[str, Any]] = [*fields.items(), ("actor", actor), ("command_id", command_id)]
    for name, value in values:
        if type(value) is str:  # most values: checked without the generic walk below
            _check_one(name, value, limits, ref)
            continue
        if value is None or type(value) in _NOT_TEXT:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            members = item.items() if isinstance(item, Mapping) else [("text", item)]
            for member, text in members:
                if isinstance(text, str):
                    _check_one(name if member == "text" else member, text, limits, ref)


def _check_one(name: str, text: str, limits: Mapping[str, int], ref: str | None) -> None:
    limit = limits.get(name, DEFAULT_LIMITS.get(name, FALLBACK_LIMIT))
    if len(text) > limit:
        raise CommandValidationError(
            "as" if name == "actor" else name,
            f"is {len(text):,} characters long; the limit is {limit:,} "
            "(the policy's limits can change it)",
            ref=ref,
        )
    if text.isascii():  # no surrogate: nothing to encode
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CommandValidationError(
            "as" if name == "actor" else name,
            f"is not valid Unicode text (a lone surrogate at character {error.start})",
            ref=ref,
        ) from None
