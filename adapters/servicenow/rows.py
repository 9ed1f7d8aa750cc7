"""Reading a ServiceNow incident audit export (docs/servicenow-import.md): CSV rows, typed and
checked.

One CSV row per update of an incident. :func:`read_rows` yields each data row with its line
number (or why it is malformed); :class:`RowReader` types the columns the importer uses and
raises :class:`RowError` naming the column. ``?`` means empty. Dates are day-first and come
in two shapes (``29-02-2016 01:16``, ``29/2/2016 01:16``); they carry no offset and are read
in the instance's time zone (UTC unless the import says otherwise).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from engine.errors import DeskLedgerError
from engine.ids import ticket_ref
from engine.vocabulary import Channel, HoldReason, TicketState

#: ``incident_state`` (lower case) -> (DeskLedger state, hold reason).
STATES: dict[str, tuple[TicketState, HoldReason | None]] = {
    "new": (TicketState.NEW, None),
    "active": (TicketState.IN_PROGRESS, None),
    "awaiting user info": (TicketState.ON_HOLD, HoldReason.AWAITING_CALLER),
    "awaiting vendor": (TicketState.ON_HOLD, HoldReason.AWAITING_VENDOR),
    "awaiting problem": (TicketState.ON_HOLD, HoldReason.AWAITING_PROBLEM),
    "awaiting change": (TicketState.ON_HOLD, HoldReason.AWAITING_CHANGE),
    "awaiting evidence": (TicketState.ON_HOLD, HoldReason.AWAITING_EVIDENCE),
    "resolved": (TicketState.RESOLVED, None),
    "closed": (TicketState.CLOSED, None),
}
#: ``contact_type`` (lower case) -> channel. ``Direct opt-in`` names a notification
#: preference, not a way of contacting the desk, so it (like anything unknown) maps to None;
#: the raw value is kept in the opening's ``source``.
CHANNELS: dict[str, Channel] = {
    "phone": Channel.PHONE,
    "email": Channel.EMAIL,
    "e-mail": Channel.EMAIL,
    "self service": Channel.PORTAL,
    "self-service": Channel.PORTAL,
    "portal": Channel.PORTAL,
    "im": Channel.CHAT,
    "chat": Channel.CHAT,
    "walk-in": Channel.WALK_IN,
    "walk in": Channel.WALK_IN,
    "monitoring": Channel.MONITORING,
    "virtual agent": Channel.VIRTUAL_AGENT,
}
REQUIRED_COLUMNS = (
    "number",
    "incident_state",
    "sys_mod_count",
    "opened_at",
    "sys_updated_at",
    "impact",
    "urgency",
)
#: Columns copied into the opening event's ``source`` (when present and not ``?``).
OPENING_COLUMNS = (
    "opened_by",
    "sys_created_by",
    "sys_created_at",
    "contact_type",
    "location",
    "u_symptom",
    "cmdb_ci",
    "knowledge",
    "u_priority_confirmation",
    "notify",
)
#: Columns copied into the ``source`` of rows that resolve or close.
RESOLUTION_COLUMNS = ("closed_code", "resolved_by", "resolved_at", "closed_at")

_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_LEVEL = re.compile(r"^\s*(\d)\b")
_BOOLS = {"true": True, "false": False}
#: The largest count kept as a number in the events' import metadata: canonical JSON holds
#: integers up to 2**53 - 1 exactly and refuses larger ones.
MAX_EXACT_INT = 2**53 - 1


class ServiceNowFileError(DeskLedgerError, ValueError):
    """The file as a whole cannot be imported (unreadable, not a ServiceNow export)."""


class RowError(ValueError):
    """One row cannot be read; the message says which column and why."""


@dataclass(slots=True)
class SourceRow:
    """One update of an incident, read and typed (not frozen: built 10k times a second)."""

    line: int
    number: str
    state: TicketState
    hold_reason: HoldReason | None
    mod_count: int
    opened_at: datetime
    updated_at: datetime
    impact: int
    urgency: int
    priority: int | None
    group: str | None
    assignee: str | None
    problem: str | None
    values: dict[str, str]

    def get(self, column: str) -> str | None:
        """The raw value of ``column``, ``None`` when absent or ``?``."""
        return _text(self.values.get(column))


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if value in {"", "?"} else value


def parse_datetime(
    value: str, *, zone: tzinfo = UTC, cache: dict[str, datetime] | None = None
) -> datetime:
    """A day-first export timestamp (``29-02-2016 01:16``, ``29/2/2016 01:16``), read as wall
    time in ``zone`` (the instance's time zone), as a UTC instant."""
    if cache is not None and value in cache:
        return cache[value]
    match = _DATE.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a day-first date such as 29-02-2016 01:16")
    day, month, year, hour, minute, second = match.groups()
    try:
        wall = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=zone
        )
        parsed = wall.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{value!r} is not a valid date ({error})") from None
    if cache is not None:
        cache[value] = parsed
    return parsed


