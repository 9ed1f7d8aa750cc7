"""Import a ServiceNow incident audit export (SPEC §11) by replaying it through the engine.

One CSV row per update of an incident. Each row becomes the commands that explain its
differences from the previous row of the same incident (the first row: ``open`` at
``opened_at`` plus the transitions that reach its state), applied with the row's
``sys_updated_at`` and ``sys_updated_by``. The engine computes its own counters and
priorities; the source's values (``sys_mod_count``, ``made_sla``, its counters and priority,
who updated) ride along as import metadata (``source``) on every event.

Decisions, so nobody has to rediscover them:

* **Times are UTC.** The export carries no offset; ``29-02-2016 01:16`` and
  ``29/2/2016 01:16`` (day first) are both read as UTC wall-clock time.
* **Out-of-order timestamps are clamped.** A few rows update earlier than the previous row of
  their incident (or than its ``opened_at``); the engine keeps each ticket's events in time
  order, so such a row is applied at the ticket's last event time and its own time is kept as
  ``source.clamped_from``. The summary lists every clamped row.
* **Idempotent.** Command ids are ``servicenow:<number>:<sys_mod_count>:<command>``
  (``servicenow:INC0000045:2:resolve``; a row plans each command at most once); a
  ``sys_mod_count`` that repeats within an incident gets ``#2``, ``#3``... in file order.
  Commands are planned from the rows alone (not from what the store holds), so re-importing
  a file — or a longer export of the same history — plans the same commands with the same
  ids, and the engine skips the ones it has already seen. A file that tells an incident's
  history differently (say, without its first rows) plans other commands, which the engine
  then rejects (``ticket ... already exists``, a transition from ``closed``...) rather than
  mistaking them for ones it has seen.
* **All or nothing per file.** Every row is applied inside one unit of work. When any row
  fails, every failing row is reported (line, incident, reason), later rows of a failed
  incident are reported as skipped, and nothing is written. A ``--policy`` is installed
  in the same unit of work, before the rows are applied (priorities are computed under it),
  so a rejected file leaves no policy version behind either.
* The engine starts work when a person is assigned to a ``new`` ticket (SPEC §2); the planner
  follows the same rule, so a later ``Active`` row adds no ``start``.
* The engine counts what the rows show. The source sometimes counts a reassignment on an
  update whose exported group did not change (3 of the 890 incidents of the 6k test export);
  such counters differ, and the source's value stays in ``source.reassignment_count``.
* Rows are applied in file order; rows of different incidents may interleave. Title:
  ``<number>: <category> / <subcategory>``; caller: ``caller_id`` (else ``opened_by``);
  actor of the opening: ``opened_by`` (else ``sys_created_by``, ``sys_updated_by``).
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
import yaml
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from engine import commands as cmd
from engine.application import Desk
from engine.errors import DeskLedgerError
from engine.ids import ticket_ref
from engine.policy import Policy, parse_policy

log = structlog.get_logger("deskledger.servicenow")

SOURCE_SYSTEM = "servicenow"
IMPORT_ACTOR = "servicenow-import"
FALLBACK_ACTOR = "servicenow"
DEFAULT_RESOLUTION_CODE = "resolved"
RESOLUTION_NOTES = "imported from ServiceNow"
HOLD_COMMENT = "Awaiting User Info (imported from ServiceNow)"

#: ``incident_state`` (lower case) -> (DeskLedger state, hold reason).
STATES: dict[str, tuple[str, str | None]] = {
    "new": ("new", None),
    "active": ("in_progress", None),
    "awaiting user info": ("on_hold", "awaiting_caller"),
    "awaiting vendor": ("on_hold", "awaiting_vendor"),
    "awaiting problem": ("on_hold", "awaiting_problem"),
    "awaiting change": ("on_hold", "awaiting_change"),
    "awaiting evidence": ("on_hold", "awaiting_evidence"),
    "resolved": ("resolved", None),
    "closed": ("closed", None),
}
#: ``contact_type`` (lower case) -> channel. ``Direct opt-in`` names a notification
#: preference, not a way of contacting the desk, so it (like anything unknown) maps to None;
#: the raw value is kept in the opening's ``source``.
CHANNELS: dict[str, str] = {
    "phone": "phone",
    "email": "email",
    "e-mail": "email",
    "self service": "portal",
    "self-service": "portal",
    "portal": "portal",
    "im": "chat",
    "chat": "chat",
    "walk-in": "walk_in",
    "walk in": "walk_in",
    "monitoring": "monitoring",
    "virtual agent": "virtual_agent",
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


class ServiceNowFileError(DeskLedgerError, ValueError):
    """The file as a whole cannot be imported (unreadable, not a ServiceNow export)."""


class _RowError(ValueError):
    """One row cannot be read; the message says which column and why."""


# ---------------------------------------------------------------------- reading the file


@dataclass(slots=True)
class SourceRow:
    """One update of an incident, read and typed (not frozen: built 10k times a second)."""

    line: int
    number: str
    state: str
    hold_reason: str | None
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


def parse_datetime(value: str, *, cache: dict[str, datetime] | None = None) -> datetime:
    """A day-first export timestamp (``29-02-2016 01:16``, ``29/2/2016 01:16``) as UTC."""
    if cache is not None and value in cache:
        return cache[value]
    match = _DATE.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a day-first date such as 29-02-2016 01:16")
    day, month, year, hour, minute, second = match.groups()
    try:
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC
        )
    except ValueError as error:
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


class _RowReader:
    """Types the columns of one row; raises :class:`_RowError` naming the column."""

    def __init__(self) -> None:
        self.dates: dict[str, datetime] = {}
        self.levels: dict[str, int | None] = {}
        self.numbers: set[str] = set()

    def read(self, line: int, values: dict[str, str]) -> SourceRow:
        number = _text(values.get("number"))
        if number is None:
            raise _RowError("number: is missing")
        if number not in self.numbers:
            try:
                ticket_ref(number)
            except DeskLedgerError:
                raise _RowError(f"number: {number!r} is not a usable incident reference") from None
            self.numbers.add(number)
        raw_state = _text(values.get("incident_state"))
        if raw_state is None:
            raise _RowError("incident_state: is missing")
        mapped = STATES.get(raw_state.lower())
        if mapped is None:
            known = ", ".join(s.title() for s in STATES)
            raise _RowError(f"incident_state: unknown state {raw_state!r} (one of {known})")
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
            raise _RowError(f"{column}: is missing")
        try:
            return parse_datetime(raw, cache=self.dates)
        except ValueError as error:
            raise _RowError(f"{column}: {error}") from None

    def _level(self, values: dict[str, str], column: str) -> int | None:
        raw = values.get(column, "")
        if raw in self.levels:
            return self.levels[raw]
        try:
            level = self.levels[raw] = parse_level(raw)
        except ValueError as error:
            raise _RowError(f"{column}: {error}") from None
        return level

    def _required_level(self, values: dict[str, str], column: str) -> int:
        level = self._level(values, column)
        if level is None:
            raise _RowError(f"{column}: is missing")
        if level not in (1, 2, 3):
            raise _RowError(f"{column}: must be 1, 2 or 3, got {values.get(column)!r}")
        return level

    @staticmethod
    def _count(values: dict[str, str]) -> int:
        raw = _text(values.get("sys_mod_count"))
        if raw is None or not raw.isdigit():
            raise _RowError(f"sys_mod_count: {values.get('sys_mod_count')!r} is not a number")
        return int(raw)


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
        try:
            for record in reader:
                if not record:
                    continue
                values = dict(zip(header, record, strict=False))
                if len(record) != width:
                    problem = f"has {len(record)} fields, the header has {width}"
                    yield reader.line_num, values, problem
                    continue
                yield reader.line_num, values, None
        except (csv.Error, UnicodeDecodeError) as error:
            raise ServiceNowFileError(
                f"{path}: line {reader.line_num + 1}: cannot read the file ({error})"
            ) from None


# ---------------------------------------------------------------------- the summary


@dataclass(frozen=True)
class RowFailure:
    """A row that could not be applied (or was skipped because an earlier row failed)."""

    line: int
    number: str | None
    reason: str
    skipped: bool = False


@dataclass(frozen=True)
class ClampedRow:
    """A row applied later than its own ``sys_updated_at`` to keep the ticket in time order."""

    line: int
    number: str
    sys_updated_at: datetime
    applied_at: datetime


@dataclass
class ImportSummary:
    """What an import did: rows read, which became which events, and every problem."""

    path: str
    rows: int = 0
    incidents: int = 0
    rows_with_events: int = 0
    unchanged: int = 0
    duplicates: int = 0
    events: Counter[str] = field(default_factory=Counter)
    failures: list[RowFailure] = field(default_factory=list)
    clamped: list[ClampedRow] = field(default_factory=list)
    priority_differs: int = 0
    policy_version: int = 0
    written: bool = False
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failed(self) -> int:
        return sum(1 for failure in self.failures if not failure.skipped)

    @property
    def skipped(self) -> int:
        return sum(1 for failure in self.failures if failure.skipped)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "ok": self.ok,
            "written": self.written,
            "rows": self.rows,
            "incidents": self.incidents,
            "rows_with_events": self.rows_with_events,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "skipped": self.skipped,
            "events": dict(sorted(self.events.items())),
            "event_total": sum(self.events.values()),
            "clamped": [
                {
                    "line": c.line,
                    "number": c.number,
                    "sys_updated_at": c.sys_updated_at.isoformat(),
                    "applied_at": c.applied_at.isoformat(),
                }
                for c in self.clamped
            ],
            "priority_differs": self.priority_differs,
            "policy_version": self.policy_version,
            "failures": [
                {"line": f.line, "number": f.number, "reason": f.reason, "skipped": f.skipped}
                for f in self.failures
            ],
            "elapsed_seconds": round(self.elapsed, 3),
            "rows_per_second": round(self.rows_per_second, 1),
        }


# ---------------------------------------------------------------------- planning


@dataclass
class _Incident:
    """What the rows so far say about one incident: the base the next row is diffed against."""

    state: str
    hold_reason: str | None
    group: str | None
    assignee: str | None
    impact: int
    urgency: int
    problem: str | None
    last_at: datetime
    version: int = 0
    mod_counts: Counter[int] = field(default_factory=Counter)


def _opening(row: SourceRow) -> cmd.Open:
    category, subcategory = row.get("category"), row.get("subcategory")
    topic = " / ".join(part for part in (category, subcategory) if part)
    contact = row.get("contact_type")
    return cmd.Open(
        ref=row.number,
        title=f"{row.number}: {topic}" if topic else f"ServiceNow incident {row.number}",
        caller=row.get("caller_id") or row.get("opened_by") or FALLBACK_ACTOR,
        impact=row.impact,
        urgency=row.urgency,
        channel=CHANNELS.get(contact.lower()) if contact else None,
        category=category,
        subcategory=subcategory,
        service=row.get("cmdb_ci"),
        group=row.group,
        assignee=row.assignee,
    )


def _plan(incident: _Incident, row: SourceRow) -> list[cmd.Command]:
    """The commands that take ``incident`` to what ``row`` says; updates ``incident``."""
    ref = row.number
    planned: list[cmd.Command] = []
    group_changed = row.group != incident.group
    assignee_changed = row.assignee != incident.assignee
    if group_changed or assignee_changed:
        fields: dict[str, str | None] = {}
        if group_changed:
            fields["group"] = row.group
        if assignee_changed:
            fields["assignee"] = row.assignee
        planned.append(cmd.Assign(ref=ref, **fields))
        incident.group, incident.assignee = row.group, row.assignee
        if incident.state == "new" and assignee_changed and row.assignee is not None:
            incident.state = "in_progress"  # the engine starts work on assignment
    if (row.impact, row.urgency) != (incident.impact, incident.urgency):
        planned.append(
            cmd.Reprioritize(
                ref=ref,
                impact=row.impact,
                urgency=row.urgency,
                reason="impact/urgency changed in ServiceNow",
            )
        )
        incident.impact, incident.urgency = row.impact, row.urgency
    if row.problem is not None and row.problem != incident.problem:
        planned.append(cmd.LinkProblem(ref=ref, problem=row.problem))
        incident.problem = row.problem
    planned.extend(_transitions(incident, row))
    return planned


def _transitions(incident: _Incident, row: SourceRow) -> list[cmd.Command]:
    """The lifecycle commands from the incident's state to the row's state."""
    ref, state, target = row.number, incident.state, row.state
    if state == target and incident.hold_reason == row.hold_reason:
        return []
    if target == "new" and state in {"new", "in_progress"}:
        return []  # work already started (by an assignment): the engine never goes back to new
    steps: list[cmd.Command] = []
    if state in {"resolved", "closed"} and target in {"new", "in_progress", "on_hold"}:
        steps.append(
            cmd.Reopen(ref=ref, reason=f"reopened in ServiceNow ({row.get('incident_state')})")
        )
        state = "in_progress"
    if state == "on_hold" and target not in {"resolved", "closed"}:
        steps.append(cmd.Resume(ref=ref))
        state = "in_progress"
    if target == "in_progress" and state == "new":
        steps.append(cmd.Start(ref=ref))
    elif target == "on_hold":
        comment = HOLD_COMMENT if row.hold_reason == "awaiting_caller" else None
        steps.append(cmd.Hold(ref=ref, reason=row.hold_reason or "", comment=comment))
    elif target in {"resolved", "closed"} and state != "resolved":
        steps.append(
            cmd.Resolve(
                ref=ref,
                code=row.get("closed_code") or DEFAULT_RESOLUTION_CODE,
                notes=RESOLUTION_NOTES,
            )
        )
    if target == "closed":
        steps.append(cmd.Close(ref=ref))
    incident.state = "in_progress" if target == "new" else target
    incident.hold_reason = row.hold_reason
    return steps


def _source(row: SourceRow, *, opening: bool, clamped: bool) -> dict[str, Any]:
    """The import metadata every event of ``row`` carries.

    The row's own time is the event's ``occurred_at`` (``clamped_from`` when it had to move)
    and its number is the event's ticket, so neither is repeated here.
    """
    values = row.values
    meta: dict[str, Any] = {
        "system": SOURCE_SYSTEM,
        "line": row.line,
        "sys_mod_count": row.mod_count,
        "incident_state": values["incident_state"],
        "sys_updated_by": values.get("sys_updated_by"),
        "made_sla": _lenient_bool(values.get("made_sla")),
        "reassignment_count": _lenient_int(values.get("reassignment_count")),
        "reopen_count": _lenient_int(values.get("reopen_count")),
        "priority": row.priority,
    }
    if clamped:
        meta["clamped_from"] = row.updated_at.isoformat()
    columns: tuple[str, ...] = OPENING_COLUMNS if opening else ()
    if row.state in {"resolved", "closed"}:
        columns += RESOLUTION_COLUMNS
    for column in columns:
        value = row.get(column)
        if value is not None:
            meta[column] = value
    return meta


def _lenient_bool(value: str | None) -> bool | str | None:
    """Metadata keeps what the source said: a bool when it reads as one, else the text."""
    try:
        return parse_bool(value)
    except ValueError:
        return _text(value)


def _lenient_int(value: str | None) -> int | str | None:
    text = _text(value)
    return int(text) if text is not None and text.isdigit() else text


# ---------------------------------------------------------------------- applying


class _Rejected(Exception):  # noqa: N818 - control flow: unwinds the unit of work
    """Raised inside the unit of work so that nothing is written."""


@dataclass
class _Run:
    """One pass over the rows against a desk (inside a unit of work)."""

    desk: Desk
    summary: ImportSummary
    progress: Callable[[int, int], None] | None
    policy: Policy
    incidents: dict[str, _Incident] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    def apply(self, rows: list[SourceRow | RowFailure]) -> None:
        total = len(rows)
        for done, row in enumerate(rows, start=1):
            if isinstance(row, RowFailure):
                self.summary.failures.append(row)
                if row.number is not None:
                    self.failed.setdefault(row.number, row.line)
            else:
                self._apply_row(row)
            if self.progress is not None and (done % 500 == 0 or done == total):
                self.progress(done, total)

    def _apply_row(self, row: SourceRow) -> None:
        number = row.number
        if number in self.failed:
            self.summary.failures.append(
                RowFailure(
                    row.line,
                    number,
                    f"skipped: an earlier row of {number} (line {self.failed[number]}) failed",
                    skipped=True,
                )
            )
            return
        incident = self.incidents.get(number)
        opening = incident is None
        if incident is None:
            incident = _Incident(
                state="new",
                hold_reason=None,
                group=row.group,
                assignee=row.assignee,
                impact=row.impact,
                urgency=row.urgency,
                problem=None,
                last_at=row.opened_at,
            )
            self.incidents[number] = incident
        at = max(row.updated_at, incident.last_at)
        clamped = at != row.updated_at
        occurrence = incident.mod_counts[row.mod_count] = incident.mod_counts[row.mod_count] + 1
        key = f"{SOURCE_SYSTEM}:{number}:{row.mod_count}" + (
            f"#{occurrence}" if occurrence > 1 else ""
        )
        planned: list[tuple[cmd.Command, datetime, str]] = []
        if opening:
            opener = row.get("opened_by") or row.get("sys_created_by") or row.get("sys_updated_by")
            planned.append((_opening(row), row.opened_at, opener or FALLBACK_ACTOR))
        actor = row.get("sys_updated_by") or FALLBACK_ACTOR
        planned.extend((command, at, actor) for command in _plan(incident, row))
        incident.last_at = at
        # The engine's priority is the policy's matrix at the row's impact and urgency.
        if row.priority not in (None, self.policy.priority(row.impact, row.urgency)):
            self.summary.priority_differs += 1
        if not planned:
            self.summary.unchanged += 1
            return
        source = _source(row, opening=opening, clamped=clamped)
        new_events: list[str] = []
        try:
            for command, when, who in planned:
                command_id = f"{key}:{cmd.command_name(command)}"
                result = self.desk.handle(
                    command, actor=who, at=when, command_id=command_id, source=source
                )
                if not result.duplicate:
                    # In a unit of work result.events lists every pending event of the
                    # ticket; the version step says how many are this command's.
                    count = result.version - incident.version
                    new_events.extend(result.events[len(result.events) - count :])
                incident.version = result.version
        except DeskLedgerError as error:
            self.failed[number] = row.line
            self.summary.failures.append(RowFailure(row.line, number, str(error)))
            return
        if clamped:
            self.summary.clamped.append(ClampedRow(row.line, number, row.updated_at, at))
        if not new_events:
            self.summary.duplicates += 1
            return
        self.summary.rows_with_events += 1
        self.summary.events.update(new_events)


def _read(path: Path, summary: ImportSummary) -> list[SourceRow | RowFailure]:
    """Every row of the file, typed, or the reason it cannot be read."""
    reader = _RowReader()
    rows: list[SourceRow | RowFailure] = []
    numbers: set[str] = set()
    for line, values, problem in read_rows(path):
        number = _text(values.get("number"))
        if number is not None:
            numbers.add(number)
        if problem is not None:
            rows.append(RowFailure(line, number, problem))
            continue
        try:
            rows.append(reader.read(line, values))
        except _RowError as error:
            rows.append(RowFailure(line, number, str(error)))
    summary.rows = len(rows)
    summary.incidents = len(numbers)
    return rows


def _discard_unless(keep: bool) -> None:
    """Unwind the enclosing unit of work (so it writes nothing) unless ``keep``."""
    if not keep:
        raise _Rejected


def _pass(
    desk: Desk,
    rows: list[SourceRow | RowFailure],
    summary: ImportSummary,
    progress: Callable[[int, int], None] | None,
    *,
    policy: Policy | None,
) -> None:
    """Install ``policy`` (if it changes anything) and apply every row, in one unit of work
    that writes only if nothing failed: a rejected file leaves no policy version behind."""
    try:
        with desk.unit_of_work():
            if policy is not None:
                desk.load_policy(policy, actor=IMPORT_ACTOR)
            summary.policy_version = desk.policy().version
            _Run(desk, summary, progress, desk.policy()).apply(rows)
            _discard_unless(not summary.failures)
    except _Rejected:
        return
    summary.written = True


def import_servicenow(
    desk: Desk,
    path: str | Path,
    *,
    policy: Mapping[str, Any] | Policy | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import a ServiceNow incident export into ``desk``; see the module docstring.

    ``policy`` (a parsed policy mapping or :class:`~engine.policy.Policy`) is installed
    first; ``progress(rows_done, rows_total)`` is called as rows are applied. Raises
    :class:`ServiceNowFileError` when the file as a whole is unusable and
    :class:`~engine.errors.PolicyError` for an invalid policy; problems with single rows are
    in the returned summary (``summary.ok`` is False and nothing was written).
    """
    started = time.perf_counter()
    path = Path(path)
    wanted = policy if policy is None or isinstance(policy, Policy) else parse_policy(policy)
    summary = ImportSummary(path=str(path))
    rows = _read(path, summary)
    _pass(desk, rows, summary, progress, policy=wanted)
    summary.elapsed = time.perf_counter() - started
    return _logged(summary)


