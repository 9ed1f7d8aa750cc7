"""``verify``: recompute every hash chain and say exactly what was tampered with.

Per stream (a ticket, or the policy registry), events are taken in version order and each is
checked twice: its content against its own ``hash`` and its ``prev_hash`` against the
previous event's ``hash``. The combination tells what happened:

================  ==========  ===========================================================
content           link        verdict
================  ==========  ===========================================================
ok                ok          fine (unless its position is out of order: *reordered*)
altered           ok          *altered*: the event was edited after it was recorded
altered           broken      *inserted*: neither its content nor its link check out
ok                broken      *missing* event(s) before it, or *reordered* if its
                              predecessor sits later in the stream; an event the next one
                              skips over is *inserted*
================  ==========  ===========================================================

A second chain runs over the whole log in position order (:func:`engine.audit.chain_step`,
over the hashes the events carry, as a reader of an export computes it); its head is printed
as ``<position>:<hash>``, and heads noted earlier (checkpoints) must still be on it. Every
snapshot is compared with the state its events produce.

One module, past 500 lines: one verdict table and the passes that apply it (chains,
snapshots, checkpoints); their findings share one vocabulary.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, EventStore, Mapper

from engine.audit import GENESIS, chain_step
from engine.hashformat import canonical_hash, line_hash
from engine.log import pages, record_line, state_reader, stored_records
from engine.record_shapes import hashed_record
from engine.snapshots import TicketSnapshot, snapshot_problem, snapshot_state, state_digest

Verdict = Literal[
    "altered", "missing", "inserted", "reordered", "undecodable", "checkpoint", "snapshot"
]


@dataclass(frozen=True)
class Problem:
    """One thing verify found wrong, located by ticket and position."""

    kind: Verdict
    ticket: str
    position: int | None
    version: int | None
    detail: str

    def __str__(self) -> str:
        where = f"ticket {self.ticket}"
        if self.version is not None:
            where += f" version {self.version}"
        if self.position is not None:
            where += f" at position {self.position}"
        return f"{self.kind}: {where}: {self.detail}"


@dataclass(frozen=True)
class CheckpointResult:
    """A head noted earlier, and whether the log still has it at that position."""

    position: int
    noted: str
    found: str
    source: str = ""

    @property
    def confirmed(self) -> bool:
        return self.noted == self.found

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "head": self.noted,
            "found": self.found,
            "confirmed": self.confirmed,
            "source": self.source,
        }


@dataclass
class VerifyReport:
    events: int = 0
    streams: int = 0
    head: str = f"0:{GENESIS}"
    problems: list[Problem] = field(default_factory=list)
    checkpoint: str | None = None
    checkpoints: list[CheckpointResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def rewritten_between(self) -> tuple[int, int] | None:
        """(after, up to): the positions a rewrite lies in, narrowed by the checkpoints —
        after the last one confirmed before the first refuted one, up to that one."""
        results = sorted(self.checkpoints, key=lambda r: r.position)
        refuted = next((r for r in results if not r.confirmed), None)
        if refuted is None:
            return None
        confirmed = [r.position for r in results if r.confirmed and r.position < refuted.position]
        return (max(confirmed) if confirmed else 0), refuted.position

    def as_dict(self) -> dict[str, Any]:
        between = self.rewritten_between()
        return {
            "ok": self.ok,
            "events": self.events,
            "streams": self.streams,
            "head": self.head,
            "checkpoint": self.checkpoint,
            "checkpoints": [result.as_dict() for result in self.checkpoints],
            "rewritten_between": None
            if between is None
            else {"after": between[0], "up_to": between[1]},
            "problems": [
                {
                    "kind": p.kind,
                    "ticket": p.ticket,
                    "position": p.position,
                    "version": p.version,
                    "detail": p.detail,
                }
                for p in self.problems
            ],
        }


@dataclass
class _Row:
    position: int
    version: int
    line: dict[str, Any] | None  # the record as an export line (None: undecodable)
    digest: str  # recomputed content hash (or hash of the raw bytes when undecodable)

    @property
    def stored_hash(self) -> str | None:
        return None if self.line is None else str(self.line["hash"])

    @property
    def prev_hash(self) -> str | None:
        return None if self.line is None else str(self.line["prev_hash"])

    @property
    def content_ok(self) -> bool:
        return self.line is not None and self.digest == self.line["hash"]


def parse_checkpoint(text: str) -> tuple[int, str]:
    """``<position>:<hash>`` → (position, hash); ValueError naming what is wrong."""
    position, sep, digest = text.partition(":")
    if not sep or not position.isdigit() or len(digest) != 64:
        raise ValueError(f"checkpoint {text!r} is not of the form <position>:<64 hex digits>")
    return int(position), digest.lower()


Noted = tuple[int, str, str]  # (position, head, where it came from)


#: How many streams' tips the first pass keeps (the most recently seen ones): the bound on
#: its memory. A stream that comes back after this many others were seen is checked by the
#: second pass, in full, like a damaged one.
TIPS = 20_000


def _digest_of(line: dict[str, Any] | None, raw: object) -> tuple[dict[str, Any] | None, str]:
    """The line (None when it does not have the shape of an event of any format: its hash
    cannot be computed, or its ``hash`` or ``prev_hash`` is not text) and the recomputed
    hash of its content (of the raw record when that cannot be computed)."""
    if line is not None:
        try:
            digest = line_hash(line)
        except (KeyError, TypeError, ValueError):
            pass
        else:
            try:
                if isinstance(line["hash"], str) and isinstance(line["prev_hash"], str):
                    return line, digest
            except KeyError:
                pass
            return None, digest
    payload = raw if isinstance(raw, bytes) else repr(raw).encode()
    return None, hashlib.sha256(payload).hexdigest()


class Verifier:
    """Feed it the log in position order (:meth:`add`), then call :meth:`finish`.

    Memory stays flat however long the log is: the first pass keeps, per stream, only its
    tip (the last version and hash), which is all a sound stream needs, and only for the
    :data:`TIPS` streams seen last; a stream whose next event does not follow its tip is
    marked damaged (so is one that comes back after its tip was let go: its next event does
    not follow from nothing). Only when some are, a second pass (:meth:`needs_detail`,
    :meth:`collect`) gathers those streams' events to say exactly what was done to them.
    The number of streams is counted from the events that start one (version 1), corrected
    by the second pass for the streams it gathered.

    ``checkpoints`` are heads noted earlier, ``(position, head, source)``: the head at P is
    the log's head after its last event at or before P, so a checkpoint also holds across
    gaps in the positions and refutes a log that was cut short. The log-wide chain runs over
    the hashes the events carry, as an export's reader computes it.

    ``remember_streams`` keeps every stream seen, in order (:meth:`streams`), for a caller
    that cannot list the streams that have snapshots otherwise; it makes memory grow with
    the number of streams.
    """

    def __init__(
        self,
        checkpoint: str | None = None,
        checkpoints: Sequence[Noted] = (),
        *,
        remember_streams: bool = True,
        tips: int = TIPS,
    ) -> None:
        self.report = VerifyReport(checkpoint=checkpoint)
        noted = list(checkpoints)
        if checkpoint:
            position, digest = parse_checkpoint(checkpoint)
            noted.append((position, digest, "--checkpoint"))
        self._pending = sorted(noted, key=lambda item: item[0])
        self._head = GENESIS
        self._position = 0
        self._tips: dict[int, tuple[int, str]] = {}
        self._max_tips = tips
        self._starts = 0  # events at version 1
        self._damaged: set[int] = set()
        self._streams: dict[UUID, list[_Row]] = defaultdict(list)
        self._seen: dict[int, UUID] | None = {} if remember_streams else None
        self._names: dict[int, str] = {}

    @staticmethod
    def _row(position: int, version: int, line: dict[str, Any] | None, raw: object) -> _Row:
        line, digest = _digest_of(line, raw)
        return _Row(position, version, line, digest)

    def add(
        self, position: int, stream: UUID, version: int, line: dict[str, Any] | None, raw: object
    ) -> None:
        """One stored event as its export line (None if the record could not be read)."""
        line, digest = _digest_of(line, raw)
        if line is None:
            self.add_hashed(
                position, stream, version, carried=digest, digest=None, prev_hash=None, ticket=None
            )
        else:
            self.add_hashed(
                position,
                stream,
                version,
                carried=line["hash"],
                digest=digest,
                prev_hash=line["prev_hash"],
                ticket=line["ticket"],
            )

    def add_hashed(
        self,
        position: int,
        stream: UUID,
        version: int,
        *,
        carried: str,
        digest: str | None,
        prev_hash: str | None,
        ticket: object,
    ) -> None:
        """One stored event by its hashes: the ``hash`` it carries and the one recomputed from
        its content, its ``prev_hash`` and its ticket; ``digest`` None when it cannot be read
        (``carried`` is then the hash of its raw record)."""
        key = stream.int
        tip = self._tips.pop(key, None)
        if tip is None:
            expected_version, expected_hash = 0, GENESIS
            if self._seen is not None and key not in self._seen:
                self._seen[key] = stream
        else:
            expected_version, expected_hash = tip
        if digest is None:
            self._damaged.add(key)
        else:
            if self._seen is not None and key not in self._names:
                self._names[key] = str(ticket)
            if carried != digest or prev_hash != expected_hash or version != expected_version + 1:
                self._damaged.add(key)
        self._tips[key] = (version, carried)
        if len(self._tips) > self._max_tips:
            del self._tips[next(iter(self._tips))]
        if version == 1:
            self._starts += 1
        if self._pending and self._pending[0][0] < position:
            self._settle_checkpoints(before=position)
        self._head = chain_step(self._head, position, carried)
        self._position = position
        self.report.events += 1

    def needs_detail(self, stream: UUID) -> bool:
        """Whether the second pass must gather this stream's events (it is damaged)."""
        return stream.int in self._damaged

    def collect(
        self, position: int, stream: UUID, version: int, line: dict[str, Any] | None, raw: object
    ) -> None:
        """Second pass: one event of a damaged stream."""
        row = self._row(position, version, line, raw)
        if row.line is not None:
            self._names.setdefault(stream.int, str(row.line["ticket"]))
        self._streams[stream].append(row)

    def _settle_checkpoints(self, before: int | None) -> None:
        """Compare the checkpoints at positions the log has passed with its head there."""
        while self._pending and (before is None or self._pending[0][0] < before):
            position, noted, source = self._pending.pop(0)
            result = CheckpointResult(position, noted, self._head, source)
            self.report.checkpoints.append(result)
            if not result.confirmed:
                self._problem(
                    "checkpoint",
                    "log",
                    position,
                    None,
                    "the log up to this position changed since its head was noted "
                    f"(head now {self._head}, noted {noted})",
                )

    def streams(self) -> list[UUID]:
        """Every stream seen so far, in the order first seen (``remember_streams`` only)."""
        if self._seen is None:
            raise RuntimeError("this Verifier does not remember the streams it saw")
        return list(self._seen.values())

    @property
    def damaged(self) -> bool:
        return bool(self._damaged)

    def snapshot_problem(
        self, stream: UUID, version: int, why: str, name: str | None = None
    ) -> None:
        """A snapshot of ``stream`` at ``version`` that does not match its events; ``name``:
        its ticket (by default the ticket of its first event seen)."""
        if name is None:
            name = self._names.get(stream.int, str(stream))
        self._problem("snapshot", name, None, version, f"snapshot: {why}")

    def _problem(
        self, kind: Verdict, ticket: str, position: int | None, version: int | None, detail: str
    ) -> None:
        self.report.problems.append(Problem(kind, ticket, position, version, detail))

    def finish(self) -> VerifyReport:
        self._settle_checkpoints(before=None)
        gathered_starts = 0
        for stream, rows in self._streams.items():
            gathered_starts += sum(1 for row in rows if row.version == 1)
            self._check_stream(self._names.get(stream.int, str(stream)), rows)
        self.report.streams = self._starts - gathered_starts + len(self._streams)
        if self.report.events:
            self.report.head = f"{self._position}:{self._head}"
        self.report.problems.sort(key=lambda p: (p.position or 0, p.ticket))
        return self.report

    def _chain_order(self, rows: list[_Row]) -> list[_Row] | None:
        """The rows in the order their links say, if every row checks out and the links
        form one complete chain from GENESIS; otherwise None."""
        if not all(row.content_ok for row in rows):
            return None
        by_prev: dict[str, _Row] = {}
        for row in rows:
            prev = row.prev_hash
            if prev is None or prev in by_prev:
                return None
            by_prev[prev] = row
        chain: list[_Row] = []
        head = GENESIS
        while head in by_prev:
            row = by_prev.pop(head)
            chain.append(row)
            head = row.digest
        return chain if len(chain) == len(rows) else None

    def _check_order(self, name: str, rows: list[_Row], chain: list[_Row]) -> None:
        """Every event is genuine and linked: only the stored order can be wrong."""
        for index, row in enumerate(chain):
            if row.version != index + 1:
                self._problem(
                    "reordered",
                    name,
                    row.position,
                    row.version,
                    f"the chain puts this event at version {index + 1}",
                )
            elif index and row.position < chain[index - 1].position:
                self._problem(
                    "reordered",
                    name,
                    row.position,
                    row.version,
                    f"stored before version {chain[index - 1].version} "
                    f"(position {chain[index - 1].position})",
                )

    def _check_stream(self, name: str, rows: list[_Row]) -> None:
        rows.sort(key=lambda r: r.version)
        chain = self._chain_order(rows)
        if chain is not None:
            self._check_order(name, rows, chain)
            return
        flagged: set[int] = set()
        hashes_after: dict[str, int] = {}
        first_seen: dict[str, int] = {}
        for index, row in enumerate(rows):
            if row.stored_hash is not None:
                hashes_after[row.stored_hash] = index
                first_seen.setdefault(row.stored_hash, index)
        for index, row in enumerate(rows):
            if row.line is None or row.prev_hash is None:
                self._problem(
                    "undecodable", name, row.position, row.version, "stored event cannot be read"
                )
                flagged.add(index)
                continue
            expected_prev = GENESIS if index == 0 else rows[index - 1].stored_hash
            link_ok = row.prev_hash == expected_prev
            if not row.content_ok:
                successor_links = (
                    index + 1 < len(rows) and rows[index + 1].prev_hash == row.stored_hash
                )
                kind: Verdict = "inserted" if not link_ok and not successor_links else "altered"
                detail = (
                    "event does not belong to the chain (content and link do not check out)"
                    if kind == "inserted"
                    else "content does not match its hash (edited after it was recorded)"
                )
                self._problem(kind, name, row.position, row.version, detail)
                flagged.add(index)
                continue
            if not link_ok and index - 1 not in flagged:
                skipped_to = GENESIS if index < 2 else rows[index - 2].stored_hash
                later = hashes_after.get(row.prev_hash or "")
                original = first_seen.get(row.stored_hash or "", index)
                if original < index:
                    self._problem(
                        "inserted",
                        name,
                        row.position,
                        row.version,
                        f"a copy of version {rows[original].version} (replayed event)",
                    )
                    flagged.add(index)
                elif later is not None and later > index:
                    self._problem(
                        "reordered",
                        name,
                        row.position,
                        row.version,
                        f"its predecessor is stored later, at version {rows[later].version}",
                    )
                elif index >= 1 and row.prev_hash == skipped_to:
                    previous = rows[index - 1]
                    self._problem(
                        "inserted",
                        name,
                        previous.position,
                        previous.version,
                        "event is skipped by the chain (inserted after the fact)",
                    )
                    flagged.add(index - 1)
                else:
                    self._problem(
                        "missing",
                        name,
                        row.position,
                        row.version,
                        "the event(s) before this one are missing",
                    )
            elif index and row.version != rows[index - 1].version + 1 and index - 1 not in flagged:
                self._problem(
                    "missing", name, row.position, row.version, "version gap before this event"
                )
            if index and row.position < rows[index - 1].position:
                self._problem(
                    "reordered",
                    name,
                    row.position,
                    row.version,
                    f"stored before version {rows[index - 1].version} "
                    f"(position {rows[index - 1].position})",
                )


