"""The main job on embedded defaults: the bundled scenarios, relayed and subscribed to.

A fresh SQLite store and an embedded NATS server (or ``nats_url``): the relay publishes
every event to JetStream and a subscriber (a replica fed over NATS) consumes them while the
scenarios play. :func:`run_demo` returns what happened; the CLI prints the views (queue,
SLA summary, desk report, the first major incident's timeline), the verify result and
what the subscriber received next to the log.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from adapters import nats as nats_edge  # loads nats-py only when the demo runs
from adapters.bootstrap import open_desk
from adapters.scenario import ScenarioResult, run_scenario
from engine.application import Desk

if TYPE_CHECKING:
    from adapters.nats import DeliveryReport
    from engine.verify import VerifyReport

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass
class DemoResult:
    """What the main job did: the store it wrote, each scenario's verdict, the verify
    report and what the subscriber received."""

    store: str
    nats_url: str = ""
    scenarios: list[ScenarioResult] = field(default_factory=list)
    verify: VerifyReport | None = None
    delivery: DeliveryReport | None = None

    @property
    def ok(self) -> bool:
        delivered = self.delivery is not None and self.delivery.equal
        verified = self.verify is not None and self.verify.ok
        return verified and delivered and all(s.ok for s in self.scenarios)

    @property
    def period(self) -> tuple[datetime, datetime] | None:
        """From the earliest scenario start to the latest scenario end."""
        starts = [s.start for s in self.scenarios if s.start is not None]
        ends = [s.end for s in self.scenarios if s.end is not None]
        if not starts or not ends:
            return None
        return min(starts), max(ends)


def bundled_scenarios(directory: Path = SCENARIO_DIR) -> list[Path]:
    """Every scenario file shipped in ``scenarios/`` (policies live in a subfolder)."""
    return sorted(directory.glob("*.yaml"))


def run_demo(
    database: Path,
    *,
    nats_url: str | None = None,
    nats_binary: str | None = None,
    directory: Path = SCENARIO_DIR,
    on_start: Callable[[DemoResult], None] = lambda result: None,
    on_scenario: Callable[[ScenarioResult], None] = lambda scenario: None,
) -> DemoResult:
    """Run every bundled scenario into a fresh SQLite file while the relay publishes to
    NATS and a subscriber follows; then verify the log and compare what was received."""
    if database.exists():
        database.unlink()
    url = f"sqlite:///{database.resolve()}"
    desk = open_desk(url)
    result = DemoResult(store=url)
    try:
        with ExitStack() as stack:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="deskledger-")))
            server_url = stack.enter_context(
                nats_edge.nats_server(nats_url, binary=nats_binary, store_dir=scratch / "nats")
            )
            relay = stack.enter_context(nats_edge.RelayThread(desk, server_url))
            result.nats_url = server_url
            on_start(result)
            subscriber = None
            for path in bundled_scenarios(directory):
                scenario = run_scenario(desk, path)
                result.scenarios.append(scenario)
                on_scenario(scenario)
                if subscriber is None:
                    # The relay creates the stream when it publishes the first events.
                    _published(relay, desk)
                    subscriber = stack.enter_context(
                        nats_edge.SubscriberThread(
                            server_url, desk, replica_path=scratch / "replica.db"
                        )
                    )
            _published(relay, desk)
            if subscriber is not None:
                result.delivery = subscriber.finish()
        result.verify = desk.verify()
    finally:
        desk.close()
    return result


def _published(relay: nats_edge.RelayThread, desk: Desk) -> None:
    """Wait until the relay has published the whole log; its failure is the demo's."""
    if not relay.wait_for(desk.recorder.max_notification_id() or 0) and relay.error:
        raise relay.error
