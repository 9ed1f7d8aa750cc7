"""Evidence an auditor keeps: ``verify`` (chains, snapshots, checkpoints), ``keygen`` and
``checkpoint`` (signed statements of the log's head)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.cli import render
from adapters.cli.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from adapters.settings import Settings

if TYPE_CHECKING:
    from adapters.evidence import Rejected


def keygen(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.evidence import keygen as make_keys  # noqa: PLC0415

    prefix = Path(args.out)
    public = make_keys(prefix)
    if args.json:
        render.emit_json(
            {
                "private_key": str(prefix.with_suffix(".key")),
                "public_key_file": str(prefix.with_suffix(".pub")),
                "public_key": public,
            }
        )
    else:
        render.line(f"private key {prefix.with_suffix('.key')} (keep it secret)")
        render.line(f"public key  {prefix.with_suffix('.pub')}: {public}")
    return EXIT_OK


def checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    """State (and sign) the log's position and head; only for a log that verifies."""
    from adapters.bootstrap import open_desk  # noqa: PLC0415
    from adapters.evidence import sign, statement_for  # noqa: PLC0415

    desk = open_desk(settings)
    report = desk.verify()
    if report.events == 0:
        raise UsageError("the log is empty: there is nothing for a checkpoint to state yet")
    if not report.ok:
        raise UsageError(
            f"the log does not verify ({len(report.problems)} problems): run verify; "
            "no checkpoint is stated for a damaged log"
        )
    statement = statement_for(desk.store_id(), report.head, desk.wall_clock.now())
    if args.sign:
        statement = sign(statement, Path(args.sign))
    if args.out:
        try:
            with Path(args.out).open("a", encoding="utf-8") as handle:
                handle.write(statement.to_json() + "\n")
        except OSError as error:
            raise UsageError(f"--out {args.out}: {error.strerror or error}") from None
    if args.json or not args.out:
        render.emit_json(statement.as_dict())
    else:
        signed = "signed" if statement.signature else "unsigned"
        render.line(
            f"checkpoint {statement.position}:{statement.head} ({signed}) added to {args.out}"
        )
    return EXIT_OK


def verify(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.bootstrap import open_desk  # noqa: PLC0415

    desk = open_desk(settings)
    noted, rejected = _noted(args, settings, desk.store_id())
    try:
        report = desk.verify(checkpoints=noted)
    except ValueError as error:
        raise UsageError(f"--checkpoint: {error}") from None
    failed = bool(rejected) or not report.ok
    if args.json:
        body = report.as_dict()
        body["rejected_checkpoints"] = [
            {"source": r.statement.source, "position": r.statement.position, "reason": r.reason}
            for r in rejected
        ]
        body["ok"] = not failed
        render.emit_json(body)
        return EXIT_CHECK_FAILED if failed else EXIT_OK
    for problem in report.problems:
        render.line(str(problem), "red")
    for refused in rejected:
        render.line(
            f"checkpoint {refused.statement.position} ({refused.statement.source}) refused: "
            f"{refused.reason}",
            "red",
        )
    for result in report.checkpoints:
        verdict = "confirmed" if result.confirmed else "REFUTED"
        render.line(
            f"checkpoint {result.position}:{result.noted} {verdict} ({result.source})",
            "green" if result.confirmed else "red",
        )
    between = report.rewritten_between()
    if between is not None:
        render.line(
            f"the log was changed after position {between[0]} and at or before position "
            f"{between[1]}",
            "red",
        )
    status = "FAILED" if failed else "OK"
    count = len(report.problems) + len(rejected)
    render.line(
        f"verify: {status}{f' ({count} problems)' if failed else ''} — {report.events} events in "
        f"{report.streams} streams; chain head {report.head}"
    )
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def _noted(
    args: argparse.Namespace, settings: Settings, store_id: str
) -> tuple[list[tuple[int, str, str]], list[Rejected]]:
    """The heads to compare: ``--checkpoint`` values (POS:HASH or a file of statements),
    and with ``--against-nats`` the heads the relay anchored on NATS."""
    from adapters.evidence import read_statements, sort_out, trusted_key  # noqa: PLC0415
    from engine.verify import parse_checkpoint  # noqa: PLC0415

    trusted = trusted_key(Path(args.key)) if args.key else None
    noted: list[tuple[int, str, str]] = []
    rejected: list[Rejected] = []
    for value in args.checkpoint or []:
        if ":" in value and not Path(value).exists():
            try:
                position, head = parse_checkpoint(value)
            except ValueError as error:
                raise UsageError(f"--checkpoint: {error}") from None
            noted.append((position, head, value))
            continue
        usable, refused = sort_out(read_statements(Path(value)), store_id, trusted)
        noted.extend((s.position, s.head, s.source) for s in usable)
        rejected.extend(refused)
    if args.against_nats:
        from adapters import nats  # noqa: PLC0415

        url = nats.relay_nats_url(settings.nats_url)
        for anchored in nats.read_anchored_heads(url, store_id):
            noted.append((anchored.position, anchored.head, f"NATS {url}, {anchored.taken_at}"))
    return noted, rejected
