"""Durations as written in policies and scenarios: ``90s``, ``15m``, ``4h``, ``3d``, ``1h30m``;
and working days, ``3bd``, which only SLA targets take (see :mod:`engine.business_days`)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([dhms])")
_BUSINESS_DAYS = re.compile(r"(\d+)bd")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
#: The longest duration a policy or scenario may give: a hundred years.
MAX_SECONDS = 100 * 366 * 86400
#: The most working days a target may give: about four years of a five-day week.
MAX_BUSINESS_DAYS = 1000


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
        if "bd" in compact:
            raise ValueError(f"invalid duration {text!r}: working days ('3bd') are for SLA targets")
        raise ValueError(f"invalid duration {text!r}: use forms such as '90s', '4h', '1h30m'")
    if seconds > MAX_SECONDS:
        raise ValueError(f"duration {text!r} is longer than a hundred years")
    return timedelta(seconds=seconds)


def parse_business_days(text: str) -> int | None:
    """The number of working days of a ``3bd`` target; None when ``text`` is not written in
    working days (no ``bd`` in it). ValueError, saying what to write instead, for ``bd``
    alone, ``0bd``, negative or fractional counts, ``bd`` mixed with other units, or more
    than :data:`MAX_BUSINESS_DAYS`."""
    compact = text.strip().replace(" ", "")
    if "bd" not in compact:
        return None
    match = _BUSINESS_DAYS.fullmatch(compact)
    if match is None:
        if compact == "bd":
            problem = "give the number of working days, e.g. '3bd'"
        elif compact.startswith("-"):
            problem = "a target counts working days forward: at least '1bd'"
        elif re.fullmatch(r"\d*[.,]\d*bd", compact):
            problem = "whole working days only, e.g. '2bd' (for part of a day use hours: '4h')"
        else:
            problem = "working days do not combine with other units: write '3bd' or '1d4h'"
        raise ValueError(f"invalid business-day target {text!r}: {problem}")
    days = int(match.group(1))
    if days < 1:
        raise ValueError(f"invalid business-day target {text!r}: at least '1bd'")
    if days > MAX_BUSINESS_DAYS:
        raise ValueError(
            f"business-day target {text!r} is more than {MAX_BUSINESS_DAYS} working days"
        )
    return days


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
