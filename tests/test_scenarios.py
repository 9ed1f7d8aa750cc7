"""Scenarios are the demo and the acceptance tests: every bundled one passes, and a runner
that cannot fail would be worthless, so failures are checked too."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from adapters.bootstrap import open_desk
from adapters.cli import main
from adapters.demo import bundled_scenarios
from adapters.scenario import ScenarioError, run_scenario
from engine.policy import parse_policy

SCENARIOS = bundled_scenarios()


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_scenario_passes(path: Path) -> None:
    """Each bundled scenario's expectations hold on a fresh store."""
    result = run_scenario(open_desk("memory://"), path)
    assert [str(f) for f in result.failures] == []
    assert result.checks > 0


def test_at_least_ten_bundled_scenarios() -> None:
    """The box ships scenarios from service desk practice: major incidents, holds over
    holidays, reopens, auto-close, re-prioritizing, escalation, service requests, first
    contact, invalid commands and a policy reload."""
    assert len(SCENARIOS) >= 10


def test_bundled_scenarios_share_one_store_in_file_order() -> None:
    """As the main job runs them: every bundled scenario into one store, in file order.
    They still pass (refs are unique across files, and no scenario's queue or report sees
    another's tickets), and each one's window starts after the previous one ended."""
    desk = open_desk("memory://")
    results = [run_scenario(desk, path) for path in SCENARIOS]
    failures = {r.path: [str(f) for f in r.failures] for r in results}
    assert {r.path: [] for r in results} == failures
    windows = [(r.start, r.end) for r in results]
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert end is not None
        assert start is not None
        assert end < start


def test_the_stricter_policy_differs_from_the_default_only_in_the_p1_target() -> None:
    """policies/default-p1-2h.yaml (scenario 11) is default.yaml with P1 resolution 2h."""
    folder = SCENARIOS[0].parent / "policies"
    default, stricter = (
        parse_policy(yaml.safe_load((folder / name).read_text(encoding="utf-8"))).document
        for name in ("default.yaml", "default-p1-2h.yaml")
    )
    expected = [("P1 resolution", "4h", "2h")]
    changed = [
        (a["name"], a["target"], b["target"])
        for a, b in zip(default["slas"], stricter["slas"], strict=True)
        if a != b
    ]
    assert expected == changed
    assert {k: v for k, v in default.items() if k != "slas"} == {
        k: v for k, v in stricter.items() if k != "slas"
    }


def test_failed_expectations_are_listed_with_expected_and_actual(tmp_path: Path) -> None:
    """A wrong expectation is reported with both values, and the run fails."""
    path = _write(
        tmp_path,
        """
        name: wrong on purpose
        start: 2026-03-02T09:00:00+00:00
        steps:
          - {as: a, do: open, with: {ref: INC1, title: t, caller: c, impact: 2, urgency: 2}}
        expect:
          - {ticket: INC1, state: closed, priority: 3}
          - {ticket: INC1, as_of: 2026-03-02T08:00:00+00:00, state: new}
        """,
    )
    result = run_scenario(open_desk("memory://"), path)
    assert [str(f) for f in result.failures] == [
        "INC1 state: expected 'closed', got 'new'",
        "INC1 as of 2026-03-02T08:00:00+00:00 exists: expected True, got False",
    ]


def test_invalid_transition_step_is_reported_unless_expected(tmp_path: Path) -> None:
    """A rejected step fails the scenario with the error, unless an expectation names it."""
    text = """
        name: close a new ticket
        start: 2026-03-02T09:00:00+00:00
        steps:
          - {as: a, do: open, with: {ref: INC1, title: t, caller: c, impact: 2, urgency: 2}}
          - {at: +1m, as: a, do: close, with: {ref: INC1}}
        expect:
          - {ticket: INC1, state: new}
        """
    result = run_scenario(open_desk("memory://"), _write(tmp_path, text))
    assert [str(f) for f in result.failures] == [
        (
            "step 2: expected 'no error', got 'InvalidTransitionError: "
            "ticket INC1 is new: cannot close'"
        )
    ]
    text = textwrap.dedent(text).rstrip() + "\n"
    expected = text + "  - {step: 2, error: InvalidTransitionError}\n"
    assert run_scenario(open_desk("memory://"), _write(tmp_path, expected, "ok.yaml")).ok
    base_class = text + "  - {step: 2, error: DeskLedgerError}\n"
    assert run_scenario(open_desk("memory://"), _write(tmp_path, base_class, "base.yaml")).ok
    wrong = text + "  - {step: 2, error: ConcurrencyError}\n"
    failures = run_scenario(open_desk("memory://"), _write(tmp_path, wrong, "w.yaml")).failures
    assert [f.expectation for f in failures] == ["step 2 error"]


def test_expected_error_on_a_step_that_succeeded_fails(tmp_path: Path) -> None:
    """Expecting an error from a step that worked is itself a failure."""
    path = _write(
        tmp_path,
        """
        name: no error
        start: 2026-03-02T09:00:00+00:00
        steps:
          - {as: a, do: open, with: {ref: INC1, title: t, caller: c, impact: 2, urgency: 2}}
        expect:
          - {step: 1, error: InvalidTransitionError}
        """,
    )
    result = run_scenario(open_desk("memory://"), path)
    assert [str(f) for f in result.failures] == [
        "step 1 error: expected 'InvalidTransitionError', got 'the step succeeded'"
    ]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("name: x\nsteps: []\n", "start: is required"),
        ("name: x\nstart: 2026-03-02T09:00:00\nsteps: []\n", "has no UTC offset"),
        ("start: 2026-03-02T09:00:00+00:00\nsteps: [{at: +0m, as: a}]\n", "steps[1].do"),
        ("start: 2026-03-02T09:00:00+00:00\nsteps: [{do: open, bogus: 1}]\n", "steps[1].bogus"),
        ("start: 2026-03-02T09:00:00+00:00\nsteps: []\nexpect: [{queue: x}]\n", "expect[0]"),
        ("start: 2026-03-02T09:00:00+00:00\nsteps: [{at: soon, do: advance}]\n", "steps[1].at"),
    ],
)
def test_invalid_scenario_files_name_the_offending_key(
    tmp_path: Path, body: str, where: str
) -> None:
    """A malformed scenario raises ScenarioError naming where the problem is."""
    with pytest.raises(ScenarioError, match=None) as caught:
        run_scenario(open_desk("memory://"), _write(tmp_path, body))
    assert where in str(caught.value)


def test_cli_scenario_run_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """scenario run exits 0 when all pass, 1 listing failures, 2 for an invalid file."""
    assert main(["scenario", "run", *map(str, SCENARIOS[:2])]) == 0
    capsys.readouterr()
    bad = _write(
        tmp_path,
        """
        start: 2026-03-02T09:00:00+00:00
        steps:
          - {as: a, do: open, with: {ref: INC1, title: t, caller: c, impact: 1, urgency: 1}}
        expect:
          - {ticket: INC1, priority: 2}
        """,
    )
    assert main(["--json", "scenario", "run", str(bad)]) == 1
    [report] = json.loads(capsys.readouterr().out)
    assert report["failures"] == [{"expectation": "INC1 priority", "expected": 2, "actual": 1}]
    assert main(["scenario", "run", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
