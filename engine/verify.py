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
over the *recomputed* hashes); its head is printed as ``<position>:<hash>`` and a checkpoint
noted earlier must still be on it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper

from engine.audit import GENESIS, chain_step
from engine.envelope import stored_line
from engine.hashformat import line_hash

Verdict = Literal["altered", "missing", "inserted", "reordered", "undecodable", "checkpoint"]


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


@dataclass
class VerifyReport:
    events: int = 0
    streams: int = 0
    head: str = f"0:{GENESIS}"
    problems: list[Problem] = field(default_factory=list)
    checkpoint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "streams": self.streams,
            "head": self.head,
            "checkpoint": self.checkpoint,
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


class Verifier:
    """Feed it the log in position order (:meth:`add`), then call :meth:`finish`."""

    def __init__(self, checkpoint: str | None = None) -> None:
        self.report = VerifyReport(checkpoint=checkpoint)
        self._checkpoint = parse_checkpoint(checkpoint) if checkpoint else None
        self._checkpoint_seen = False
        self._head = GENESIS
        self._streams: dict[UUID, list[_Row]] = defaultdict(list)
        self._names: dict[UUID, str] = {}

    def add(
        self, position: int, stream: UUID, version: int, line: dict[str, Any] | None, raw: object
    ) -> None:
        """One stored event as its export line (None if the record could not be read)."""
        payload = raw if isinstance(raw, bytes) else repr(raw).encode()
        recomputed = hashlib.sha256(payload).hexdigest()
        if line is not None:
            try:
                recomputed = line_hash(line)
            except (KeyError, TypeError, ValueError):
                line = None  # not the shape of an event of any format
        if line is not None:
            self._names.setdefault(stream, str(line["ticket"]))
        self._streams[stream].append(_Row(position, version, line, recomputed))
        self._head = chain_step(self._head, position, recomputed)
        self.report.events += 1
        self.report.head = f"{position}:{self._head}"
        if self._checkpoint is not None and position == self._checkpoint[0]:
            self._checkpoint_seen = True
            if self._head != self._checkpoint[1]:
                self._problem(
                    "checkpoint",
                    "log",
                    position,
                    None,
                    "the log up to this checkpoint changed since it was noted "
                    f"(head now {self._head[:16]}…, noted {self._checkpoint[1][:16]}…)",
                )

    def _problem(
        self, kind: Verdict, ticket: str, position: int | None, version: int | None, detail: str
    ) -> None:
        self.report.problems.append(Problem(kind, ticket, position, version, detail))

    def finish(self) -> VerifyReport:
        if self._checkpoint is not None and not self._checkpoint_seen:
            self._problem(
                "checkpoint",
                "log",
                self._checkpoint[0],
                None,
                "the checkpoint's position is no longer in the log",
            )
        for stream, rows in self._streams.items():
            self._check_stream(self._names.get(stream, str(stream)), rows)
        self.report.streams = len(self._streams)
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
) -> VerifyReport:
    """Recompute every chain of a store from its stored records, paging through its log.

    Records are read as export lines (:func:`engine.envelope.stored_line`), not as domain
    objects: a record whose class is gone, or whose shape no event has, is reported, never a
    crash.
    """
    verifier = Verifier(checkpoint)
    decode = mapper.transcoder.decode
    start = 0
    while True:
        notifications = recorder.select_notifications(start, page, inclusive_of_start=False)
        for notification in notifications:
            line: dict[str, Any] | None
            try:
                state = decode(notification.state)
                line = stored_line(
                    notification.topic,
                    state,
                    position=notification.id,
                    version=notification.originator_version,
                    stream_id=notification.originator_id,
                )
            except Exception:  # noqa: BLE001 - any unreadable record is tampering evidence
                line = None
            verifier.add(
                notification.id,
                UUID(str(notification.originator_id)),
                notification.originator_version,
                line,
                notification.state,
            )
        if len(notifications) < page:
            return verifier.finish()
        start = notifications[-1].id
