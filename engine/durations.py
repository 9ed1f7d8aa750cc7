"""Durations as written in policies and scenarios: ``90s``, ``15m``, ``4h``, ``3d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
#: The longest duration a policy or scenario may give: a hundred years.
MAX_SECONDS = 100 * 366 * 86400


def parse_duration(text: str) -> timedelta:
    """Parse ``1h30m``-style text; raise ValueError naming the text when it is not one."""
    if not isinstance(text, str):
        raise TypeError(f"expected a duration such as '4h' or '1h30m', got {text!r}")
    compact = text.strip().replace(" ", "")
    if not compact:
        raise ValueError("empty duration")
    position = 0
    seconds = 0
    seen: set[str] = set()
    for match in _PART.finditer(compact):
        if match.start() != position or match.group(2) in seen:
            break
        seen.add(match.group(2))
        seconds += int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(compact):
        raise ValueError(f"invalid duration {text!r}: use forms such as '90s', '4h', '1h30m'")
    if seconds > MAX_SECONDS:
        raise ValueError(f"duration {text!r} is longer than a hundred years")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Render a timedelta the way policies write it (``1d2h30m``, ``0s``)."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + ("".join(parts) or "0s")
