"""Reading a scenario file and checking its shape before anything runs: steps, instants and
expectations, so that a file that is not well formed writes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from adapters.scenario.checks import _QUEUE_KEYS, _REPORT_OPTIONS, REPORT_FIGURES, TIMELINE_KEYS
from adapters.scenario.results import ScenarioError, _instant, _known_keys
from engine.commands import COMMANDS
from engine.policy import Policy, parse_policy
from engine.sla import TIMER_FIELDS
from engine.views import VIEW_FIELDS

_STEP_KEYS = {"at", "as", "do", "with", "command_id", "expected_version"}

_ACTIONS = frozenset({*COMMANDS, "advance", "load_policy"})

_TICKET_KEYS = frozenset({"ticket", "as_of", "sla", *VIEW_FIELDS})

_UNSUPPORTED = (
    "unsupported expectation (use 'ticket:', 'queue:', 'report:', 'timeline:', "
    "or 'step:' with 'error:')"
)


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
