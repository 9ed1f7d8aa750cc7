#!/usr/bin/env python3
"""Verify a DeskLedger audit export without DeskLedger (Python 3.11+, standard library only).

    python verify_export.py audit.jsonl [--checkpoint POS:HASH | --checkpoints FILE]

Checks every line's hash (formats 1 and 2) and each ticket's prev_hash chain, prints the
global chain's head as <position>:<hash> and confirms or refutes checkpoints. The format and
how problems are classified: docs/hash-format.md. Exit 0 when everything holds, 1 when a
problem is found, 2 for bad input (unreadable file, malformed arguments).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from json.encoder import encode_basestring as quote
from typing import Any

GENESIS, HEX64 = "0" * 64, re.compile(r"[0-9a-f]{64}\Z")
KEYS = ("format", "position", "ticket", "type", "version", "occurred_at", "recorded_at", "actor",
        "reason", "command_id", "data", "source", "prev_hash", "hash", "stream_id")  # fmt: skip
V1 = {"ticket": "ref", "stream_id": "originator_id", "recorded_at": "timestamp"} | {
    key: key
    for key in ("occurred_at", "actor", "reason", "command_id", "source", "prev_hash", "type")
}  # line key -> the internal name format 1 hashed it under (besides the members of data)
V1_RESERVED = {*V1.values(), "originator_topic"}
STATEMENT = {  # a checkpoint statement's keys and the JSON form of their values
    "format": "1", "store_id": '".*"', "position": "[1-9][0-9]*", "head": '"[0-9a-f]{64}"',
    "taken_at": '".*"', "public_key": '"[0-9a-f]{64}"|null', "signature": '"[0-9a-f]{128}"|null',
}  # fmt: skip
At = tuple[int, int]  # (position, version) of a line


def jcs(value: Any) -> str:
    """RFC 8785 canonical JSON of a parsed value. Format 2 holds no floats and no integers
    beyond 2**53 - 1, so none are accepted and no ECMAScript number formatting is needed."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dict):  # members sorted by the UTF-16 code units of their names
        keys = sorted(value) if all(map(str.isascii, value)) else sorted(value, key=utf16)
        return "{" + ",".join([quote(key) + ":" + jcs(value[key]) for key in keys]) + "}"
    if isinstance(value, list):
        return "[" + ",".join([jcs(item) for item in value]) + "]"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    raise ValueError(f"{value!r} has no canonical form here (no floats, integers < 2**53)")


