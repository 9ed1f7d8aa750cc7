"""Scenarios (docs/scenarios.md): scripted ticket histories on a simulated clock, with expectations.

A scenario file is YAML: ``name``, ``policy`` (a path relative to the file, or an inline
mapping), ``start``, ``steps`` and ``expect``. Each step runs one command (``do``, fields in
``with``, actor in ``as``, optional ``command_id`` and ``expected_version``) at ``at`` — an
offset from ``start`` (``+4m``, ``+1h30m``) or an absolute ISO instant — or ``advance`` to
move the clock, or ``load_policy`` (``with: {policy: FILE-or-mapping}``) to install a new
policy version mid-history.

Expectations (each may add ``as_of: T``, else it is checked at the end of the scenario):

* ``ticket: REF`` with ticket fields (``state``, ``priority``, ``affected_users``...) and
  ``sla: {NAME: {stage, due_at, elapsed_seconds, breached_at}}``;
* ``step: N`` with ``error: ClassName`` (the step must be rejected);
* ``queue:`` the queue as ``deskledger queue`` orders it: a list of refs (the whole queue, in
  order), or a mapping with optional ``group``, ``assignee``, ``tier`` (the queue's filters)
  and ``refs`` (the whole queue, in order) and/or ``entries`` (the whole queue, each entry a
  mapping of the fields to check, e.g. ``{ref: INC1, next_due_at: ...}``);
* ``report:`` figures of ``deskledger report`` by their JSON names, nested as in the report
  (``volume: {opened: 3}``, ``sla: {P1 resolution: {adherence: 0.5}}``, ``fcr_rate: 0.5``);
  a mapping checks only the keys it gives. ``from``, ``to`` (instants or offsets from
  ``start``) and ``group`` choose the report's period and group;
* ``timeline: REF`` with keys of ``deskledger timeline REF --json`` (``children``,
  ``affected_users``, ``intervals``, ``communications``, ``review``...): a mapping checks
  only the keys it gives, a list of mappings checks its length and, in each item, the keys
  given (``communications: [{audience: staff, occurred_at: ...}, ...]``), anything else
  is compared whole.

A failed expectation is listed with its expected and actual values; a key an expectation
does not know is a :class:`ScenarioError` naming it and the valid ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from adapters.logging import get_logger
from engine.application import EARLIEST, LATEST, CommandResult, Desk
from engine.commands import COMMANDS
from engine.durations import parse_duration
from engine.errors import DeskLedgerError, TicketNotFoundError
from engine.policy import Policy, parse_policy
from engine.sla import TIMER_FIELDS, TimerStatus
from engine.views import VIEW_FIELDS, ticket_view
from engine.vocabulary import SlaStage
from projections.queries import Queries
from projections.views import open_views

log = get_logger("deskledger.scenario")

_STEP_KEYS = {"at", "as", "do", "with", "command_id", "expected_version"}
_ACTIONS = frozenset({*COMMANDS, "advance", "load_policy"})
_TICKET_KEYS = frozenset({"ticket", "as_of", "sla", *VIEW_FIELDS})
_UNSUPPORTED = (
    "unsupported expectation (use 'ticket:', 'queue:', 'report:', 'timeline:', "
    "or 'step:' with 'error:')"
)


class ScenarioError(DeskLedgerError, ValueError):
    """The scenario file itself is invalid (not an expectation that failed)."""

    def __init__(self, path: Path | str, where: str, problem: str) -> None:
        self.path = str(path)
        self.where = where
        super().__init__(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold."""

    expectation: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.expectation}: expected {self.expected!r}, got {self.actual!r}"