def _logged(summary: ImportSummary) -> ImportSummary:
    fields = {
        "file": summary.path,
        "rows": summary.rows,
        "events": sum(summary.events.values()),
        "unchanged": summary.unchanged,
        "duplicates": summary.duplicates,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "clamped": len(summary.clamped),
        "seconds": round(summary.elapsed, 3),
    }
    if summary.ok:
        log.info("servicenow.imported", **fields)
    else:
        log.warning("servicenow.rejected", **fields)
    return summary


# ---------------------------------------------------------------------- the command line


def load_policy_file(path: str | Path) -> Policy:
    """Read and validate a YAML policy file (SPEC §7)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ServiceNowFileError(f"{path}: cannot read the policy ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ServiceNowFileError(f"{path}: not valid YAML ({error})") from None
    return parse_policy(raw)


def run_import(
    desk: Desk, path: str | Path, policy_path: str | Path | None, json_output: bool
) -> int:
    """``deskledger import servicenow FILE [--policy FILE] [--json]``; returns the exit code.

    0: imported (or nothing new); 2: bad input (a failing row, the file, the policy) and
    nothing written; 3: the store is unavailable. The summary goes to stdout (a table, or
    JSON); a whole-file error goes to stderr as one line (JSON with ``--json``).
    """
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    try:
        policy = load_policy_file(policy_path) if policy_path is not None else None
        if out.is_terminal and not json_output:
            with _progress_bar(out) as progress:
                summary = import_servicenow(desk, path, policy=policy, progress=progress)
        else:
            summary = import_servicenow(desk, path, policy=policy)
    except DeskLedgerError as error:
        _error(err, error, json_output)
        return 2
    except PersistenceError as error:
        _error(err, error, json_output)
        return 3
    if json_output:
        sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
    else:
        render_summary(out, summary)
    return 0 if summary.ok else 2


def _error(console: Console, error: Exception, json_output: bool) -> None:
    if json_output:
        sys.stderr.write(json.dumps({"error": type(error).__name__, "message": str(error)}) + "\n")
    else:
        console.print(f"error: {error}", markup=False)


@contextmanager
def _progress_bar(console: Console) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar fed by ``progress(done, total)`` callbacks."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("importing rows", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def render_summary(console: Console, summary: ImportSummary) -> None:
    """The human summary: counts, events per type, clamped rows and every failure."""
    table = Table(title=f"ServiceNow import: {summary.path}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    outcome = "written" if summary.written else "nothing written"
    table.add_row("rows read", str(summary.rows))
    table.add_row("incidents", str(summary.incidents))
    table.add_row("rows that became events", str(summary.rows_with_events))
    for name, count in sorted(summary.events.items()):
        table.add_row(f"  {name}", str(count))
    table.add_row("rows unchanged (no event)", str(summary.unchanged))
    table.add_row("rows already imported", str(summary.duplicates))
    table.add_row("rows failed", str(summary.failed))
    table.add_row("rows skipped (earlier row failed)", str(summary.skipped))
    table.add_row("rows clamped to keep time order", str(len(summary.clamped)))
    table.add_row("rows whose priority differs from the source", str(summary.priority_differs))
    table.add_row("policy version", str(summary.policy_version))
    table.add_row("result", outcome)
    table.add_row("elapsed", f"{summary.elapsed:.2f} s ({summary.rows_per_second:,.0f} rows/s)")
    console.print(table)
    if summary.clamped:
        clamped = Table(title="Rows applied later than their sys_updated_at")
        for column in ("line", "incident", "sys_updated_at", "applied at"):
            clamped.add_column(column)
        for c in summary.clamped:
            clamped.add_row(
                str(c.line), c.number, c.sys_updated_at.isoformat(), c.applied_at.isoformat()
            )
        console.print(clamped)
    if summary.priority_differs:
        console.print(
            "The engine's priority differs from the source's on some rows: "
            "does the policy's priority_matrix match the instance? (--policy FILE)"
        )
    if summary.failures:
        failures = Table(title="Rows that could not be applied (nothing was written)")
        for column in ("line", "incident", "reason"):
            failures.add_column(column)
        for f in summary.failures:
            failures.add_row(str(f.line), f.number or "?", f.reason)
        console.print(failures)
