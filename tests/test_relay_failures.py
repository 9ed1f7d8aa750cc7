"""Failures of the relay our testers reproduced, each against a real ``nats-server``.

One oversized event, a damaged stored event, an unreachable or malformed server URL, a demo
without NATS: the relay stops or alerts with the facts (position, ticket, reason) and the
CLI ends with one line on stderr and its documented exit code (docs/cli.md), instead of spinning,
crashing or
retrying what cannot work.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.cli import main
from adapters.nats import run as relay_run
from adapters.nats.errors import UnpublishableEventError
from adapters.nats.relay import Relay
from adapters.nats.run import relay_once
from adapters.nats.server import EmbeddedNatsServer
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.errors import UnreadableEventError
from tests.test_nats import (
    ROOT,
    assert_stream_equals_log,
    comments,
    log_positions,
    nats_server,
    stream_messages,
    unused_port,
)

pytestmark = pytest.mark.nats
__all__ = ["nats_server"]  # the fixture, shared with test_nats

BIG_TITLE = "x" * 1_200_000  # over nats-server's default max_payload of 1 MB


def open_ticket(desk: Desk, ref: str, title: str = "Printer jam") -> int:
    if len(title) > 200:  # past the default title limit: a desk that allows it, on purpose
        desk.load_policy({"limits": {"title": len(title)}}, actor="admin")
    result = desk.execute(
        "open",
        {"ref": ref, "title": title, "caller": "carol", "impact": 3, "urgency": 3},
        actor="agent",
    )
    return result.positions[0]


def relay_cli(store: str, *args: str) -> list[str]:
    return ["--store", store, "relay", *args]


# ---------------------------------------------------------------------- oversized events


def test_oversized_event_stops_relay_once_within_seconds_with_position_and_reason(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk
) -> None:
    """An event over the server's max_payload: run_once publishes everything before it,
    then raises UnpublishableEventError naming its position, ticket and the limit — at
    once, not after endless ~110 ms retries."""
    comments(sqlite_desk, 30, prefix="BEFORE")
    big = open_ticket(sqlite_desk, "HUGE1", BIG_TITLE)
    comments(sqlite_desk, 10, prefix="AFTER")

    started = time.monotonic()
    with pytest.raises(UnpublishableEventError) as caught:
        relay_once(sqlite_desk, nats_server.url)
    elapsed = time.monotonic() - started

    assert elapsed < 10
    assert (big, "HUGE1") == (caught.value.position, caught.value.ticket)
    assert "max_payload" in caught.value.reason
    events = [m for m in asyncio.run(stream_messages(nats_server.url)) if not m.is_checkpoint]
    assert list(range(1, big)) == [m.position for m in events]


def test_relay_once_cli_exits_1_with_one_line_for_an_oversized_event(
    nats_server: EmbeddedNatsServer,
    sqlite_desk: Desk,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`relay --once` ends within seconds with exit 1 and one stderr line naming the event."""
    open_ticket(sqlite_desk, "INC1")
    big = open_ticket(sqlite_desk, "HUGE1", BIG_TITLE)

    started = time.monotonic()
    code = main(relay_cli(sqlite_url, "--once", "--nats-url", nats_server.url))
    elapsed = time.monotonic() - started

    err = capsys.readouterr().err.strip().splitlines()
    assert (1, 1) == (code, len(err))
    assert f"ticket HUGE1: event at position {big} cannot be published" in err[0]
    assert elapsed < 10


async def test_following_relay_alerts_on_an_oversized_event_with_backoff_and_never_spins(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk
) -> None:
    """run_forever keeps retrying an unpublishable event, each time with an error-level
    log naming position, ticket and reason, and a back-off that grows although every
    reconnect succeeds (it resets only on progress)."""
    comments(sqlite_desk, 5, prefix="OK")
    big = open_ticket(sqlite_desk, "HUGE1", BIG_TITLE)
    relay = Relay(
        sqlite_desk, nats_server.url, backoff_initial=0.05, alert_backoff_max=0.4, ack_timeout=3
    )
    stop = asyncio.Event()
    with capture_logs() as logs:
        running = asyncio.create_task(relay.run_forever(stop))
        await asyncio.sleep(2.5)
        stop.set()
        await asyncio.wait_for(running, 10)

    alerts = [entry for entry in logs if entry["event"] == "relay.event_unpublishable"]
    delays = [entry["retry_in"] for entry in alerts]
    assert {"error"} == {entry["log_level"] for entry in alerts}
    assert {(big, "HUGE1")} == {(entry["position"], entry["ticket"]) for entry in alerts}
    assert all("max_payload" in entry["reason"] for entry in alerts)
    assert 3 <= len(alerts) <= 10, delays  # 0.05, 0.1, 0.2, 0.4, 0.4 ... not every 110 ms
    assert delays == sorted(delays)
    assert 0.4 == delays[-1]
    assert big - 1 == relay.stats.position  # everything before the oversized event


