"""Running a scenario: each step at its instant on a simulated clock, then its expectations."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.scenario.checks import (
    _check_error,
    _check_queue,
    _check_report,
    _check_ticket,
    _check_timeline,
)
from adapters.scenario.files import _UNSUPPORTED, Scenario, _policy_source, read_scenario
from adapters.scenario.results import (
    Failure,
    ScenarioError,
    ScenarioResult,
    _instant,
    _known_keys,
    _Where,
    log,
)
from engine.application import CommandResult, Desk
from engine.errors import DeskLedgerError
from projections.queries import Queries
from projections.views import open_views


def _log_result(message: str, step: int, result: CommandResult) -> None:
    log.info(
        message, step=step, ticket=result.ref, positions=result.positions, events=result.events
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
