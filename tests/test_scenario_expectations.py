"""Scenario expectations on the queue and the report: figures worked out by hand hold, wrong
ones are listed with expected and actual values, and keys an expectation does not know are
bad input naming the key and the valid ones."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.bootstrap import open_desk
from adapters.cli import main
from adapters.scenario import REPORT_FIGURES, ScenarioError, run_scenario
from projections.report import compute_report

BY_HAND = Path(__file__).parent / "scenarios" / "report-by-hand.yaml"

HEAD = """
name: two tickets
start: 2026-03-02T09:00:00+00:00
policy:
  slas: [{name: response, kind: response, target: 30m}]
steps:
  - {as: a, do: open, with: {ref: INC1, title: t, caller: c, impact: 2, urgency: 2}}
  - {at: +5m, as: a, do: open, with: {ref: INC2, title: t, caller: c, impact: 1, urgency: 1}}
  - {at: +10m, as: a, do: update, with: {ref: INC2, affected_users: 40}}
  - {at: +1h, as: a, do: advance}
expect:
"""


def _scenario(tmp_path: Path, expectations: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + textwrap.dedent(expectations), encoding="utf-8")
    return path


def test_a_report_worked_out_by_hand_holds() -> None:
    """tests/scenarios/report-by-hand.yaml: every figure in it was computed by hand (the
    working is in its comments) and each one is checked."""
    result = run_scenario(open_desk("memory://"), BY_HAND)
    assert [str(f) for f in result.failures] == []
    assert (result.steps, result.checks) == (21, 76)


def test_wrong_queue_and_report_figures_show_expected_and_actual(tmp_path: Path) -> None:
    """Each wrong expectation is one failure with both values; a figure the report leaves
    out (a key with a zero count) is None."""
    path = _scenario(
        tmp_path,
        """
          - {ticket: INC2, affected_users: 41}
          - queue: [INC1, INC2]
          - queue: {entries: [{ref: INC2, priority: 2}, {ref: INC1}, {ref: INC3}]}
          - as_of: +0m
            queue: [INC1]
          - report:
              volume: {opened: 3, opened_by_priority: {"1": 1, "2": 1}}
              sla: {response: {breached: 1}}
              fcr_rate: 0.5
        """,
    )
    result = run_scenario(open_desk("memory://"), path)
    expected = [
        "INC2 affected_users: expected 41, got 40",
        "queue refs: expected ['INC1', 'INC2'], got ['INC2', 'INC1']",
        "queue length: expected 3, got 2",
        "queue[0] priority: expected 2, got 1",
        "report volume.opened: expected 3, got 2",
        "report volume.opened_by_priority.2: expected 1, got None",
        "report sla.response.breached: expected 1, got 2",
        "report fcr_rate: expected 0.5, got None",
    ]
    assert expected == [str(f) for f in result.failures]


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        (
            "{queue: [INC1], colour: red}",
            "expect[0].colour: unknown key (one of as_of, queue)",
        ),
        (
            "{queue: {refs: [INC1], team: network}}",
            "expect[0].queue.team: unknown key (one of assignee, entries, group, refs, tier)",
        ),
        (
            "{queue: {entries: [{ref: INC2, owner: bob}]}}",
            "expect[0].queue.entries[0].owner: unknown queue field (one of affected_services,",
        ),
        (
            "{report: {volume: {openned: 2}}}",
            "expect[0].report.volume.openned: unknown key (one of opened, opened_by_category,",
        ),
        (
            "{report: {mtbf_seconds: 1}}",
            "expect[0].report.mtbf_seconds: unknown key (one of backlog, by_assignee,",
        ),
        (
            "{report: {sla: {response: {late: 1}}}}",
            "expect[0].report.sla.response.late: unknown key (one of achieved, adherence,",
        ),
        (
            "{ticket: INC2, affected_user: 40}",
            "expect[0].affected_user: unknown ticket field (one of affected_services, affected_",
        ),
        ("{step: 1, eror: X}", "expect[0].eror: unknown key (one of error, step)"),
    ],
)
def test_unknown_keys_name_the_key_and_the_valid_ones(
    tmp_path: Path, expectation: str, message: str
) -> None:
    """A key an expectation does not know is a ScenarioError (bad input), not a failure."""
    path = _scenario(tmp_path, f"  - {expectation}\n")
    with pytest.raises(ScenarioError) as raised:
        run_scenario(open_desk("memory://"), path)
    assert str(raised.value).startswith(f"{path}: {message}")


def test_an_unknown_key_exits_2_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the command line the bad expectation is one line on stderr and exit 2."""
    path = _scenario(tmp_path, "  - {report: {mtbf_seconds: 1}}\n")
    assert main(["scenario", "run", str(path)]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1
    assert "expect[0].report.mtbf_seconds: unknown key" in captured.err


def test_report_figures_are_the_reports_keys() -> None:
    """The figures an expectation may name are exactly the report's JSON keys."""
    at = datetime(2026, 3, 2, tzinfo=UTC)
    report = compute_report([], [], period_from=at, period_to=at, as_of=at)
    assert list(report) == list(REPORT_FIGURES)


MAJOR = """
name: a major incident's timeline
start: 2026-03-02T09:00:00+00:00
policy: {major_incidents: {declarers: [duty]}}
steps:
  - {as: noc, do: open, with: {ref: INC1, title: t, caller: c, impact: 1, urgency: 1}}
  - {at: +1m, as: duty, do: declare_major, with: {ref: INC1, reason: site down}}
  - {at: +2m, as: a, do: open, with: {ref: INC2, title: t, caller: c, impact: 3, urgency: 1}}
  - {at: +3m, as: duty, do: link_child, with: {ref: INC1, child: INC2}}
  - {at: +5m, as: duty, do: start, with: {ref: INC1}}
  - {at: +10m, as: duty, do: communicate, with: {ref: INC1, audience: staff, message: m}}
  - {at: +40m, as: duty, do: communicate, with: {ref: INC1, audience: board, message: n}}
  - {at: +1h, as: duty, do: resolve, with: {ref: INC1, code: fixed, notes: n}}
  - at: +1d
    as: duty
    do: review
    with: {ref: INC1, summary: s, root_cause: r,
           actions: [{text: fix it, owner: bob, due: 2026-03-09, link: PRB1}]}
expect:
"""


def test_timeline_expectations_check_the_keys_given(tmp_path: Path) -> None:
    """A timeline expectation checks children, intervals (by the keys given), the
    communications item by item and the review; wrong values are listed with both values."""
    path = tmp_path / "t.yaml"
    path.write_text(
        MAJOR
        + textwrap.dedent(
            """
              - timeline: INC1
                children: [INC2]
                intervals: {time_to_respond_seconds: 300, time_to_resolve_seconds: 3600}
                communications:
                  - {audience: staff, occurred_at: 2026-03-02T10:10:00+01:00}
                  - {audience: board}
                review: {actions: [{owner: bob, due: 2026-03-09, link: PRB1}]}
              - as_of: +30m
                timeline: INC1
                intervals: {time_to_resolve_seconds: null}
                communications: [{audience: staff}]
              - timeline: INC1
                children: [INC2, INC3]
                intervals: {time_to_respond_seconds: 60}
                communications: [{audience: staff}]
              - {timeline: INC9, children: []}
            """
        ),
        encoding="utf-8",
    )
    result = run_scenario(open_desk("memory://"), path)
    expected = [
        "timeline INC1 children: expected ['INC2', 'INC3'], got ['INC2']",
        "timeline INC1 intervals.time_to_respond_seconds: expected 60, got 300.0",
        "timeline INC1 communications length: expected 1, got 2",
        "timeline INC9 exists: expected True, got False",
    ]
    assert expected == [str(f) for f in result.failures]
    assert result.checks == 19


def test_an_unknown_timeline_key_names_the_valid_ones(tmp_path: Path) -> None:
    """A key the timeline does not have is bad input, not a failure."""
    path = tmp_path / "t.yaml"
    path.write_text(MAJOR + "  - {timeline: INC1, kids: [INC2]}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as raised:
        run_scenario(open_desk("memory://"), path)
    assert "expect[0].kids: unknown key (one of affected_services, affected_users, as_of," in str(
        raised.value
    )
