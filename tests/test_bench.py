"""The benchmark suite's plumbing (``make bench``), at its tiny size: the figures' numbers are
measurements, not checked here; the shape of what the suite writes and prints is."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench.readme import BEGIN, END, PUBLISHED, README, published_section, replaced, section
from bench.records import Record, at_least, below, ratio_at_least
from bench.sizes import SIZES
from bench.suite import Figure, run
from engine.snapshots import SNAPSHOT_INTERVAL

ROOT = Path(__file__).resolve().parent.parent
RECORD_KEYS = {"figure", "unit", "deskledger", "baseline", "ratio", "goal", "met"}
MACHINE_KEYS = {"cpu", "cores", "python", "sqlite", "postgresql", "date"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """``python -m bench --size tiny --only calendar sla long-tickets`` piped into a file, as
    CI runs it."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "tiny", "--only", "calendar", "sla",
         "long-tickets", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert 0 == done.returncode, done.stderr
    return json.loads(out.read_text(encoding="utf-8")), done.stdout


def test_results_json_has_one_record_per_figure_with_its_ratio_goal_and_verdict(
    tiny_run: tuple[dict[str, Any], str],
) -> None:
    """Every record carries the figure, unit, DeskLedger's value, the baseline (or null), the
    ratio, the goal and whether it is met; only the figures asked for are run."""
    results, _ = tiny_run
    assert ["calendar", "long-tickets", "sla"] == sorted(results["figures_run"])
    assert "tiny" == results["size"]
    assert results["figures"]
    for record in results["figures"]:
        assert RECORD_KEYS <= record.keys()
        assert isinstance(record["deskledger"], float | int)
        assert record["met"] in (True, False, None)
    [sla] = [r for r in results["figures"] if r["figure"] == "sla.evaluate"]
    assert ("s", "< 2 s", None) == (sla["unit"], sla["goal"], sla["baseline"])


def test_the_long_ticket_figures_compare_tickets_that_both_load_a_snapshot(
    tiny_run: tuple[dict[str, Any], str],
) -> None:
    """A command on a long ticket is measured against one on a short ticket, warm and cold;
    both tickets are past a snapshot, so the figures differ only by what their history
    holds, not by how many events a load replays."""
    results, _ = tiny_run
    records = {r["figure"]: r for r in results["figures"] if r["figure"].startswith("commands.")}
    assert {"commands.long_ticket.warm", "commands.long_ticket.cold"} == records.keys()
    for record in records.values():
        versions = record["details"]["versions"]
        short, long = versions["INC0000001"], versions["INC0000002"]
        assert SNAPSHOT_INTERVAL < short < 2 * SNAPSHOT_INTERVAL <= long
        past = {version % SNAPSHOT_INTERVAL - SNAPSHOT_INTERVAL // 2 for version in (short, long)}
        assert all(0 <= events < 10 for events in past)  # (SLA milestones may add a few)
        assert ("ms", f"<= 1.25x the {short:,}-event ticket") == (record["unit"], record["goal"])
        assert record["baseline"] > 0


def test_results_json_describes_the_machine(tiny_run: tuple[dict[str, Any], str]) -> None:
    """The machine block says what the numbers were measured on, and how busy it was."""
    machine = tiny_run[0]["machine"]
    assert MACHINE_KEYS <= machine.keys()
    assert machine["cores"] >= 1
    assert 3 == len(machine["load_average_at_start"])


def test_piped_output_is_plain_ascii_progress_lines_and_one_table(
    tiny_run: tuple[dict[str, Any], str],
) -> None:
    """Without a terminal the suite prints progress as lines and one ASCII table."""
    _, stdout = tiny_run
    stdout.encode("ascii")
    assert "[2/3] sla: SLA evaluation of every open ticket" in stdout
    assert 1 == stdout.count("DeskLedger / baseline, size tiny")
    assert "SLA evaluation of every open ticket's timers" in stdout


def test_an_unknown_figure_is_refused_with_the_known_names() -> None:
    """``--only`` with a name that is not a figure exits 2 and lists the figures."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "nonsense"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert 2 == done.returncode
    assert "unknown figure(s) nonsense; choose from commands, long-tickets, import" in done.stderr


def test_the_readme_section_is_a_markdown_table_of_the_results(
    tiny_run: tuple[dict[str, Any], str],
) -> None:
    """``python -m bench.readme`` turns results.json into the README's section: the machine,
    one table row per record, and how to reproduce it."""
    results, _ = tiny_run
    text = section(results)
    assert text.startswith("## Performance\n")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert 1 + len(results["figures"]) == len(rows)
    assert results["machine"]["cpu"] in text
    assert "make bench" in text


def test_the_readme_shows_exactly_the_published_run() -> None:
    """The README's performance section is generated from bench/published.json (the run
    `python -m bench.readme --write` published): editing one without the other fails here."""
    published = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert section(published).strip() == published_section(README.read_text(encoding="utf-8"))
    assert published["size"] == "default", "publish a run of the default size"


def test_publishing_replaces_only_what_lies_between_the_markers() -> None:
    readme = f"# Title\n\n{BEGIN}\nold numbers\n{END}\n\n## Next\n"
    assert f"# Title\n\n{BEGIN}\nnew\n{END}\n\n## Next\n" == replaced(readme, "new\n")
    with pytest.raises(ValueError, match="lacks the markers"):
        replaced("# no markers\n", "new")


def test_a_ratio_goal_is_met_only_when_deskledger_keeps_up_with_the_baseline() -> None:
    """The ratio is DeskLedger ÷ baseline; goals combine with ``&``; no value, no verdict."""
    goal = at_least(10_000, "rows/s") & ratio_at_least(0.5)
    record = Record("import.6k", "import", "rows/s", 12_000, 30_000, "bare", goal)
    assert (0.4, False) == (record.ratio, record.met)
    record = Record("import.6k", "import", "rows/s", 12_000, 20_000, "bare", goal)
    assert (0.6, True) == (record.ratio, record.met)
    assert ">= 10,000 rows/s and >= 0.5x bare" == goal.text
    assert None is Record("x", "x", "ms", None, goal=below(5, "ms")).met


def test_a_figure_that_breaks_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    """A figure that raises becomes a record noting the error, listed under ``failed``."""

    def broken(context: Any) -> list[Record]:
        raise RuntimeError("nats-server is missing")

    def fine(context: Any) -> list[Record]:
        return [Record("fine.one", "fine", "ms", 1.0, goal=below(5, "ms"))]

    figures = [Figure("broken", "-", "raises", broken), Figure("fine", "-", "works", fine)]
    console = Console(file=io.StringIO(), width=200)
    results = run(figures, SIZES["tiny"], out=tmp_path / "results.json", console=console)
    assert ["broken"] == results["failed"]
    assert ["broken", "fine.one"] == [r["figure"] for r in results["figures"]]
    assert "failed: RuntimeError: nats-server is missing" == results["figures"][0]["note"]
    assert [None, True] == [r["met"] for r in results["figures"]]
