"""Benchmark: tools/verify_export.py over a generated export, in seconds and peak memory.

    .venv/bin/python -m bench.bench_verify_export [--lines N] [--tickets N] [--check]

Writes a synthetic format-2 export (``engine.hashformat`` hashes and links it) of ``--lines``
events over about ``--tickets`` tickets that open over time and interleave as a desk's do,
then runs the standalone verifier on it as an auditor would (a subprocess, standard library
only) and measures its wall time and peak resident memory. Prints a table and writes
``bench/results/verify_export.json``. The target is one million lines in under a minute;
``--check`` exits 1 when it is missed or the verifier does not pass the clean export.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from rich.console import Console
from rich.table import Table

from engine.hashformat import GENESIS, line_hash

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "verify_export.py"
RESULTS = ROOT / "bench" / "results" / "verify_export.json"
TARGET_SECONDS = 60.0
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ACTIVE = 2_000  # tickets being worked on at once

#: Event shapes in roughly the proportions of the bundled scenarios (type, data).
LATER_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("Assigned", {"assignment_group": "network", "assignee": "bob", "reassigned": True}),
    ("WorkStarted", {}),
    ("CommentAdded", {"text": "Rebooted the edge router; waiting for the caller to confirm "
                              "that the VPN comes back up.", "visibility": "customer"}),
    ("PutOnHold", {"hold_reason": "awaiting_caller", "comment": "Which site are you at?"}),
    ("Resumed", {}),
    ("SlaWarningReached", {"name": "P2 resolution", "threshold": 75,
                           "reached_at": "2026-01-05T14:00:00+00:00"}),
    ("Resolved", {"code": "fixed", "notes": "Replaced the failed line card.", "knowledge": None}),
    ("Closed", {}),
]  # fmt: skip


def opened(ref: str) -> dict[str, Any]:
    return {
        "kind": "incident", "title": f"{ref}: users cannot reach the file share", "caller": "carol",
        "description": "Reported by phone.", "channel": "phone", "category": "network",
        "subcategory": "vpn", "service": "file-server", "impact": 2, "urgency": 2, "priority": 3,
        "assignment_group": None, "assignee": None, "affected_users": 40, "policy_version": 1,
    }  # fmt: skip


def events(lines: int, tickets: int, seed: int = 8785) -> Iterator[dict[str, Any]]:
    """Export lines in position order. At each position a ticket opens with probability
    tickets/lines (so about ``tickets`` open); otherwise one of the most recently opened
    tickets gets an event, so streams interleave and each gets about lines/tickets events."""
    rnd = random.Random(seed)
    open_tickets: list[str] = []  # the most recent ACTIVE tickets
    state: dict[str, tuple[int, str, str]] = {}  # ref -> (version, tip hash, stream id)
    for position in range(1, lines + 1):
        if not open_tickets or rnd.random() < tickets / lines:
            ref = f"INC{len(state) + 1:07d}"
            open_tickets.append(ref)
            if len(open_tickets) > ACTIVE:
                open_tickets.pop(0)
            state[ref] = (0, GENESIS, str(uuid5(NAMESPACE_URL, ref)))
            kind, data = "TicketOpened", opened(ref)
        else:
            ref = rnd.choice(open_tickets)
            kind, data = rnd.choice(LATER_EVENTS)
        version, tip, stream = state[ref]
        when = START + timedelta(seconds=position * 7)
        line = {
            "format": 2, "position": position, "ticket": ref, "type": kind,
            "version": version + 1, "occurred_at": when.isoformat(),
            "recorded_at": (when + timedelta(milliseconds=3)).isoformat(), "actor": "agent",
            "reason": None, "command_id": None, "data": data, "source": None,
            "prev_hash": tip, "hash": "", "stream_id": stream,
        }  # fmt: skip
        line["hash"] = line_hash(line)
        state[ref] = (version + 1, line["hash"], stream)
        yield line


def write_export(path: Path, lines: int, tickets: int) -> int:
    with path.open("w", encoding="utf-8") as handle:
        for line in events(lines, tickets):
            handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path.stat().st_size


def run_tool(export: Path) -> dict[str, Any]:
    """Run the verifier in a fresh process; wall time, peak RSS and its verdict."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(TOOL), str(export)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    summary = re.search(r"(\d+) lines in (\d+) streams", done.stdout)
    return {
        "streams": int(summary[2]) if summary else None,
        "seconds": seconds,
        "peak_rss_mib": peak_kib / 1024,
        "exit_code": done.returncode,
        "last_lines": done.stdout.splitlines()[-2:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="events in the export")
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets (streams)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deskledger-bench-") as tmp:
        export = Path(tmp) / "audit.jsonl"
        started = time.perf_counter()
        size = write_export(export, args.lines, args.tickets)
        generated = time.perf_counter() - started
        result = {
            "lines": args.lines,
            "export_bytes": size,
            "generate_seconds": generated,
            **run_tool(export),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        }
    result["lines_per_second"] = args.lines / result["seconds"]
    result["meets_target"] = result["exit_code"] == 0 and result["seconds"] < TARGET_SECONDS
    table = Table(title="tools/verify_export.py on a generated export")
    for column in ("lines", "streams", "MiB", "seconds", "lines/s", "peak RSS MiB", "exit"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{args.lines:,}",
        f"{result['streams'] or 0:,}",
        f"{size / 2**20:,.0f}",
        f"{result['seconds']:.1f}",
        f"{result['lines_per_second']:,.0f}",
        f"{result['peak_rss_mib']:.0f}",
        str(result["exit_code"]),
    )
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if args.check and not result["meets_target"] else 0


if __name__ == "__main__":
    sys.exit(main())
