"""One read of a whole store in a fresh process, for its time and its peak memory.

    python -m bench.child rebuild|rebuild-one|verify|export|decode STORE_URL

prints one JSON object: ``events`` read, ``seconds`` of the read itself and ``start_rss_mib``
(resident memory after opening the store, before reading) and ``peak_rss_mib`` (the process's
peak resident memory, imports included). :func:`run_child` runs it and reads the result.

``rebuild`` is ``projections.views.open_views(desk).rebuild()`` (shard processes as it
chooses: their peak memory is ``shards_peak_rss_mib``), ``rebuild-one`` the same in this
process only (``workers=1``), ``verify`` is
``desk.verify()``, ``export`` is ``deskledger export --output /dev/null`` run in-process,
``decode`` is the bare baseline (:func:`bench.bare.bare_decode`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from projections.shards import memory_mib

ROOT = Path(__file__).resolve().parent.parent
MODES = ("rebuild", "rebuild-one", "verify", "export", "decode")


def measure(mode: str, url: str) -> dict[str, Any]:
    # Imported here, not by the parent that only runs this module; all before any timing.
    from adapters.bootstrap import open_desk  # noqa: PLC0415
    from adapters.cli import main  # noqa: PLC0415
    from adapters.logging import configure_logging  # noqa: PLC0415
    from bench.bare import bare_decode  # noqa: PLC0415
    from projections.views import open_views  # noqa: PLC0415

    configure_logging("WARNING")
    desk = open_desk(url)
    head = int(desk.recorder.max_notification_id() or 0)
    outcome: dict[str, Any] = {"mode": mode, "start_rss_mib": memory_mib("VmRSS")}
    began = time.perf_counter()
    if mode in ("rebuild", "rebuild-one"):
        views = open_views(desk)
        events = views.rebuild(workers=1 if mode == "rebuild-one" else None)
        last = views.last_rebuild
        if last is not None:
            outcome["workers"] = 1 if last.fallback else last.workers
            outcome["fallback"] = last.fallback
            outcome["shards_peak_rss_mib"] = last.peak_rss_mib
    elif mode == "verify":
        report = desk.verify()
        events = report.events
        outcome["ok"] = report.ok
    elif mode == "export":
        outcome["exit_code"] = main(["--store", url, "export", "--output", "/dev/null"])
        events = head
    else:
        events = bare_decode(desk.recorder, desk.mapper)
    outcome["seconds"] = time.perf_counter() - began
    outcome["events"] = events
    outcome["peak_rss_mib"] = memory_mib("VmHWM")
    desk.close()
    return outcome


def run_child(mode: str, url: str) -> dict[str, Any]:
    """Run ``mode`` over ``url`` in a fresh interpreter; its JSON outcome."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.child", mode, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.child {mode} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in MODES:
        sys.stderr.write(f"usage: python -m bench.child {'|'.join(MODES)} STORE_URL\n")
        return 2
    print(json.dumps(measure(argv[0], argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
