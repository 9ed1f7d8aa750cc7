"""Importing a ServiceNow incident audit export (docs/servicenow-import.md) by replaying it through
the engine.

Each row becomes the commands that explain its differences from the previous row of the same
incident (:mod:`adapters.servicenow.planner`), applied with the row's ``sys_updated_at`` and
``sys_updated_by``. The engine computes its own counters, priorities and SLA verdicts; the
source's values (``sys_mod_count``, ``made_sla``, its counters and priority, who updated)
ride along as import metadata (``source``) on every event.

Decisions, so nobody has to rediscover them:

* **Times** carry no offset in the export; they are read in the instance's time zone
  (``zone``, UTC by default; the summary says which, and so does every event's
  ``source.timezone``: a reconciliation must read the file in the same zone).
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
  incident are reported as skipped, and the unit of work is discarded: nothing is written.
  A ``policy`` is installed in the same unit of work, before the rows are applied
  (priorities are computed under it), so a rejected file leaves no policy version behind.
* The engine counts what the rows show. The source sometimes counts a reassignment on an
  update whose exported group did not change (3 of the 890 incidents of the 6k test export);
  such counters differ, and the source's value stays in ``source.reassignment_count``.
* Rows are applied in file order; rows of different incidents may interleave. Title:
  ``<number>: <category> / <subcategory>``; caller: ``caller_id`` (else ``opened_by``);
  actor of the opening: ``opened_by`` (else ``sys_created_by``, ``sys_updated_by``).
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import yaml

from adapters.logging import get_logger
from adapters.servicenow.planner import (
    FALLBACK_ACTOR,
    SOURCE_SYSTEM,
    Replay,
    opening,
    source_metadata,
)
from adapters.servicenow.rows import RowError, RowReader, ServiceNowFileError, SourceRow, read_rows
from engine import commands as cmd
from engine.application import Desk
from engine.errors import DeskLedgerError
from engine.policy import Policy, parse_policy
from engine.unit_of_work import UnitOfWork

log = get_logger("deskledger.servicenow")

IMPORT_ACTOR = "servicenow-import"
Progress = Callable[[int, int], None]


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
    timezone: str = "UTC"
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
            "timezone": self.timezone,
            "failures": [
                {"line": f.line, "number": f.number, "reason": f.reason, "skipped": f.skipped}
                for f in self.failures
            ],
            "elapsed_seconds": round(self.elapsed, 3),
            "rows_per_second": round(self.rows_per_second, 1),
        }


@dataclass
class _Run:
    """One pass over the rows against a desk, inside a unit of work."""

    desk: Desk
    summary: ImportSummary
    progress: Progress | None
    policy: Policy = field(default_factory=Policy.default)
    replay: Replay = field(default_factory=Replay)
    mod_counts: dict[str, dict[int, int]] = field(default_factory=dict)
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
            why = f"skipped: an earlier row of {number} (line {self.failed[number]}) failed"
            self.summary.failures.append(RowFailure(row.line, number, why, skipped=True))
            return
        step = self.replay.plan(row)
        mod_counts = self.mod_counts.get(number)
        if mod_counts is None:  # not setdefault: that would build a dict for every row
            mod_counts = self.mod_counts[number] = {}
        occurrence = mod_counts[row.mod_count] = mod_counts.get(row.mod_count, 0) + 1
        key = f"{SOURCE_SYSTEM}:{number}:{row.mod_count}" + (
            f"#{occurrence}" if occurrence > 1 else ""
        )
        planned: list[tuple[cmd.Command, datetime, str]] = []
        if step.opening:
            opener = row.get("opened_by") or row.get("sys_created_by") or row.get("sys_updated_by")
            planned.append((opening(row), row.opened_at, opener or FALLBACK_ACTOR))
        actor = row.get("sys_updated_by") or FALLBACK_ACTOR
        planned.extend((command, step.at, actor) for command in step.commands)
        # The engine's priority is the policy's matrix at the row's impact and urgency.
        if row.priority not in (None, self.policy.priority(row.impact, row.urgency)):
            self.summary.priority_differs += 1
        if not planned:
            self.summary.unchanged += 1
            return
        source = source_metadata(
            row, opening=step.opening, clamped=step.clamped, timezone=self.summary.timezone
        )
        new_events: list[str] = []
        for command, when, who in planned:
            command_id = f"{key}:{cmd.command_name(command)}"
            try:
                result = self.desk.handle(
                    command, actor=who, at=when, command_id=command_id, source=source
                )
            except DeskLedgerError as error:
                self.failed[number] = row.line
                self.summary.failures.append(RowFailure(row.line, number, str(error)))
                return
            new_events.extend(result.events)
        if step.clamped:
            self.summary.clamped.append(ClampedRow(row.line, number, row.updated_at, step.at))
        if not new_events:
            self.summary.duplicates += 1
            return
        self.summary.rows_with_events += 1
        self.summary.events.update(new_events)


def _read(path: Path, summary: ImportSummary, zone: tzinfo) -> list[SourceRow | RowFailure]:
    """Every row of the file, typed, or the reason it cannot be read."""
    reader = RowReader(zone)
    rows: list[SourceRow | RowFailure] = []
    numbers: set[str] = set()
    for line, values, problem in read_rows(path):
        number = (values.get("number") or "").strip() or None
        if number is not None and number != "?":
            numbers.add(number)
        if problem is not None:
            rows.append(RowFailure(line, number, problem))
            continue
        try:
            rows.append(reader.read(line, values))
        except RowError as error:
            rows.append(RowFailure(line, number, str(error)))
    summary.rows = len(rows)
    summary.incidents = len(numbers)
    return rows


def _apply_all(
    unit: UnitOfWork,
    run: _Run,
    rows: list[SourceRow | RowFailure],
    policy: Policy | None,
) -> None:
    """Install ``policy`` (if it changes anything) and apply every row; discard the unit of
    work if anything failed, so a rejected file leaves nothing behind, not even the policy.
    The desk learns the file's incidents first: which of them the store holds is one query,
    not a read per incident the file opens."""
    if policy is not None:
        run.desk.load_policy(policy, actor=IMPORT_ACTOR)
    run.desk.expect_tickets(dict.fromkeys(r.number for r in rows if isinstance(r, SourceRow)))
    run.policy = run.desk.policy()
    run.summary.policy_version = run.policy.version
    run.apply(rows)
    if run.summary.failures:
        unit.discard()


def import_servicenow(
    desk: Desk,
    path: str | Path,
    *,
    policy: Mapping[str, Any] | Policy | None = None,
    zone: tzinfo = UTC,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a ServiceNow incident export into ``desk``; see the module docstring.

    ``policy`` (a parsed policy mapping or :class:`~engine.policy.Policy`) is installed
    first; ``zone`` is the instance's time zone for the export's timestamps;
    ``progress(rows_done, rows_total)`` is called as rows are applied. Raises
    :class:`ServiceNowFileError` when the file as a whole is unusable and
    :class:`~engine.errors.PolicyError` for an invalid policy; problems with single rows are
    in the returned summary (``summary.ok`` is False and nothing was written).
    """
    started = time.perf_counter()
    path = Path(path)
    wanted = policy if policy is None or isinstance(policy, Policy) else parse_policy(policy)
    summary = ImportSummary(path=str(path), timezone=str(zone))
    with _collector_paused():
        rows = _read(path, summary, zone)
        with desk.unit_of_work() as unit:
            _apply_all(unit, _Run(desk, summary, progress), rows, wanted)
    summary.written = summary.ok
    summary.elapsed = time.perf_counter() - started
    return _logged(summary)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while an import runs (and restored after).

    An import holds every row and every pending event until its one commit: millions of
    objects, none of them garbage, which each full collection walks again; the 60k-row file
    spent a fifth of its time there. Reference counting still frees what the import drops.
    The switch is the process's: another thread's cycles wait until the import ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    # A rejected file is the caller's to report (the CLI prints it as its error): logged at
    # info like a successful import, so that stderr carries it once.
    log.info("servicenow.imported" if summary.ok else "servicenow.rejected", **fields)
    return summary


def load_policy_file(path: str | Path) -> Policy:
    """Read and validate a YAML policy file (docs/policy.md)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ServiceNowFileError(f"{path}: cannot read the policy ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ServiceNowFileError(f"{path}: the policy is not UTF-8 text ({error})") from None
    except yaml.YAMLError as error:
        raise ServiceNowFileError(f"{path}: not valid YAML ({error})") from None
    return parse_policy(raw)