@dataclass
class ScenarioResult:
    name: str
    path: str
    steps: int = 0
    checks: int = 0
    failures: list[Failure] = field(default_factory=list)
    errors: dict[int, DeskLedgerError] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "ok": self.ok,
            "steps": self.steps,
            "checks": self.checks,
            "failures": [
                {"expectation": f.expectation, "expected": _plain(f.expected), "actual": f.actual}
                for f in self.failures
            ],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _instant(value: Any, start: datetime | None, path: Path, where: str) -> datetime:
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str) and value.startswith(("+", "-")) and start is not None:
        try:
            delta = parse_duration(value[1:])
            instant = start + delta if value[0] == "+" else start - delta
        except ValueError as error:
            raise ScenarioError(path, where, str(error)) from None
        except OverflowError:  # past the end of the calendar: outside the years below
            raise ScenarioError(path, where, _out_of_range(value)) from None
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise ScenarioError(
                path, where, f"{value!r} is neither an offset like '+4m' nor an ISO instant"
            ) from None
    else:
        raise ScenarioError(path, where, f"expected an instant, got {value!r}")
    if instant.tzinfo is None:
        raise ScenarioError(path, where, f"{value!r} has no UTC offset")
    if not EARLIEST <= instant <= LATEST:
        raise ScenarioError(path, where, _out_of_range(value))
    return instant


def _out_of_range(value: Any) -> str:
    shown = value.isoformat() if isinstance(value, datetime) else repr(value)
    return f"{shown} is outside the years {EARLIEST.year} to {LATEST.year}"


def load_scenario(path: Path) -> dict[str, Any]:
    """Read and shape-check a scenario file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(path, "", f"cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ScenarioError(path, "", f"not UTF-8 text (byte {error.start})") from None
    except yaml.YAMLError as error:
        raise ScenarioError(path, "", f"invalid YAML: {error}") from None
    if not isinstance(document, Mapping):
        raise ScenarioError(path, "", "a scenario is a mapping with name, start, steps, expect")
    unknown = set(document) - {"name", "description", "policy", "start", "steps", "expect"}
    if unknown:
        raise ScenarioError(path, min(unknown), "unknown key")
    for key in ("start", "steps"):
        if key not in document:
            raise ScenarioError(path, key, "is required")
    if not isinstance(document["steps"], list):
        raise ScenarioError(path, "steps", "must be a list")
    if not isinstance(document.get("expect", []) or [], list):
        raise ScenarioError(path, "expect", "must be a list")
    return dict(document)


def scenario_policy(document: Mapping[str, Any], path: Path) -> Mapping[str, Any] | None:
    """The scenario's policy mapping (inline, or read from a path relative to the file)."""
    if document.get("policy") is None:
        return None
    return _policy_source(document, path, "policy")