def utf16(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def line_hash(line: dict[str, Any]) -> str:
    """The SHA-256 the line's "hash" must equal, as its format defines it."""
    if line["format"] == 2:
        text = jcs({k: v for k, v in line.items() if k not in ("hash", "position", "version")})
    else:  # format 1: the engine's internal names, data members flat
        data = line["data"]
        if line.keys() - {*KEYS, "originator_topic"} or data.keys() & V1_RESERVED:
            raise ValueError("it carries content a format-1 hash does not cover")
        content = data | {name: line[key] for key, name in V1.items()}
        if "originator_topic" in line:
            content["originator_topic"] = line["originator_topic"]
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()  # a lone surrogate raises ValueError


def chain_step(head: str, position: int, digest: str) -> str:
    return hashlib.sha256(f"{head}:{position}:{digest}".encode()).hexdigest()


def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(obj := dict(pairs)) != len(pairs):
        raise ValueError("duplicate key: readers would disagree on its value")
    return obj


def refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


DECODER = json.JSONDecoder(object_pairs_hook=unique, parse_constant=refuse)


def parse(raw: bytes) -> dict[str, Any]:
    """One export line, or ValueError saying why it is not a well-formed line."""
    line = DECODER.decode(raw.decode())
    if not isinstance(line, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 - every flaw here is "malformed"
    if missing := [key for key in KEYS if key not in line]:
        raise ValueError(f"missing {', '.join(missing)}")
    for key in ("format", "position", "version"):
        if type(line[key]) is not int or line[key] < 1:
            raise ValueError(f"{key} is not a positive integer")
    if line["format"] > 2:
        raise ValueError(f"unknown hash format {line['format']}")
    if not all(isinstance(line[k], str) for k in ("ticket", "stream_id", "prev_hash", "hash")):
        raise ValueError("ticket, stream_id, prev_hash and hash must be strings")
    if line["format"] == 1 and not isinstance(line["data"], dict):
        raise ValueError("data is not an object")
    return line


class Stream:
    """What linking needs of one stream: the tip (the hash its next event must name as
    prev_hash), the hash before it, the tip line's place and, if its hash failed, why and
    whether it linked; a line forking from the tip's predecessor; lines stored before their
    predecessor, by the prev_hash they await."""

    __slots__ = ("at", "before", "doubt", "fork", "ticket", "tip", "waiting")

    def __init__(self, ticket: str) -> None:
        self.ticket, self.tip, self.before, self.at = ticket, GENESIS, "", (0, 0)
        self.doubt: tuple[str, bool] | None = None
        self.fork: tuple[At, str] | None = None
        self.waiting: dict[str, tuple[At, str, At]] = {}


class Verifier:
    def __init__(self, checkpoints: list[tuple[int, str]]) -> None:
        self.streams: dict[str, Stream] = {}
        self.findings: dict[tuple[int, str, str], str] = {}  # (position, ticket, kind) -> why
        self.malformed: list[str] = []
        self.head, self.last, self.lines = GENESIS, 0, 0
        self.pending = sorted(checkpoints)
        self.verdicts: list[tuple[int, str, str]] = []  # (position, head, why refuted or "")

    def report(self, kind: str, s: Stream, at: At, why: str) -> None:
        self.findings.setdefault((at[0], s.ticket, kind), f"(version {at[1]}): {why}")

    def add(self, number: int, raw: bytes) -> None:
        self.lines += 1
        try:
            line = parse(raw)
        except (ValueError, RecursionError) as error:
            self.malformed.append(f"malformed: line {number}: {error}")
            return
        at, digest = (line["position"], line["version"]), line["hash"]
        s = self.streams.get(line["stream_id"])
        if s is None:
            s = self.streams[line["stream_id"]] = Stream(line["ticket"])
        try:
            bad = None if line_hash(line) == digest else "its content does not match its hash"
        except (ValueError, RecursionError) as error:
            bad = f"its content cannot be hashed: {error}"
        if at[0] == self.last:
            self.report("inserted", s, at, "a second line at this position")
        elif at[0] < self.last:
            self.report("reordered", s, at, f"it comes after position {self.last} in the file")
        while self.pending and self.pending[0][0] < at[0]:
            self.check(*self.pending.pop(0))
        self.head, self.last = chain_step(self.head, at[0], digest), max(at[0], self.last)
        self.link(s, at, digest, line["prev_hash"], bad)

    def link(self, s: Stream, at: At, digest: str, prev: str, bad: str | None) -> None:
        """Place a line in its stream's chain (docs/hash-format.md, "Classifying problems")."""
        if s.fork and prev in (s.fork[1], s.tip):  # the chain goes on from one of two branches
            self.resolve(s, onto_fork=prev == s.fork[1])
        if prev == s.tip:  # it links to the tip, vouching for the tip's stored hash
            self.settle(s, vouched=True)
        elif bad is None and digest == s.tip:
            return self.report("inserted", s, at, f"a copy of the event at position {s.at[0]}")
        elif bad is None and prev == s.before and s.at[0] and not s.fork:
            if not s.doubt:  # two events follow the same one: wait for the chain to go on
                s.fork = (at, digest)
                return None
            self.report("inserted", s, s.at, s.doubt[0] + ", and the next event skips it")
            s.tip, s.doubt = s.before, None
        elif bad is None:  # its predecessor may come later (reordered) or never (missing)
            first = s.waiting.setdefault(prev, (at, digest, s.at))[0]
            if first != at:
                why = f"it and the event at position {first[0]} follow the same missing event"
                self.report("inserted", s, at, why)
            return None
        else:
            self.settle(s, vouched=False)
        s.before, s.tip, s.at, s.doubt = s.tip, digest, at, (bad, prev == s.tip) if bad else None
        while s.tip in s.waiting:  # lines stored before this one, which they follow
            self.settle(s, vouched=True)
            waited, digest, _ = s.waiting.pop(s.tip)
            why = f"stored before the event it follows (position {s.at[0]}, version {s.at[1]})"
            self.report("reordered", s, waited, why)
            s.before, s.tip, s.at = s.tip, digest, waited
        return None

    def resolve(self, s: Stream, onto_fork: bool, end: bool = False) -> None:
        """Two events follow the same one: the one the chain does not go on from is inserted."""
        (fork_at, fork_digest), s.fork = s.fork or ((0, 0), ""), None
        loser, winner = (s.at, fork_at) if onto_fork else (fork_at, s.at)
        why = f"it and the event at position {winner[0]} follow the same event, and "
        if end:
            why += "nothing follows either: one was inserted, this one later"
        else:
            why += f"the chain goes on from position {winner[0]}"
        self.report("inserted", s, loser, why)
        if onto_fork:
            s.tip, s.at = fork_digest, fork_at

    def settle(self, s: Stream, vouched: bool) -> None:
        """Judge a tip line that failed its hash once its successor (or the end) is known."""
        if s.doubt:
            (why, linked), s.doubt = s.doubt, None
            why += " (the next event links to it)" if vouched else ""
            self.report("altered" if vouched or linked else "inserted", s, s.at, why)

    def check(self, position: int, head: str) -> None:
        if position > self.last:
            why = f"the export ends at position {self.last}: events were cut from the end, or "
            self.verdicts.append((position, head, why + "the export predates the checkpoint"))
        else:
            why = f"the log up to it changed since it was taken (head there now {self.head})"
            self.verdicts.append((position, head, "" if head == self.head else why))

    def copies(self, path: str) -> dict[tuple[str, str], int]:
        """Second read of the file, only when some line waits for an event that never came:
        (stream, hash) -> first position of every line of those streams, so that a replayed
        copy of an earlier event is told apart from a line whose predecessor is missing."""
        wanted = {sid for sid, s in self.streams.items() if s.waiting}
        first: dict[tuple[str, str], int] = {}
        if wanted:
            with open(path, "rb") as export:
                for raw in export:
                    try:
                        line = parse(raw)
                    except (ValueError, RecursionError):
                        continue
                    if line["stream_id"] in wanted:
                        first.setdefault((line["stream_id"], line["hash"]), line["position"])
        return first

    def finish(self, path: str) -> int:
        first = self.copies(path)
        for sid, s in self.streams.items():
            if s.fork:
                self.resolve(s, onto_fork=False, end=True)
            self.settle(s, vouched=False)
            awaited = {digest for _, digest, _ in s.waiting.values()}
            for prev, ((pos, ver), digest, (tip_pos, tip_ver)) in s.waiting.items():
                if first.get((sid, digest), pos) < pos:
                    why = f"a copy of the event at position {first[(sid, digest)]}"
                    self.report("inserted", s, (pos, ver), why)
                    continue
                if prev in awaited:
                    continue  # it follows another cut-off line: the first of a run is told
                gap = f"versions {tip_ver + 1} to {ver - 1} are absent"
                if ver == tip_ver + 2:
                    gap = f"version {tip_ver + 1} is absent"
                elif ver <= tip_ver + 1:
                    gap = f"the line at position {tip_pos} took its place, or versions were "
                    gap += "renumbered" if tip_pos else "renumbered after its first was removed"
                why = f"the event it follows (prev_hash {prev[:16]}…) is not in the export; "
                self.report("missing", s, (pos, ver), why + gap)
        for checkpoint in self.pending:
            self.check(*checkpoint)
        for problem in self.malformed:
            print(problem)
        for (position, ticket, kind), why in sorted(self.findings.items()):
            print(f"{kind}: ticket {ticket} position {position} {why}")
        print(f"chain head {self.last}:{self.head}")
        for position, head, why in self.verdicts:
            print(
                f"checkpoint {position}:{head[:16]}… " + (f"REFUTED: {why}" if why else "confirmed")
            )
        refuted = [position for position, _, why in self.verdicts if why]
        if changed := [p for p in refuted if p <= self.last]:  # narrow down where it changed
            good = [p for p, _, why in self.verdicts if not why and p < changed[0]]
            since = f"after position {good[-1]} (last confirmed checkpoint) and " if good else ""
            print(
                f"the log was rewritten {since}at or before position {changed[0]} (first refuted)"
            )
        problems = len(self.malformed) + len(self.findings) + len(refuted)
        summary = f"{self.lines} lines in {len(self.streams)} streams"
        print(f"FAILED: {problems} problem(s) in {summary}" if problems else f"OK: {summary}")
        return 1 if problems else 0


def checkpoint_arg(text: str) -> tuple[int, str]:
    position, _, head = text.lower().partition(":")
    if not position.isdigit() or not HEX64.match(head):
        raise argparse.ArgumentTypeError(f"{text!r} is not POS:HASH (64 hex digits)")
    return int(position), head


def read_statements(path: str) -> tuple[list[tuple[int, str]], int]:
    """(position, head) of each checkpoint statement in the file, and how many are signed."""
    found, signed = [], 0
    with open(path, "rb") as lines:
        for number, raw in enumerate(lines, 1):
            try:
                s = DECODER.decode(raw.decode())
                for key, form in STATEMENT.items():
                    if not re.fullmatch(form, json.dumps(s[key])):
                        raise ValueError(f"{key} is not of the form {form}")  # noqa: TRY301
            except (ValueError, KeyError, TypeError) as error:
                why = f"{path} line {number}: not a checkpoint statement: {error}"
                raise ValueError(why) from None
            found.append((s["position"], s["head"]))
            signed += s["signature"] is not None
    return found, signed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a DeskLedger audit export.")
    parser.add_argument("export", help="a DeskLedger export: JSON Lines, one event a line")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--checkpoint", type=checkpoint_arg, help="a head noted earlier: POS:HASH")
    given.add_argument("--checkpoints", metavar="FILE", help="checkpoint statements, one a line")
    args = parser.parse_args(argv)
    try:
        checkpoints, signed = read_statements(args.checkpoints) if args.checkpoints else ([], 0)
        verifier = Verifier(checkpoints or ([args.checkpoint] if args.checkpoint else []))
        with open(args.export, "rb") as export:
            for number, raw in enumerate(export, 1):
                verifier.add(number, raw)
    except (OSError, ValueError) as error:
        print(f"verify_export: {error}", file=sys.stderr)
        return 2
    if signed:
        print(f"note: {signed} checkpoint signature(s) not checked here; see docs/hash-format.md")
    return verifier.finish(args.export)


if __name__ == "__main__":
    sys.exit(main())
