"""Extra figure: the auditor's standalone verifier (``tools/verify_export.py``).

Exports the generated log at its ``mid`` size with ``deskledger export --output FILE``, then
runs the verifier on the file as an auditor would (a fresh interpreter, ``-I -S``: standard
library only) and measures its lines per second and peak resident memory. The goal is a
million lines in under a minute.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from adapters.cli import main
from bench.context import Context
from bench.records import Record, at_least

ROOT = Path(__file__).resolve().parent.parent.parent
TOOL = ROOT / "tools" / "verify_export.py"
TARGET_LINES_PER_SECOND = 16_667  # a million lines in a minute
STAGE = "mid"


#: Runs the tool as ``python -I -S tools/verify_export.py FILE`` would (standard library only)
#: and then writes its peak resident memory (VmHWM, see bench.child) to stderr.
WRAPPER = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("peak_rss_kib=" + line.split()[1] + "\\n")
"""


def run_tool(export: Path) -> dict[str, Any]:
    """Run the verifier in a fresh process, as an auditor would; time, peak RSS, verdict."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", WRAPPER, str(TOOL), str(export)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    summary = re.search(r"(\d+) lines in (\d+) streams", done.stdout)
    peak = re.search(r"peak_rss_kib=(\d+)", done.stderr)
    return {
        "lines": int(summary[1]) if summary else None,
        "streams": int(summary[2]) if summary else None,
        "seconds": seconds,
        "peak_rss_mib": round(int(peak[1]) / 1024, 1) if peak else None,
        "exit_code": done.returncode,
        "last_lines": done.stdout.splitlines()[-2:],
    }


def run(context: Context) -> list[Record]:
    log = context.logs.get(STAGE)
    export = context.scratch("standalone-verify") / "audit.jsonl"
    said = io.StringIO()  # the CLI's "exported N events to FILE", kept out of the table
    with (
        context.progress.task(f"deskledger export of {log.label()} to a file"),
        contextlib.redirect_stderr(said),
    ):
        code = main(["--store", log.url, "export", "--output", str(export)])
    if code != 0:
        raise RuntimeError(f"deskledger export exited {code}: {said.getvalue().strip()}")
    with context.progress.task("tools/verify_export.py (own process)"):
        result = run_tool(export)
    export.unlink()
    if not result["lines"]:
        raise RuntimeError(f"tools/verify_export.py did not read the export: {result}")
    lines = int(result["lines"])
    note = None
    if result["exit_code"] != 0:  # still a measurement of reading every line; say so
        note = f"the verifier failed the export: {result['last_lines'][-1]}"
    return [
        Record(
            "standalone_verify.rate",
            "tools/verify_export.py on a deskledger export",
            "lines/s",
            lines / result["seconds"],
            goal=at_least(TARGET_LINES_PER_SECOND, "lines/s (1M lines < 60 s)"),
            size=f"{lines:,} lines, {result['streams']:,} streams",
            note=note,
            details=result,
        ),
        Record(
            "standalone_verify.peak_rss",
            "tools/verify_export.py, peak memory",
            "MiB",
            result["peak_rss_mib"],
            size=f"{lines:,} lines",
        ),
    ]