def verify_log(
    recorder: ApplicationRecorder,
    mapper: Mapper[UUID],
    checkpoint: str | None = None,
    *,
    page: int = 1000,
    snapshots: EventStore[UUID] | None = None,
    events: EventStore[UUID] | None = None,
    checkpoints: Sequence[Noted] = (),
    snapshot_streams: Callable[[], Iterable[UUID]] | None = None,
    tips: int = TIPS,
) -> VerifyReport:
    """Recompute every chain of a store from its stored records, paging through its log,
    then check every snapshot against the state its events produce.

    Records are read as export lines (:func:`engine.envelope.stored_line`), not as domain
    objects: a record whose class is gone, or whose shape no event has, is reported, never a
    crash. ``snapshot_streams`` lists the streams that have snapshots (a query the store
    answers at once); without it every stream seen is asked for its snapshots, and the
    streams seen are kept in memory for that. ``tips`` bounds the streams whose tips the
    first pass keeps (see :class:`Verifier`).
    """
    verifier = Verifier(
        checkpoint, checkpoints, remember_streams=snapshot_streams is None, tips=tips
    )
    _first_pass(verifier, recorder, mapper, page)
    if verifier.damaged:
        for position, stream, version, line, raw in _records(recorder, mapper, page):
            if verifier.needs_detail(stream):
                verifier.collect(position, stream, version, line, raw)
    if snapshots is not None and events is not None:
        if snapshot_streams is None:
            for stream in verifier.streams():
                for problem in check_snapshots(snapshots, events, stream):
                    verifier.snapshot_problem(stream, *problem)
        else:
            _check_listed_snapshots(verifier, snapshots, events, snapshot_streams())
    return verifier.finish()