# ---------------------------------------------------------------------- unreadable events


def garble(database: Path, position: int) -> None:
    """Put garbage in the ``state`` column of one stored event (as test_tamper does)."""
    with sqlite3.connect(database) as db:
        changed = db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?", (b"{not json", position)
        ).rowcount
    db.close()
    assert 1 == changed


def test_unreadable_stored_event_stops_the_relay_at_its_position(
    nats_server: EmbeddedNatsServer,
    sqlite_desk: Desk,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Garbage in a stored event's state: the relay publishes what comes before it and
    stops with UnreadableEventError ("ticket X: event at position N cannot be read; run
    verify"); the CLI exits 1 with that one line."""
    comments(sqlite_desk, 20, prefix="DMG", per_ticket=10)
    garble(tmp_path / "deskledger.db", 14)

    with pytest.raises(UnreadableEventError) as caught:
        relay_once(sqlite_desk, nats_server.url)
    code = main(relay_cli(sqlite_url, "--once", "--nats-url", nats_server.url))

    message = "ticket DMG000001: event at position 14 cannot be read; run verify"
    assert message == str(caught.value)
    err = capsys.readouterr().err.strip().splitlines()
    assert (1, [f"deskledger: error: {message}"]) == (code, err)
    events = [m for m in asyncio.run(stream_messages(nats_server.url)) if not m.is_checkpoint]
    assert list(range(1, 14)) == [m.position for m in events]


# ---------------------------------------------------------------------- the CLI


def test_relay_once_prints_one_summary_line_or_a_json_object(
    nats_server: EmbeddedNatsServer,
    sqlite_desk: Desk,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Success says what happened: one line, or one JSON object with --json."""
    comments(sqlite_desk, 12, prefix="SUM")
    url = nats_server.url

    first = main(relay_cli(sqlite_url, "--once", "--nats-url", url))
    line = capsys.readouterr().out.strip().splitlines()
    comments(sqlite_desk, 3, prefix="MORE")
    second = main(relay_cli(sqlite_url, "--once", "--nats-url", url, "--json"))
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)

    assert (0, 0) == (first, second)
    assert 1 == len(line)
    assert line[0].startswith(
        f"relay: published 12 events to stream DESKLEDGER at {url}; stream now at position 12"
    )
    assert {"published": 3, "stream": "DESKLEDGER", "nats_url": url, "position": 15}.items() <= (
        summary.items()
    )
    assert 15 == summary["checkpoint_position"]
    assert_stream_equals_log(asyncio.run(stream_messages(url)), sqlite_desk)


def test_relay_once_to_an_unreachable_server_ends_with_exactly_one_error_line(
    sqlite_desk: Desk,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Retries under --once log below warning; the command ends with one line, exit 3."""
    comments(sqlite_desk, 3)
    monkeypatch.setattr(relay_run, "GIVE_UP_AFTER", 1.0)
    url = f"nats://127.0.0.1:{unused_port()}"

    code = main(relay_cli(sqlite_url, "--once", "--nats-url", url))

    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert (3, 1, "") == (code, len(err), captured.out)
    assert err[0].startswith(f"deskledger: error: relay could not publish to {url}")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("nats://:abc", "no host"),
        ("http://x", "scheme 'http'"),
        ("not a url", "host 'not a url'"),
        ("nats://127.0.0.1:99999", "port '99999'"),
    ],
)
@pytest.mark.parametrize("command", ["relay", "demo"])
def test_malformed_nats_url_is_bad_input_at_once(
    url: str,
    problem: str,
    command: str,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A URL that cannot work is exit 2 with one line naming it, not 30 s of retries."""
    argv = (
        relay_cli(sqlite_url, "--once", "--nats-url", url)
        if command == "relay"
        else ["demo", "--db", str(tmp_path / "demo.db"), "--nats-url", url]
    )
    started = time.monotonic()
    code = main(argv)

    err = capsys.readouterr().err.strip().splitlines()
    assert (2, 1) == (code, len(err))
    assert f"NATS URL {url!r}: {problem}" in err[0]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("stream", "problem"),
    [
        ("BAD.NAME", "stream name 'BAD.NAME' contains '.'"),
        ("", "stream name is empty"),
        ("two words", "contains ' '"),
        ("all>", "contains '>'"),
        ("bell\x07", "contains '\\x07'"),
        ("S" * 256, "longer than 255 bytes"),
    ],
)
def test_a_stream_name_jetstream_refuses_is_bad_input_before_connecting(
    stream: str, problem: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`relay --stream BAD.NAME` or `--stream ""`: exit 2 and one line naming the stream
    (was nats-py's ValueError: exit 1, "internal error"). Nothing listens at the URL, so
    a relay that tried to connect would end with 3 instead."""
    url = f"nats://127.0.0.1:{unused_port()}"

    code = main(relay_cli(sqlite_url, "--once", "--stream", stream, "--nats-url", url))

    err = capsys.readouterr().err.strip().splitlines()
    assert (2, 1) == (code, len(err))
    assert problem in err[0]


def test_demo_without_a_reachable_nats_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`demo --nats-url` to a port where nothing listens: unavailable (3), not bad input."""
    url = f"nats://127.0.0.1:{unused_port()}"

    code = main(["demo", "--db", str(tmp_path / "demo.db"), "--nats-url", url])

    err = capsys.readouterr().err.strip().splitlines()
    assert (3, 1) == (code, len(err))
    assert f"no NATS server answers at {url}" in err[0]


def test_demo_without_the_nats_server_binary_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No binary for the embedded server: unavailable (3), with what to do about it."""
    monkeypatch.delenv("DESKLEDGER_NATS_URL", raising=False)
    monkeypatch.setenv("DESKLEDGER_NATS_SERVER", str(tmp_path / "no-such-nats-server"))

    code = main(["demo", "--db", str(tmp_path / "demo.db")])

    err = capsys.readouterr().err.strip().splitlines()
    assert (3, 1) == (code, len(err))
    assert "DESKLEDGER_NATS_SERVER" in err[0]


def test_cli_start_up_does_not_import_nats_py() -> None:
    """Commands that do not use NATS do not pay for loading nats-py."""
    probe = "import sys, adapters.cli; print(sorted(m for m in sys.modules if m == 'nats'))"
    output = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout

    assert "[]" == output.strip()


def test_every_log_event_before_a_failure_is_in_the_stream(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, clock: SimulatedClock
) -> None:
    """After a stop at an unpublishable event, fixing nothing and rerunning publishes
    nothing new and loses nothing: the stream is still the log's prefix."""
    comments(sqlite_desk, 40, prefix="PRE")
    big = open_ticket(sqlite_desk, "HUGE1", BIG_TITLE)
    for _ in range(2):
        with pytest.raises(UnpublishableEventError):
            relay_once(sqlite_desk, nats_server.url)

    events = [m for m in asyncio.run(stream_messages(nats_server.url)) if not m.is_checkpoint]
    assert [p for p in log_positions(sqlite_desk) if p < big] == [m.position for m in events]


async def test_event_refused_by_the_streams_size_limit_is_pinned_to_its_position(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk
) -> None:
    """A stream with max_msg_size refuses one event that asked for no ack (only every 32nd
    does): the next ack shows the gap, the relay retries acking every message, and then
    reports the refused event itself, by position."""
    import nats  # noqa: PLC0415 - this test alone configures the stream by hand
    from nats.js.api import StorageType, StreamConfig  # noqa: PLC0415

    nc = await nats.connect(nats_server.url)
    await nc.jetstream().add_stream(
        StreamConfig(
            name="DESKLEDGER",
            subjects=["deskledger.>"],
            storage=StorageType.FILE,
            max_msg_size=4096,
            duplicate_window=300,
        )
    )
    await nc.close()
    comments(sqlite_desk, 5, prefix="SMALL")
    big = open_ticket(sqlite_desk, "WIDE1", "w" * 6000)
    comments(sqlite_desk, 60, prefix="LATER")

    with pytest.raises(UnpublishableEventError) as caught:
        await Relay(sqlite_desk, nats_server.url, backoff_initial=0.05).run_once()

    assert (big, "WIDE1") == (caught.value.position, caught.value.ticket)
    assert "JetStream refused it" in caught.value.reason


def test_relay_cli_refuses_another_stores_stream_with_exit_2(
    nats_server: EmbeddedNatsServer,
    sqlite_desk: Desk,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A stream that holds another store's events is bad input: exit 2, one line."""
    comments(sqlite_desk, 3)
    relay_once(sqlite_desk, nats_server.url)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert 0 == main(["--store", other, "open", "OTHER1", "--title", "t", "--caller", "c",
                      "--impact", "3", "--urgency", "3", "--as", "x"])  # fmt: skip
    capsys.readouterr()

    code = main(relay_cli(other, "--once", "--nats-url", nats_server.url))

    err = capsys.readouterr().err.strip().splitlines()
    assert (2, 1) == (code, len(err))
    assert "holds events of another store" in err[0]
