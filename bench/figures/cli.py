"""Figure 7: wall time of the ``deskledger`` command as a person runs it.

``deskledger --help`` and ``deskledger --store URL show REF`` on the small generated store
(views caught up first, as after any earlier command), and ``comment REF`` (one event
written, on a ticket opened in a copy of that store), each run as a new process, once to
warm up and then ``cli_runs`` times; the median counts. The baseline is the interpreter
itself starting and exiting (``python -c pass``): the floor under any Python command line.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from adapters.bootstrap import open_desk
from bench.context import Context
from bench.logs import backup
from bench.records import Record, below
from projections.views import open_views

#: The ticket ``comment`` is timed on (opened on a copy of the small store).
OPEN_REF = "INC9000001"


def command() -> list[str]:
    """The installed ``deskledger`` script beside this interpreter, else ``-m adapters.cli``."""
    script = Path(sys.executable).parent / "deskledger"
    if script.exists():
        return [str(script)]
    found = shutil.which("deskledger")
    return [found] if found else [sys.executable, "-m", "adapters.cli"]


def median_ms(argv: list[str], runs: int) -> float:
    samples = []
    for index in range(runs + 1):
        began = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False)
        elapsed = (time.perf_counter() - began) * 1000
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]!r}")
        if index:  # the first run warms the caches
            samples.append(elapsed)
    return statistics.median(samples)


def run(context: Context) -> list[Record]:
    log = context.logs.get("small")
    desk = open_desk(log.url, clock=log.clock())
    try:
        open_views(desk).catch_up()
    finally:
        desk.close()
    runs = context.size.cli_runs
    deskledger = command()
    # Comments go to a copy: the small store is figure 8's reference and must stay as it is.
    scratch = context.scratch("cli") / "commented.db"
    backup(log.path, scratch)
    commented = f"sqlite:///{scratch}"
    desk = open_desk(commented)
    try:  # a ticket still open today (the sample one was closed long ago)
        fields = {"title": "VPN drops every hour", "caller": "carol", "impact": 2, "urgency": 2}
        desk.execute("open", {"ref": OPEN_REF, **fields}, actor="bench")
    finally:
        desk.close()
    comment = ["comment", OPEN_REF, "--text", "Called back, no answer", "--as", "bench"]
    with context.progress.task("python -c pass, --help, show, comment", total=4) as task:
        floor = median_ms([sys.executable, "-c", "pass"], runs)
        task.advance()
        helped = median_ms([*deskledger, "--help"], runs)
        task.advance()
        shown = median_ms([*deskledger, "--store", log.url, "show", log.sample_ref], runs)
        task.advance()
        wrote = median_ms([*deskledger, "--store", commented, *comment], runs)
        task.advance()
    size = f"median of {runs} runs"
    return [
        Record(
            "cli.help",
            "deskledger --help",
            "ms",
            helped,
            floor,
            "python -c pass",
            below(100, "ms"),
            size=size,
        ),
        Record(
            "cli.show",
            f"deskledger show {log.sample_ref}",
            "ms",
            shown,
            floor,
            "python -c pass",
            below(150, "ms"),
            size=f"{log.label()}, {size}",
        ),
        Record(
            "cli.comment",
            f"deskledger comment {OPEN_REF} (one event written)",
            "ms",
            wrote,
            floor,
            "python -c pass",
            None,  # the issue sets goals for --help and show; this shows what a write costs
            size=f"{log.label()}, {size}",
        ),
    ]