def _check_listed_snapshots(
    verifier: Verifier,
    snapshots: EventStore[UUID],
    events: EventStore[UUID],
    listed: Iterable[UUID],
) -> None:
    """The snapshots of the listed streams that have events (as if every stream seen had
    been asked), each reported under the ticket its first event names."""
    named = []
    for stream in set(listed):
        first = next(iter(_first_records(events, stream)), None)
        if first is not None:
            named.append((first, stream))
    for name, stream in sorted(named, key=lambda item: (item[0], str(item[1]))):
        for version, why in check_snapshots(snapshots, events, stream):
            verifier.snapshot_problem(stream, version, why, name=name)


def _first_records(events: EventStore[UUID], stream: UUID) -> Iterator[str]:
    """The ticket the first readable event of ``stream`` names (nothing if it has none)."""
    for record in events.recorder.select_events(stream):
        try:
            state = state_reader(events.mapper)(record.state)
            yield str(state["ref"])
        except Exception:  # noqa: BLE001, S112 - an unreadable event names nothing
            continue
        return


def _first_pass(
    verifier: Verifier, recorder: ApplicationRecorder, mapper: Mapper[UUID], page: int
) -> None:
    """Every stored record to :meth:`Verifier.add`: hashed straight from its stored text when
    it has the usual shape (:mod:`engine.record_shapes`), else from its export line."""
    decode = state_reader(mapper)
    for notifications in pages(recorder, 0, page):
        for notification in notifications:
            stream = notification.originator_id
            if type(stream) is not UUID:
                stream = UUID(str(stream))
            found = hashed_record(
                notification.topic, notification.state, str(notification.originator_id)
            )
            if found is None:
                line, _ = record_line(notification, decode)
                verifier.add(
                    notification.id, stream, notification.originator_version, line,
                    notification.state,
                )  # fmt: skip
            else:
                text, carried, prev_hash, ticket = found
                verifier.add_hashed(
                    notification.id,
                    stream,
                    notification.originator_version,
                    carried=carried,
                    digest=canonical_hash(text),
                    prev_hash=prev_hash,
                    ticket=ticket,
                )


