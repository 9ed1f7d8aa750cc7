"""Chain heads anchored outside the store: checkpoints on the stream, read back by auditors.

Against a real ``nats-server`` and a real SQLite file. Every head the relay publishes must be
the head ``verify`` computes for the log up to that position; a restarted relay continues
from the last checkpoint on the stream without reading the log from the start; subscribers
see no checkpoint unless they ask; an auditor's recorder keeps each head once.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.nats.anchors import (
    AnchoredHead,
    CheckpointRecorder,
    fetch_anchored_heads,
    read_recorded_heads,
)
from adapters.nats.codec import LogPage, LogReader
from adapters.nats.relay import Relay
from adapters.nats.server import EmbeddedNatsServer
from adapters.nats.stream import stream_head
from engine.application import Desk
from engine.audit import GENESIS, chain_step
from tests.conftest import rehash_rewrite
from tests.test_nats import (
    Stored,
    assert_stream_equals_log,
    comments,
    nats_server,
    stream_messages,
)

pytestmark = pytest.mark.nats
__all__ = ["nats_server"]  # the fixture, shared with test_nats


def heads_of_log(desk: Desk) -> dict[int, str]:
    """The log-wide chain head at every position, computed independently of the relay."""
    heads, head = {}, GENESIS
    for logged in desk.read_log():
        head = chain_step(head, logged.position, logged.event.hash)
        heads[logged.position] = head
    return heads


def checkpoints(stored: list[Stored]) -> list[Stored]:
    return [m for m in stored if m.is_checkpoint]


def relay(desk: Desk, url: str, **options: Any) -> Relay:
    return Relay(desk, url, backoff_initial=0.05, ack_timeout=3.0, **options)


async def test_checkpoints_every_n_events_and_at_the_end_carry_the_verified_chain_head(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk
) -> None:
    """Every N events and at the end of run_once the relay publishes the chain head on
    deskledger.checkpoint.<store id>; each head is what verify computes up to there."""
    comments(sqlite_desk, 250)
    store_id = sqlite_desk.store_id()

    await relay(sqlite_desk, nats_server.url, checkpoint_every=100).run_once()

    stored = await stream_messages(nats_server.url)
    anchored = checkpoints(stored)
    heads = heads_of_log(sqlite_desk)
    assert [100, 200, 250] == [m.position for m in anchored]
    for message in anchored:
        assert f"deskledger.checkpoint.{store_id}" == message.subject
        assert {"format", "store_id", "position", "head", "taken_at"} == set(message.body)
        assert (1, store_id) == (message.body["format"], message.body["store_id"])
        assert heads[message.position] == message.body["head"]
        assert f"{store_id}:checkpoint:{message.position}" == message.headers["Nats-Msg-Id"]
        assert "DeskLedger-Event-Type" not in message.headers
        verdict = sqlite_desk.verify(f"{message.position}:{message.body['head']}")
        assert verdict.ok, verdict.problems
    assert_stream_equals_log(stored, sqlite_desk)


async def test_a_checkpoint_follows_within_the_interval_while_events_flow(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk
) -> None:
    """Fewer than N events still get anchored: at least once per interval while they flow."""
    relay_ = relay(sqlite_desk, nats_server.url, checkpoint_interval=0.3)
    stop = asyncio.Event()
    running = asyncio.create_task(relay_.run_forever(stop))
    comments(sqlite_desk, 7, prefix="TRICKLE")
    deadline = asyncio.get_running_loop().time() + 10
    while relay_.stats.last_checkpoint is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    anchored_while_running = relay_.stats.last_checkpoint
    stop.set()
    await asyncio.wait_for(running, 10)

    assert (7, heads_of_log(sqlite_desk)[7]) == anchored_while_running


async def test_restarted_relay_continues_the_chain_from_the_last_checkpoint_without_rescanning(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream that ends with events after its last checkpoint (a relay stopped before it
    anchored them): the next relay takes the head from that checkpoint, carries it over
    those events, and never reads the log before the checkpoint."""
    comments(sqlite_desk, 250)
    await relay(sqlite_desk, nats_server.url, checkpoint_every=100).run_once()  # ... 250
    comments(sqlite_desk, 30, prefix="UNANCHORED")

    async def no_checkpoint(*_: Any) -> None:
        return None

    with monkeypatch.context() as patch:
        patch.setattr(Relay, "_checkpoint", no_checkpoint)
        await relay(sqlite_desk, nats_server.url).run_once()  # events 251..280, no anchor
    comments(sqlite_desk, 20, prefix="LATER")
    reads: list[int] = []
    original = LogReader.read

    def spy(self: LogReader, after: int, limit: int) -> LogPage:
        reads.append(after)
        return original(self, after, limit)

    monkeypatch.setattr(LogReader, "read", spy)
    restarted = relay(sqlite_desk, nats_server.url)
    published = await restarted.run_once()

    heads = heads_of_log(sqlite_desk)
    stored = await stream_messages(nats_server.url)
    assert 20 == published
    assert [100, 200, 250, 300] == [m.position for m in checkpoints(stored)]
    assert (300, heads[300]) == restarted.stats.last_checkpoint
    assert min(reads) >= 249, reads  # the checkpoint's own event is re-checked, nothing older
    assert_stream_equals_log(stored, sqlite_desk)


