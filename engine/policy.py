"""The policy: priority matrix, lifecycle settings, business calendars and SLA definitions.

A policy document (docs/policy.md) is validated in full before anything runs; every problem is a
:class:`~engine.errors.PolicyError` naming the offending key path
(``slas[2].calendar: unknown calendar 'office'``). Loading a policy into a store records a new
version (see :mod:`engine.policy_registry`); tickets pin the version they ran under.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from engine.business_days import BusinessDays
from engine.durations import format_duration, parse_business_days
from engine.errors import PolicyError
from engine.limits import DEFAULT_LIMITS
from engine.sla import SlaTerms
from engine.vocabulary import SlaKind

if TYPE_CHECKING:
    from engine.calendar import BusinessCalendar
    from engine.policy_schema import Sla

DEFAULT_MATRIX: dict[int, dict[int, int]] = {
    1: {1: 1, 2: 2, 3: 3},
    2: {1: 2, 2: 3, 3: 4},
    3: {1: 3, 2: 4, 3: 5},
}
DEFAULT_CALENDARS: dict[str, Any] = {"24x7": {"timezone": "UTC", "hours": "always"}}


@dataclass(frozen=True)
class SlaDefinition:
    """One SLA: its terms (target, calendar, pausing hold reasons, warnings) and which
    tickets it applies to.

    A target in working days (``business_days``, written ``3bd``) has no fixed length: each
    timer's comes from :meth:`terms_for` its start (``terms.target_seconds`` then holds only
    the nominal ``days * 24h``; timers never run on it).
    """

    terms: SlaTerms
    ticket_kind: str | None = None
    priorities: tuple[int, ...] | None = None
    categories: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    business_days: BusinessDays | None = None

    @property
    def name(self) -> str:
        return self.terms.name

    @property
    def target_text(self) -> str:
        """The target as the policy writes it (``4h``, ``3bd``)."""
        if self.business_days is not None:
            return self.business_days.text
        return format_duration(self.terms.target)

    def terms_for(self, start: datetime, calendar: BusinessCalendar) -> SlaTerms:
        """The terms of a timer of this SLA that starts at ``start`` on ``calendar`` (the
        SLA's own): a target in working days becomes the working time from ``start`` to its
        due (:mod:`engine.business_days`); any other target is the same for every timer."""
        if self.business_days is None:
            return self.terms
        due = self.business_days.due(start, calendar)
        return dataclasses.replace(self.terms, target_seconds=due.working_seconds)

    def applies(
        self, *, ticket_kind: str, priority: int, category: str | None, group: str | None
    ) -> bool:
        """Whether this SLA applies to a ticket with these attributes."""
        if self.ticket_kind is not None and self.ticket_kind != ticket_kind:
            return False
        if self.priorities is not None and priority not in self.priorities:
            return False
        if self.categories is not None and category not in self.categories:
            return False
        return self.groups is None or group in self.groups


@dataclass(frozen=True)
class Policy:
    """A validated policy. ``document`` is its canonical JSON-able form, ``digest`` its hash."""

    document: dict[str, Any]
    matrix: dict[int, dict[int, int]] = field(default_factory=lambda: DEFAULT_MATRIX)
    auto_close_after: timedelta | None = None
    calendars: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(DEFAULT_CALENDARS))
    slas: tuple[SlaDefinition, ...] = ()
    declarers: frozenset[str] | None = None
    version: int = 0
    limits: dict[str, int] = field(default_factory=dict)

    @cached_property
    def _text_limits(self) -> Mapping[str, int]:
        return MappingProxyType({**DEFAULT_LIMITS, **self.limits})

    def text_limits(self) -> Mapping[str, int]:
        """Every text field's limit: the defaults, with this policy's own on top."""
        return self._text_limits

    @property
    def digest(self) -> str:
        encoded = json.dumps(self.document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()

    def priority(self, impact: int, urgency: int) -> int:
        """priority = matrix[impact][urgency] (docs/lifecycle.md)."""
        return self.matrix[impact][urgency]

    @staticmethod
    def default() -> Policy:
        """The policy in force when none was loaded: the §3 matrix, a 24x7 calendar, no SLAs."""
        return parse_policy({})

    def with_version(self, version: int) -> Policy:
        return dataclasses.replace(self, version=version)


def _as_list(value: list[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith("function-") or part in {"list[int]", "str", "int"}:
            continue
        else:
            path += f".{part}" if path else part
    return path


def _check_matrix(matrix: dict[int, dict[int, int]]) -> None:
    for impact in (1, 2, 3):
        if impact not in matrix:
            raise PolicyError(f"priority_matrix.{impact}", "missing impact row")
        row = matrix[impact]
        for urgency in (1, 2, 3):
            if urgency not in row:
                raise PolicyError(f"priority_matrix.{impact}.{urgency}", "missing urgency cell")
            if not 1 <= row[urgency] <= 5:
                raise PolicyError(
                    f"priority_matrix.{impact}.{urgency}",
                    f"priority {row[urgency]} is not between 1 and 5",
                )
        extra = set(row) - {1, 2, 3}
        if extra:
            raise PolicyError(f"priority_matrix.{impact}", f"unknown urgency {min(extra)}")
    extra_rows = set(matrix) - {1, 2, 3}
    if extra_rows:
        raise PolicyError("priority_matrix", f"unknown impact {min(extra_rows)}")


def _check_calendars(calendars: dict[str, dict[str, Any]], recorded: bool) -> None:
    if not calendars:
        return
    from engine.calendar import BusinessCalendar, CalendarError  # noqa: PLC0415

    for name, mapping in calendars.items():
        try:
            BusinessCalendar.from_mapping(mapping, name=name, recorded=recorded)
        except CalendarError as error:
            where, _, problem = str(error).partition(": ")
            if not problem:
                where, problem = "", where
            path = f"calendars.{name}" + (f".{where}" if where else "")
            raise PolicyError(path, problem) from None


def _business_days(sla: Sla, index: int) -> BusinessDays | None:
    """The SLA's target in working days (None for a plain duration), checked against the
    ``end_of_day`` option. (Its calendar has working hours: calendars without are invalid.)"""
    days = parse_business_days(sla.target) if isinstance(sla.target, str) else None
    if days is None:
        if sla.end_of_day:
            raise PolicyError(
                f"slas[{index}].end_of_day",
                f"needs a target in working days, such as '1bd' (target is {sla.target!r})",
            )
        return None
    return BusinessDays(days, end_of_day=sla.end_of_day)


def _check_unicode(value: object, path: str) -> None:
    """Every key and text is valid Unicode (YAML's "\\udc80" is not): a policy is stored
    as canonical JSON, which has no form for a lone surrogate."""
    items: list[tuple[object, object]] = []
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    for key, item in items:
        where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
        for text in (key, item):
            if isinstance(text, str) and not _is_unicode(text):
                raise PolicyError(where, "is not valid Unicode text (a lone surrogate)")
        _check_unicode(item, where)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_policy(raw: Mapping[str, Any] | None, *, recorded: bool = False) -> Policy:
    """Validate a policy mapping (the parsed YAML) and return the runtime :class:`Policy`.

    ``recorded``: a version the store recorded (checked when it was loaded, its country
    holidays pinned then): its pinned holidays are read without the ``holidays`` package
    (see :meth:`engine.calendar.BusinessCalendar.from_mapping`)."""
    from pydantic import ValidationError  # noqa: PLC0415 - see engine.policy_schema

    from engine.policy_schema import Document, duration  # noqa: PLC0415

    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PolicyError("", "a policy must be a mapping of keys such as 'slas' and 'calendars'")
    _check_unicode(raw, "")
    try:
        document = Document.model_validate(dict(raw))
    except ValidationError as error:
        first = error.errors()[0]
        problem = first["msg"].removeprefix("Value error, ")  # pydantic's label for ValueError
        raise PolicyError(_path(tuple(first["loc"])), problem) from None

    matrix = document.priority_matrix or DEFAULT_MATRIX
    _check_matrix(matrix)
    calendars = dict(DEFAULT_CALENDARS)
    calendars.update(document.calendars)
    _check_calendars(document.calendars, recorded)

    slas: list[SlaDefinition] = []
    names: set[str] = set()
    for index, sla in enumerate(document.slas):
        if sla.name in names:
            raise PolicyError(f"slas[{index}].name", f"duplicate SLA name {sla.name!r}")
        names.add(sla.name)
        if sla.calendar not in calendars:
            raise PolicyError(f"slas[{index}].calendar", f"unknown calendar {sla.calendar!r}")
        business_days = _business_days(sla, index)
        slas.append(
            SlaDefinition(
                terms=SlaTerms(
                    name=sla.name,
                    kind=SlaKind(sla.kind),
                    target_seconds=(
                        business_days.count * 86_400
                        if business_days is not None
                        else int(duration(sla.target).total_seconds())
                    ),
                    calendar=sla.calendar,
                    pause_on=tuple(sla.pause_on),
                    warn_at=tuple(sla.warn_at),
                ),
                ticket_kind=sla.applies_to.ticket_kind,
                priorities=tuple(sla.applies_to.priority) if sla.applies_to.priority else None,
                categories=_as_list(sla.applies_to.category),
                groups=_as_list(sla.applies_to.group),
                business_days=business_days,
            )
        )

    auto_close = document.lifecycle.auto_close_after
    canonical: dict[str, Any] = {
        "priority_matrix": {
            str(i): {str(u): p for u, p in row.items()} for i, row in matrix.items()
        },
        "lifecycle": {
            "auto_close_after": format_duration(duration(auto_close)) if auto_close else None
        },
        "calendars": json.loads(json.dumps(calendars, default=str)),
        "slas": [
            {
                "name": s.terms.name,
                "kind": str(s.terms.kind),
                "applies_to": {
                    "ticket_kind": s.ticket_kind,
                    "priority": list(s.priorities) if s.priorities else None,
                    "category": list(s.categories) if s.categories else None,
                    "group": list(s.groups) if s.groups else None,
                },
                "target": s.target_text,
                "calendar": s.terms.calendar,
                "pause_on": list(s.terms.pause_on),
                "warn_at": list(s.terms.warn_at),
                # only when set: policies without it keep their digest
                **({"end_of_day": True} if s.business_days and s.business_days.end_of_day else {}),
            }
            for s in slas
        ],
        "major_incidents": {"declarers": document.major_incidents.declarers},
    }
    if document.limits:  # only when given: policies without it keep their digest
        canonical["limits"] = dict(sorted(document.limits.items()))
    return Policy(
        document=canonical,
        matrix=matrix,
        auto_close_after=duration(auto_close) if auto_close else None,
        calendars=calendars,
        slas=tuple(slas),
        declarers=(
            frozenset(document.major_incidents.declarers)
            if document.major_incidents.declarers is not None
            else None
        ),
        limits=dict(document.limits),
    )


#: Country holidays are written out for this many years either side of the year a policy is
#: loaded, so a later release of the ``holidays`` package cannot change a recorded verdict.
PINNED_YEARS = 10


def pin_holidays(policy: Policy, year: int) -> Policy:
    """The policy with each calendar's country holidays of ``year`` ± :data:`PINNED_YEARS`
    written out as dates (calendars already pinned, or without countries, are unchanged)."""
    from engine.calendar import BusinessCalendar  # noqa: PLC0415 - calendar imports policy users

    calendars: dict[str, Any] = {}
    changed = False
    for name, mapping in policy.calendars.items():
        entries = mapping.get("holidays") or []
        calendars[name] = mapping
        if any(isinstance(e, Mapping) and "pinned" not in e for e in entries):
            calendar = BusinessCalendar.from_mapping(mapping, name=name)
            pinned = calendar.pinned(year - PINNED_YEARS, year + PINNED_YEARS)
            calendars[name] = pinned.to_mapping()
            changed = True
    if not changed:
        return policy
    return parse_policy({**policy.document, "calendars": calendars}).with_version(policy.version)


def default_policy() -> Policy:
    """The policy in force when none was loaded: the §3 matrix, a 24x7 calendar, no SLAs."""
    return parse_policy({})
