"""Scenarios (SPEC §8): scripted ticket histories on a simulated clock, with expectations.

A scenario file is YAML: ``name``, ``policy`` (a path relative to the file, or an inline
mapping), ``start``, ``steps`` and ``expect``. Each step runs one command (``do``, fields in
``with``, actor in ``as``, optional ``command_id`` and ``expected_version``) at ``at`` — an
offset from ``start`` (``+4m``, ``+1h30m``) or an absolute ISO instant — or ``advance`` to
move the clock, or ``load_policy`` (``with: {policy: FILE-or-mapping}``) to install a new
policy version mid-history. Expectations check ticket fields (optionally ``as_of``), SLA
timers and expected errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from adapters.logging import get_logger
from engine.application import CommandResult, Desk
from engine.commands import COMMANDS
from engine.durations import parse_duration
from engine.errors import DeskLedgerError, TicketNotFoundError
from engine.sla import TimerStatus
from engine.views import ticket_view
from engine.vocabulary import SlaStage

log = get_logger("deskledger.scenario")

_STEP_KEYS = {"at", "as", "do", "with", "command_id", "expected_version"}
_ACTIONS = frozenset({*COMMANDS, "advance", "load_policy"})


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
        except ValueError as error:
            raise ScenarioError(path, where, str(error)) from None
        return start + delta if value[0] == "+" else start - delta
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
    return instant


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
    policy_path = (path.parent / policy).resolve()
    try:
        loaded = yaml.safe_load(policy_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(path, where, f"cannot read {policy_path}: {error.strerror}") from None
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
    checked = []
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
        at = _instant(step.get("at", now), start, path, f"{where}.at")
        now = max(now, at)
        checked.append((step, at))
    return checked


def run_scenario(desk: Desk, path: Path) -> ScenarioResult:
    """Run one scenario file against ``desk`` and check its expectations."""
    document = load_scenario(path)
    result = ScenarioResult(name=str(document.get("name", path.stem)), path=str(path))
    start = _instant(document["start"], None, path, "start")
    result.start = start
    policy = scenario_policy(document, path)
    if policy is not None:
        desk.load_policy(policy, actor="scenario", at=start)
    steps = _checked_steps(document["steps"], start, path)
    now = start
    for number, (step, at) in enumerate(steps, start=1):
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
    _check(desk, document.get("expect") or [], result, path)
    return result


def _check(desk: Desk, expectations: list[Any], result: ScenarioResult, path: Path) -> None:
    expected_errors: set[int] = set()
    for index, expectation in enumerate(expectations):
        where = f"expect[{index}]"
        if not isinstance(expectation, Mapping):
            raise ScenarioError(path, where, "an expectation is a mapping")
        if "step" in expectation:
            expected_errors.add(int(expectation["step"]))
            _check_error(expectation, result)
        elif "ticket" in expectation:
            _check_ticket(desk, expectation, result, path, where)
        else:
            raise ScenarioError(
                path, where, "unsupported expectation (use 'ticket:' or 'step:' with 'error:')"
            )
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
            raise ScenarioError(path, f"{where}.{key}", "unknown ticket field")
        if not _same(expected, view[key]):
            result.failures.append(Failure(f"{label} {key}", _plain(expected), view[key]))