def parse_bool(value: str | None) -> bool | None:
    """``TRUE``/``true``/``False``... as a bool; ``?`` or empty as None."""
    text = _text(value)
    if text is None:
        return None
    try:
        return _BOOLS[text.lower()]
    except KeyError:
        raise ValueError(f"{value!r} is not true or false") from None


def parse_level(value: str | None) -> int | None:
    """``2 - Medium`` -> 2, ``3 - Moderate`` -> 3; ``?`` or empty -> None."""
    text = _text(value)
    if text is None:
        return None
    match = _LEVEL.match(text)
    if match is None:
        raise ValueError(f"{value!r} is not a level such as '2 - Medium'")
    return int(match.group(1))


class RowReader:
    """Types the columns of one row; raises :class:`RowError` naming the column."""

    def __init__(self, zone: tzinfo = UTC) -> None:
        self.zone = zone
        self.dates: dict[str, datetime] = {}
        self.levels: dict[str, int | None] = {}
        self.numbers: set[str] = set()

    def read(self, line: int, values: dict[str, str]) -> SourceRow:
        number = _text(values.get("number"))
        if number is None:
            raise RowError("number: is missing")
        if number not in self.numbers:
            try:
                ticket_ref(number)
            except DeskLedgerError:
                raise RowError(f"number: {number!r} is not a usable incident reference") from None
            self.numbers.add(number)
        raw_state = _text(values.get("incident_state"))
        if raw_state is None:
            raise RowError("incident_state: is missing")
        mapped = STATES.get(raw_state.lower())
        if mapped is None:
            known = ", ".join(s.title() for s in STATES)
            raise RowError(f"incident_state: unknown state {raw_state!r} (one of {known})")
        return SourceRow(
            line=line,
            number=number,
            state=mapped[0],
            hold_reason=mapped[1],
            mod_count=self._count(values),
            opened_at=self._date(values, "opened_at"),
            updated_at=self._date(values, "sys_updated_at"),
            impact=self._required_level(values, "impact"),
            urgency=self._required_level(values, "urgency"),
            priority=self._level(values, "priority"),
            group=_text(values.get("assignment_group")),
            assignee=_text(values.get("assigned_to")),
            problem=_text(values.get("problem_id")),
            values=values,
        )

    def _date(self, values: dict[str, str], column: str) -> datetime:
        raw = _text(values.get(column))
        if raw is None:
            raise RowError(f"{column}: is missing")
        try:
            return parse_datetime(raw, zone=self.zone, cache=self.dates)
        except ValueError as error:
            raise RowError(f"{column}: {error}") from None

    def _level(self, values: dict[str, str], column: str) -> int | None:
        raw = values.get(column, "")
        if raw in self.levels:
            return self.levels[raw]
        try:
            level = self.levels[raw] = parse_level(raw)
        except ValueError as error:
            raise RowError(f"{column}: {error}") from None
        return level

    def _required_level(self, values: dict[str, str], column: str) -> int:
        level = self._level(values, column)
        if level is None:
            raise RowError(f"{column}: is missing")
        if level not in (1, 2, 3):
            raise RowError(f"{column}: must be 1, 2 or 3, got {values.get(column)!r}")
        return level

    @staticmethod
    def _count(values: dict[str, str]) -> int:
        raw = _text(values.get("sys_mod_count"))
        if raw is None or not raw.isascii() or not raw.isdigit():
            raise RowError(f"sys_mod_count: {values.get('sys_mod_count')!r} is not a number")
        count = int(raw)
        if count > MAX_EXACT_INT:
            raise RowError(f"sys_mod_count: {raw} is larger than {MAX_EXACT_INT:,}")
        return count


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str], str | None]]:
    """``(line, values, problem)`` per data row; ``problem`` says why a row is malformed."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ServiceNowFileError(f"{path}: cannot read the file ({error.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise ServiceNowFileError(f"{path}: the file is empty") from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise ServiceNowFileError(f"{path}: not a CSV file ({error})") from None
        header = [name.strip() for name in header]
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            raise ServiceNowFileError(
                f"{path}: not a ServiceNow incident export, missing column(s) " + ", ".join(missing)
            )
        width = len(header)
        while True:
            first_line = reader.line_num + 1  # a quoted field may span several lines
            try:
                record = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as error:
                raise ServiceNowFileError(
                    f"{path}: line {first_line}: cannot read the file ({error})"
                ) from None
            if not record:
                continue
            values = dict(zip(header, record, strict=False))
            if len(record) != width:
                problem = f"has {len(record)} fields, the header has {width}"
                yield first_line, values, problem
                continue
            yield first_line, values, None