def _records(
    recorder: ApplicationRecorder, mapper: Mapper[UUID], page: int
) -> Iterator[tuple[int, UUID, int, dict[str, Any] | None, object]]:
    """(position, stream, version, export line or None, raw state) of every stored record
    (a record that cannot be read is tampering evidence, not a reason to stop)."""
    for notification, line, _ in stored_records(recorder, mapper, page=page):
        stream = notification.originator_id
        yield (
            notification.id,
            stream if type(stream) is UUID else UUID(str(stream)),
            notification.originator_version,
            line,
            notification.state,
        )


def check_snapshots(
    snapshots: EventStore[UUID], events: EventStore[UUID], stream: UUID
) -> Iterator[tuple[int, str]]:
    """(version, why) of each snapshot of ``stream`` that does not equal the state its
    events produce, or that a read would not use."""
    try:
        found = list(snapshots.get(stream))
    except Exception:  # noqa: BLE001 - an unreadable snapshot is a finding, not a crash
        yield 0, "a snapshot of this stream cannot be read"
        return
    for snapshot in found:
        version = snapshot.originator_version
        state: Any = None
        try:
            for event in events.get(stream, lte=version):
                state = event.mutate(state)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001, S112 - the events' own problems are reported already
            continue
        if state is None:
            yield version, "there is no event at its version"
        elif isinstance(snapshot, TicketSnapshot) and (
            _snapshot_digest(snapshot) != state_digest(snapshot_state(state))
        ):
            yield version, "its state is not the state its events produce (edited snapshot)"
        else:
            why = snapshot_problem(snapshot, _event_at(events, stream, version))
            if why is not None and isinstance(snapshot, TicketSnapshot):
                yield version, why


def _snapshot_digest(snapshot: TicketSnapshot) -> str | None:
    """The digest of the state a snapshot gives a read: taken by an older version of the
    aggregate, its state is upcast first (eventsourcing's aggregate upcasting), as a read
    would; None when it cannot be."""
    try:
        return state_digest(snapshot_state(snapshot.mutate(None)))
    except Exception:  # noqa: BLE001 - an unreadable snapshot does not match its events
        return None


def _event_at(events: EventStore[UUID], stream: UUID, version: int) -> Any:
    return next(iter(events.get(stream, gt=version - 1, lte=version)), None)