async def test_a_stream_without_checkpoints_gets_one_at_the_end_of_relay_once(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream filled before checkpoints existed: one full pass of the log, then anchored."""
    comments(sqlite_desk, 120)

    async def no_checkpoint(*_: Any) -> None:
        return None

    with monkeypatch.context() as patch:
        patch.setattr(Relay, "_checkpoint", no_checkpoint)
        await relay(sqlite_desk, nats_server.url).run_once()
    again = relay(sqlite_desk, nats_server.url)
    published = await again.run_once()

    assert 0 == published
    assert (120, heads_of_log(sqlite_desk)[120]) == again.stats.last_checkpoint


async def test_resume_reads_a_checkpoint_as_the_streams_last_message(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk
) -> None:
    """stream_head understands a checkpoint as the last message: the position it covers."""
    comments(sqlite_desk, 42)
    await relay(sqlite_desk, nats_server.url).run_once()
    import nats  # noqa: PLC0415 - this test alone talks to JetStream directly

    nc = await nats.connect(nats_server.url)
    head = await stream_head(nc.jetstream(), "DESKLEDGER")
    await nc.close()

    assert head.checkpoint is not None
    assert (43, 42, heads_of_log(sqlite_desk)[42]) == (
        head.sequence,
        head.position,
        head.checkpoint.head,
    )


async def test_read_anchored_heads_lists_every_checkpoint_of_a_store(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk
) -> None:
    """read_anchored_heads: (position, head, taken_at) of each checkpoint, in stream order;
    nothing for a store that never published one."""
    comments(sqlite_desk, 210)
    await relay(sqlite_desk, nats_server.url, checkpoint_every=100).run_once()
    heads = heads_of_log(sqlite_desk)

    anchored = await fetch_anchored_heads(nats_server.url, sqlite_desk.store_id())
    none = await fetch_anchored_heads(nats_server.url, "0123456789abcdef")

    assert [(p, heads[p]) for p in (100, 200, 210)] == [(a.position, a.head) for a in anchored]
    assert all(a.taken_at for a in anchored)
    assert [] == none


async def test_recorder_appends_each_head_once_to_an_auditors_json_lines_file(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, tmp_path: Path
) -> None:
    """The recorder appends every checkpoint body it receives, once, even across restarts
    and redeliveries; the file reads back as the heads on the stream."""
    journal = tmp_path / "anchors.jsonl"
    comments(sqlite_desk, 150)
    await relay(sqlite_desk, nats_server.url, checkpoint_every=100).run_once()
    store_id = sqlite_desk.store_id()

    first = CheckpointRecorder(journal, nats_server.url, store_id=store_id)
    await asyncio.wait_for(first.run(until=lambda: first.recorded >= 2), 10)
    comments(sqlite_desk, 60, prefix="NEXT")
    await relay(sqlite_desk, nats_server.url, checkpoint_every=100).run_once()
    second = CheckpointRecorder(journal, nats_server.url, store_id=store_id)
    await asyncio.wait_for(second.run(until=lambda: second.recorded >= 1), 10)

    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    anchored = await fetch_anchored_heads(nats_server.url, store_id)
    assert [100, 150, 210] == [line["position"] for line in lines]
    assert anchored == read_recorded_heads(journal, store_id)
    assert all(isinstance(head, AnchoredHead) for head in anchored)


async def test_an_alteration_after_anchoring_is_caught_against_the_anchored_head(
    nats_server: EmbeddedNatsServer, sqlite_desk: Desk, tmp_path: Path
) -> None:
    """Why anchor at all: rewrite an anchored event in the SQLite file and re-hash its
    ticket's chain, so plain verify passes; verify against the head NATS kept reports the
    log changed up to that checkpoint."""
    comments(sqlite_desk, 30)
    await relay(sqlite_desk, nats_server.url).run_once()
    [anchor] = await fetch_anchored_heads(nats_server.url, sqlite_desk.store_id())
    [fifth] = [logged.event for logged in sqlite_desk.read_log() if logged.position == 5]
    ref, version = fifth.ref, fifth.originator_version

    def rewrite(state: dict[str, Any]) -> None:
        state["text"] = "nothing to see here"

    rehash_rewrite(tmp_path / "deskledger.db", ref, version, rewrite)
    before = sqlite_desk.verify()
    report = sqlite_desk.verify(f"{anchor.position}:{anchor.head}")

    assert 30 == anchor.position
    assert before.ok
    assert ["checkpoint"] == [problem.kind for problem in report.problems]
    assert before.head != f"{anchor.position}:{anchor.head}"