def _policy_source(holder: Mapping[str, Any], path: Path, where: str) -> Mapping[str, Any]:
    """``holder['policy']``: an inline mapping, or a YAML file relative to the scenario."""
    policy = holder.get("policy")
    if isinstance(policy, Mapping):
        return policy
    if not isinstance(policy, str):
        raise ScenarioError(path, where, "give a policy file (relative path) or a mapping")
    policy_path = path.parent / policy
    try:
        policy_path = policy_path.resolve()
        loaded = yaml.safe_load(policy_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(path, where, f"cannot read {policy_path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ScenarioError(
            path, where, f"{policy_path} is not UTF-8 text (byte {error.start})"
        ) from None
    except ValueError as error:  # a path no file can have, such as one with a NUL
        raise ScenarioError(path, where, f"cannot read {policy_path!r}: {error}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(path, where, f"invalid YAML in {policy_path}: {error}") from None
    return loaded if loaded is not None else {}


def _log_result(message: str, step: int, result: CommandResult) -> None:
    log.info(
        message, step=step, ticket=result.ref, positions=result.positions, events=result.events
    )


def _checked_steps(
    steps: list[Any], start: datetime, path: Path
) -> list[tuple[Mapping[str, Any], datetime]]:
    """Every step with its instant, checked before any runs: a scenario that is not well
    formed is bad input and writes nothing."""
    checked: list[tuple[Mapping[str, Any], datetime]] = []
    now = start
    for number, step in enumerate(steps, start=1):
        where = f"steps[{number}]"
        if not isinstance(step, Mapping):
            raise ScenarioError(path, where, "a step is a mapping with at, as, do, with")
        unknown = set(step) - _STEP_KEYS
        if unknown:
            raise ScenarioError(path, f"{where}.{min(unknown)}", "unknown key")
        if "do" not in step:
            raise ScenarioError(path, f"{where}.do", "is required")
        action = str(step["do"]).replace("-", "_")
        if action not in _ACTIONS:
            known = ", ".join(sorted(_ACTIONS))
            raise ScenarioError(path, f"{where}.do", f"unknown command {step['do']!r} ({known})")
        if not isinstance(step.get("with") or {}, Mapping):
            raise ScenarioError(path, f"{where}.with", "must be a mapping of the command's fields")
        version = step.get("expected_version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise ScenarioError(path, f"{where}.expected_version", f"{version!r} is not a number")
        if not isinstance(step.get("command_id", ""), str):
            raise ScenarioError(path, f"{where}.command_id", "must be text (quote it)")
        at = _instant(step.get("at", now), start, path, f"{where}.at")
        now = max(now, at)
        checked.append(({**step, "do": action}, at))
    return checked


def _checked_expectations(
    expectations: Any, start: datetime, path: Path
) -> list[Mapping[str, Any]]:
    """The expectations, their shape checked before any step runs (so that a scenario that
    is not well formed writes nothing); what they compare is checked after the run."""
    if not isinstance(expectations, list):
        raise ScenarioError(path, "expect", "a list of expectations")
    for index, expectation in enumerate(expectations):
        where = f"expect[{index}]"
        if not isinstance(expectation, Mapping):
            raise ScenarioError(path, where, "an expectation is a mapping")
        if "as_of" in expectation:
            _instant(expectation["as_of"], start, path, f"{where}.as_of")
        if "step" in expectation:
            _known_keys(expectation, {"step", "error"}, path, where)
            step = expectation["step"]
            if isinstance(step, bool) or not isinstance(step, int) or step < 1:
                raise ScenarioError(path, f"{where}.step", f"{step!r} is not a step number")
        elif "ticket" in expectation:
            _check_ticket_keys(expectation, path, where)
        elif "timeline" in expectation:
            _known_keys(expectation, {"timeline", "as_of", *TIMELINE_KEYS}, path, where)
        elif "queue" in expectation:
            _known_keys(expectation, {"queue", "as_of"}, path, where)
            _check_queue_shape(expectation["queue"], path, f"{where}.queue")
        elif "report" in expectation:
            _known_keys(expectation, {"report", "as_of"}, path, where)
            expected = expectation["report"]
            if not isinstance(expected, Mapping):
                raise ScenarioError(
                    path, f"{where}.report", "give a mapping of report figures (e.g. volume: ...)"
                )
            _known_keys(expected, {*REPORT_FIGURES, *_REPORT_OPTIONS}, path, f"{where}.report")
        else:
            raise ScenarioError(path, where, _UNSUPPORTED)
    return list(expectations)


def _check_queue_shape(expected: Any, path: Path, where: str) -> None:
    """A queue expectation is a list of refs, or a mapping of filters with refs and/or
    entries (a list of mappings); a tier filter is a number."""
    if isinstance(expected, list):
        return
    if not isinstance(expected, Mapping):
        raise ScenarioError(
            path, where, "give the refs in order, or a mapping with refs and/or entries"
        )
    _known_keys(expected, set(_QUEUE_KEYS), path, where)
    if "refs" not in expected and "entries" not in expected:
        raise ScenarioError(path, where, "give refs (in order) and/or entries")
    if "refs" in expected and not isinstance(expected["refs"], list):
        raise ScenarioError(path, f"{where}.refs", "give the queue's refs as a list, in order")
    entries = expected.get("entries", [])
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise ScenarioError(
            path, f"{where}.entries", "give a list with a mapping of fields per queue entry"
        )
    tier = expected.get("tier")
    if tier is not None and (isinstance(tier, bool) or not isinstance(tier, int)):
        raise ScenarioError(path, f"{where}.tier", f"{tier!r} is not a tier number")


def _check_ticket_keys(expectation: Mapping[str, Any], path: Path, where: str) -> None:
    """A ticket expectation names ticket fields, and SLA timers by name with timer fields."""
    for key in expectation:
        if key not in _TICKET_KEYS:
            known = ", ".join(sorted(_TICKET_KEYS - {"ticket"}))
            raise ScenarioError(path, f"{where}.{key}", f"unknown ticket field (one of {known})")
    timers = expectation.get("sla", {})
    if not isinstance(timers, Mapping):
        raise ScenarioError(path, f"{where}.sla", "map SLA names to expected timer fields")
    for name, fields in timers.items():
        if not isinstance(fields, Mapping):
            raise ScenarioError(path, f"{where}.sla.{name}", "expected a mapping of timer fields")
        for key in fields:
            if key not in TIMER_FIELDS:
                known = ", ".join(sorted(TIMER_FIELDS))
                raise ScenarioError(
                    path, f"{where}.sla.{name}.{key}", f"unknown timer field (one of {known})"
                )


@dataclass(frozen=True)
class Scenario:
    """A scenario file, read and checked: what is wrong with the file is found here, before
    anything runs (steps that the engine refuses are the scenario's business)."""

    path: Path
    name: str
    start: datetime
    policy: Policy | None
    steps: list[tuple[Mapping[str, Any], datetime]]
    expectations: list[Mapping[str, Any]]


def read_scenario(path: Path) -> Scenario:
    """Read a scenario file and check all of it; ScenarioError (or PolicyError) if it is not
    one that can run."""
    document = load_scenario(path)
    start = _instant(document["start"], None, path, "start")
    policy = scenario_policy(document, path)
    return Scenario(
        path=path,
        name=str(document.get("name", path.stem)),
        start=start,
        policy=parse_policy(policy) if policy is not None else None,
        steps=_checked_steps(document["steps"], start, path),
        expectations=_checked_expectations(document.get("expect") or [], start, path),
    )


def run_scenario(desk: Desk, scenario: Path | Scenario) -> ScenarioResult:
    """Run one scenario (a file, or one read already) against ``desk`` and check its
    expectations."""
    if not isinstance(scenario, Scenario):
        scenario = read_scenario(scenario)
    path, start = scenario.path, scenario.start
    result = ScenarioResult(name=scenario.name, path=str(path), start=start)
    if scenario.policy is not None:
        desk.load_policy(scenario.policy, actor="scenario", at=start)
    now = start
    for number, (step, at) in enumerate(scenario.steps, start=1):
        now = max(now, at)
        result.steps += 1
        try:
            if step["do"] == "load_policy":
                where = f"steps[{number}].with.policy"
                policy = _policy_source(step.get("with") or {}, path, where)
                version = desk.load_policy(policy, actor=str(step.get("as", "")), at=at).version
                log.info("scenario.policy_loaded", step=number, version=version)
            elif step["do"] == "advance":
                for tick in desk.advance(at):
                    _log_result("scenario.advanced", number, tick)
            else:
                outcome = desk.execute(
                    str(step["do"]),
                    step.get("with") or {},
                    actor=str(step.get("as", "")),
                    at=at,
                    command_id=step.get("command_id"),
                    expected_version=step.get("expected_version"),
                )
                _log_result("scenario.step", number, outcome)
        except DeskLedgerError as error:
            result.errors[number] = error
            log.info("scenario.step_rejected", step=number, error=str(error))
    result.end = now
    _check(desk, scenario.expectations, result, path)
    return result


def _check(desk: Desk, expectations: list[Any], result: ScenarioResult, path: Path) -> None:
    expected_errors: set[int] = set()
    queries: Queries | None = None
    for index, expectation in enumerate(expectations):
        where = f"expect[{index}]"
        if not isinstance(expectation, Mapping):
            raise ScenarioError(path, where, "an expectation is a mapping")
        if "step" in expectation:
            _known_keys(expectation, {"step", "error"}, path, where)
            expected_errors.add(int(expectation["step"]))
            _check_error(expectation, result)
        elif "ticket" in expectation:
            _check_ticket(desk, expectation, result, path, where)
        elif "timeline" in expectation:
            _check_timeline(desk, expectation, result, _Where(path, where))
        elif "queue" in expectation or "report" in expectation:
            kind = "queue" if "queue" in expectation else "report"
            _known_keys(expectation, {kind, "as_of"}, path, where)
            queries = queries or Queries(open_views(desk))
            as_of = (
                _instant(expectation["as_of"], result.start, path, f"{where}.as_of")
                if "as_of" in expectation
                else result.end
            )
            assert as_of is not None  # the run set its end
            check = _check_queue if kind == "queue" else _check_report
            check(queries, expectation[kind], as_of, result, _Where(path, f"{where}.{kind}"))
        else:
            raise ScenarioError(path, where, _UNSUPPORTED)
    for number, error in sorted(result.errors.items()):
        if number not in expected_errors:
            result.failures.append(
                Failure(f"step {number}", "no error", f"{type(error).__name__}: {error}")
            )


def _check_error(expectation: Mapping[str, Any], result: ScenarioResult) -> None:
    number = int(expectation["step"])
    wanted = str(expectation.get("error", "DeskLedgerError"))
    result.checks += 1
    error = result.errors.get(number)
    if error is None:
        result.failures.append(Failure(f"step {number} error", wanted, "the step succeeded"))
        return
    names = {cls.__name__ for cls in type(error).__mro__}
    if wanted not in names:
        result.failures.append(
            Failure(f"step {number} error", wanted, f"{type(error).__name__}: {error}")
        )


def _same(expected: Any, actual: Any) -> bool:
    numbers = (int, float)
    if (
        isinstance(expected, numbers)
        and isinstance(actual, numbers)
        and not isinstance(expected, bool)
        and not isinstance(actual, bool)
    ):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, datetime) and isinstance(actual, str):
        try:
            return datetime.fromisoformat(actual) == expected
        except ValueError:
            return False
    if isinstance(expected, date) and not isinstance(expected, datetime):
        return str(actual) == expected.isoformat()
    return bool(expected == actual)


def _check_sla(
    expected: Any,
    statuses: list[TimerStatus],
    result: ScenarioResult,
    *,
    path: Path,
    where: str,
    label: str,
) -> None:
    if not isinstance(expected, Mapping):
        raise ScenarioError(path, where, "map SLA names to expected timer fields")
    timers = {s.name: s.as_dict() for s in statuses if s.stage != SlaStage.CANCELED}
    timers.update({s.name: s.as_dict() for s in statuses if s.name not in timers})
    for name, fields in expected.items():
        if not isinstance(fields, Mapping):
            raise ScenarioError(path, f"{where}.{name}", "expected a mapping of timer fields")
        timer = timers.get(str(name))
        if timer is None:
            result.checks += 1
            result.failures.append(Failure(f"{label} SLA {name!r}", "a timer", "no such timer"))
            continue
        for key, value in fields.items():
            result.checks += 1
            if key not in timer:
                raise ScenarioError(path, f"{where}.{name}.{key}", "unknown timer field")
            if not _same(value, timer[key]):
                result.failures.append(
                    Failure(f"{label} SLA {name!r} {key}", _plain(value), timer[key])
                )


def _check_ticket(
    desk: Desk, expectation: Mapping[str, Any], result: ScenarioResult, path: Path, where: str
) -> None:
    ref = str(expectation["ticket"])
    as_of = (
        _instant(expectation["as_of"], None, path, f"{where}.as_of")
        if "as_of" in expectation
        else None
    )
    label = f"{ref}" + (f" as of {as_of.astimezone(UTC).isoformat()}" if as_of else "")
    try:
        ticket = desk.get_ticket(ref, as_of=as_of)
    except TicketNotFoundError:
        result.checks += 1
        result.failures.append(Failure(f"{label} exists", True, False))
        return
    statuses = desk.sla_status(ticket, as_of if as_of is not None else result.end)
    view = ticket_view(ticket, statuses)
    for key, expected in expectation.items():
        if key in {"ticket", "as_of"}:
            continue
        if key == "sla":
            _check_sla(expected, statuses, result, path=path, where=f"{where}.sla", label=label)
            continue
        result.checks += 1
        if key not in view:
            known = ", ".join(sorted({*view, "sla", "as_of"}))
            raise ScenarioError(path, f"{where}.{key}", f"unknown ticket field (one of {known})")
        if not _same(expected, view[key]):
            result.failures.append(Failure(f"{label} {key}", _plain(expected), view[key]))


def _known_keys(given: Mapping[str, Any], known: set[str], path: Path, where: str) -> None:
    unknown = sorted(str(key) for key in set(given) - known)
    if unknown:
        raise ScenarioError(
            path, f"{where}.{unknown[0]}", f"unknown key (one of {', '.join(sorted(known))})"
        )


@dataclass(frozen=True)
class _Where:
    """Where in the scenario file an expectation is (for ScenarioError)."""

    path: Path
    at: str

    def error(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(self.path, f"{self.at}.{key}" if key else self.at, problem)


def _as_of_label(as_of: datetime, result: ScenarioResult) -> str:
    return "" if as_of == result.end else f" as of {as_of.astimezone(UTC).isoformat()}"


# ---------------------------------------------------------------------- queue

_QUEUE_KEYS = {"group", "assignee", "tier", "refs", "entries"}


def _check_queue(
    queries: Queries, expected: Any, as_of: datetime, result: ScenarioResult, where: _Where
) -> None:
    """The queue (the order of docs/reports.md) against a list of refs or a mapping (see module
    doc)."""
    if isinstance(expected, list):
        expected = {"refs": expected}
    if not isinstance(expected, Mapping):
        raise where.error("", "give the refs in order, or a mapping with refs and/or entries")
    _known_keys(expected, _QUEUE_KEYS, where.path, where.at)
    if "refs" not in expected and "entries" not in expected:
        raise where.error("", "give refs (in order) and/or entries")
    tier = expected.get("tier")
    queue = queries.queue(
        group=expected.get("group"),
        assignee=expected.get("assignee"),
        tier=None if tier is None else int(tier),
        as_of=as_of,
    )
    filters = ", ".join(
        f"{key} {expected[key]}" for key in ("group", "assignee", "tier") if key in expected
    )
    label = "queue" + (f" ({filters})" if filters else "") + _as_of_label(as_of, result)
    if "refs" in expected:
        refs = expected["refs"]
        if not isinstance(refs, list):
            raise where.error("refs", "give the queue's refs as a list, in order")
        result.checks += 1
        actual = [entry["ref"] for entry in queue]
        if [str(ref) for ref in refs] != actual:
            result.failures.append(Failure(f"{label} refs", [str(ref) for ref in refs], actual))
    if "entries" in expected:
        _check_entries(expected["entries"], queue, label, result, where)


def _check_entries(
    entries: Any, queue: list[dict[str, Any]], label: str, result: ScenarioResult, where: _Where
) -> None:
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise where.error("entries", "give a list with a mapping of fields per queue entry")
    result.checks += 1
    if len(entries) != len(queue):
        result.failures.append(Failure(f"{label} length", len(entries), len(queue)))
    for index, (wanted, actual) in enumerate(zip(entries, queue, strict=False)):
        for key, value in wanted.items():
            if key not in actual:
                known = ", ".join(sorted(actual))
                raise where.error(
                    f"entries[{index}].{key}", f"unknown queue field (one of {known})"
                )
            result.checks += 1
            if not _same(value, actual[key]):
                result.failures.append(
                    Failure(f"{label}[{index}] {key}", _plain(value), actual[key])
                )


# ---------------------------------------------------------------------- report


class _Keyed:
    """A report map whose keys are data (dates, SLA names, groups), each value shaped so."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner


_MEAN_MEDIAN = {"mean": None, "median": None}
_PER_OWNER = {"resolved": None, "median_resolve_seconds": None}
#: The report's figures by their JSON names (:mod:`projections.report`), and their shapes:
#: a dict has fixed keys, ``_Keyed`` keys that are data, None a value.
REPORT_FIGURES: dict[str, Any] = {
    "period": {"from": None, "to": None, "as_of": None, "group": None},
    "volume": {
        "opened": None,
        "resolved": None,
        "opened_by_day": _Keyed(),
        "opened_by_priority": _Keyed(),
        "opened_by_channel": _Keyed(),
        "opened_by_category": _Keyed(),
    },
    "backlog": {"open": None, "aging": dict.fromkeys(("<1d", "1-3d", "3-7d", "7-30d", ">30d"))},
    "sla": _Keyed({"achieved": None, "breached": None, "running": None, "adherence": None}),
    "mtta_seconds": _MEAN_MEDIAN,
    "mttr_seconds": _MEAN_MEDIAN,
    "fcr_rate": None,
    "reopen_rate": None,
    "reassignment_rate": None,
    "mean_reassignments": None,
    "by_group": _Keyed(_PER_OWNER),
    "by_assignee": _Keyed(_PER_OWNER),
    "top_categories": {"escalations": None, "reassignments": None},
}
_REPORT_OPTIONS = ("from", "to", "group")


def _check_report(
    queries: Queries, expected: Any, as_of: datetime, result: ScenarioResult, where: _Where
) -> None:
    """Report figures (nested as in the report's JSON) against ``deskledger report``."""
    if not isinstance(expected, Mapping):
        raise where.error("", "give a mapping of report figures (e.g. volume: {opened: 3})")
    _known_keys(expected, {*REPORT_FIGURES, *_REPORT_OPTIONS}, where.path, where.at)
    start = result.start
    period = {
        key: _instant(expected[key], start, where.path, f"{where.at}.{key}")
        for key in ("from", "to")
        if key in expected
    }
    group = expected.get("group")
    report = queries.report(
        period_from=period.get("from"),
        period_to=period.get("to"),
        as_of=as_of,
        group=None if group is None else str(group),
    )
    label = "report" + (f" (group {group})" if group is not None else "")
    figures = _Figures(label + _as_of_label(as_of, result), result, where)
    for name, value in expected.items():
        if name not in _REPORT_OPTIONS:
            figures.compare(name, value, report.get(name), REPORT_FIGURES[name])


@dataclass(frozen=True)
class _Figures:
    """Compares expected report figures with the report's, noting each failure."""

    label: str
    result: ScenarioResult
    where: _Where

    def compare(self, name: str, expected: Any, actual: Any, shape: Any) -> None:
        """One figure; a mapping only for the keys it gives, recursively."""
        if isinstance(expected, Mapping) and isinstance(shape, dict | _Keyed):
            if isinstance(shape, dict):
                _known_keys(expected, set(shape), self.where.path, f"{self.where.at}.{name}")
            for key, value in expected.items():
                inner = shape.inner if isinstance(shape, _Keyed) else shape[key]
                found = actual.get(str(key)) if isinstance(actual, Mapping) else None
                self.compare(f"{name}.{key}", value, found, inner)
            return
        self.result.checks += 1
        if not _same(expected, actual):
            self.result.failures.append(Failure(f"{self.label} {name}", _plain(expected), actual))


# ---------------------------------------------------------------------- timeline

#: The timeline's JSON keys an expectation may check (``ref`` is the expectation's own).
TIMELINE_KEYS = (
    "title",
    "major",
    "state",
    "priority",
    "opened_at",
    "resolved_at",
    "commander",
    "comms_lead",
    "children",
    "impact",
    "affected_services",
    "affected_users",
    "intervals",
    "communications",
    "review",
    "entries",
)


def _check_timeline(
    desk: Desk, expectation: Mapping[str, Any], result: ScenarioResult, where: _Where
) -> None:
    """A ticket's timeline (``deskledger timeline REF --json``) against the keys given."""
    _known_keys(expectation, {"timeline", "as_of", *TIMELINE_KEYS}, where.path, where.at)
    ref = str(expectation["timeline"])
    as_of = (
        _instant(expectation["as_of"], result.start, where.path, f"{where.at}.as_of")
        if "as_of" in expectation
        else result.end
    )
    assert as_of is not None  # the run set its end
    label = f"timeline {ref}" + _as_of_label(as_of, result)
    try:
        timeline = Queries(open_views(desk)).timeline(ref, as_of=as_of).as_dict()
    except TicketNotFoundError:
        result.checks += 1
        result.failures.append(Failure(f"{label} exists", True, False))
        return
    for key in TIMELINE_KEYS:
        if key in expectation:
            _compare_part(f"{label} {key}", expectation[key], timeline[key], result)


def _compare_part(label: str, expected: Any, actual: Any, result: ScenarioResult) -> None:
    """``expected`` against ``actual``: a mapping by the keys it gives, a list of mappings
    item by item (and its length), anything else whole; one check per value compared."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key, value in expected.items():
            _compare_part(f"{label}.{key}", value, actual.get(str(key)), result)
        return
    if (
        isinstance(expected, list)
        and isinstance(actual, list)
        and expected
        and all(isinstance(item, Mapping) for item in expected)
    ):
        result.checks += 1
        if len(expected) != len(actual):
            result.failures.append(Failure(f"{label} length", len(expected), len(actual)))
        for index, (wanted, found) in enumerate(zip(expected, actual, strict=False)):
            _compare_part(f"{label}[{index}]", wanted, found, result)
        return
    result.checks += 1
    if not _same(expected, actual):
        result.failures.append(Failure(label, _plain(expected), actual))
