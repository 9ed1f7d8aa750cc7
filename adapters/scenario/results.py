"""What a scenario run reports (its result, failed expectations, errors in the file) and the
small helpers every part of a scenario uses: instants, known keys, where in the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from adapters.logging import get_logger
from engine.application import EARLIEST, LATEST
from engine.durations import parse_duration
from engine.errors import DeskLedgerError

log = get_logger("deskledger.scenario")


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
