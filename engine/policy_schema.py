"""The policy document's schema (docs/policy.md): the pydantic models
:func:`engine.policy.parse_policy` validates a policy mapping with.

Kept apart from :mod:`engine.policy` so that reading a store's policies (already validated
and canonical) and answering queries do not import pydantic; only parsing a policy does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from engine.durations import MAX_SECONDS, parse_business_days, parse_duration
from engine.limits import DEFAULT_LIMITS
from engine.vocabulary import HoldReason, SlaKind, TicketKind, values


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def duration(value: object) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= MAX_SECONDS:  # also refuses NaN
            raise ValueError(f"duration {value!r} (seconds) is not between 0 and a hundred years")
        return timedelta(seconds=value)
    try:
        return parse_duration(str(value))
    except TypeError as error:
        raise ValueError(str(error)) from None


class _Lifecycle(_Strict):
    auto_close_after: str | int | None = None

    @field_validator("auto_close_after")
    @classmethod
    def _valid_duration(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            duration(value)
        return value


class _AppliesTo(_Strict):
    ticket_kind: TicketKind | None = None
    priority: list[int] | None = None
    category: list[str] | str | None = None
    group: list[str] | str | None = None

    @field_validator("priority")
    @classmethod
    def _valid_priorities(cls, value: list[int] | None) -> list[int] | None:
        for item in value or []:
            if not 1 <= item <= 5:
                raise ValueError(f"priority {item} is not between 1 and 5")
        return value


class Sla(_Strict):
    name: str
    kind: SlaKind
    applies_to: _AppliesTo = _AppliesTo()
    target: str | int
    calendar: str = "24x7"
    pause_on: list[str] = []
    warn_at: list[int] = [50, 75, 90]
    end_of_day: bool = False

    @field_validator("target")
    @classmethod
    def _valid_target(cls, value: str | int) -> str | int:
        if isinstance(value, str) and parse_business_days(value) is not None:
            return value
        if duration(value) <= timedelta(0):
            raise ValueError("target must be positive")
        return value

    @field_validator("pause_on")
    @classmethod
    def _valid_reasons(cls, value: list[str]) -> list[str]:
        for reason in value:
            if reason not in set(HoldReason):
                raise ValueError(f"unknown hold reason {reason!r} (one of {values(HoldReason)})")
        return value

    @field_validator("warn_at")
    @classmethod
    def _valid_thresholds(cls, value: list[int]) -> list[int]:
        for threshold in value:
            if not 0 < threshold < 100:
                raise ValueError(f"warning threshold {threshold} must be between 1 and 99 percent")
        return sorted(set(value))


class _MajorIncidents(_Strict):
    declarers: list[str] | None = None


class Document(_Strict):
    priority_matrix: dict[int, dict[int, int]] | None = None
    lifecycle: _Lifecycle = _Lifecycle()
    calendars: dict[str, dict[str, Any]] = {}
    slas: list[Sla] = []
    major_incidents: _MajorIncidents = _MajorIncidents()
    limits: dict[str, int] = {}

    @field_validator("limits")
    @classmethod
    def _valid_limits(cls, value: dict[str, int]) -> dict[str, int]:
        for name, limit in value.items():
            if name not in DEFAULT_LIMITS:
                known = ", ".join(sorted(DEFAULT_LIMITS))
                raise ValueError(f"unknown text field {name!r} (one of {known})")
            if isinstance(limit, bool) or not 1 <= limit <= 10_000_000:
                raise ValueError(f"{name}: a limit is 1 to 10,000,000 characters, got {limit!r}")
        return value
