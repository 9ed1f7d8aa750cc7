"""``deskledger``: the command line (SPEC §9).

Exit codes: 0 success; 1 a check failed (verify, scenario expectations); 2 bad input
(invalid command, transition, file, policy); 3 infrastructure unavailable (store, NATS).
Errors are one line on stderr (a JSON object with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
import yaml
from eventsourcing.persistence import PersistenceError
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import open_desk
from adapters.demo import run_demo
from adapters.logging import configure_logging
from adapters.relay import relay_main
from adapters.scenario import ScenarioError, run_scenario
from adapters.servicenow import run_import
from adapters.stores import StoreUnavailableError, redacted, store_url
from engine import commands as cmd
from engine.application import Desk
from engine.durations import format_duration
from engine.envelope import envelope
from engine.errors import DeskLedgerError, PolicyError
from engine.policy import parse_policy
from engine.views import ticket_view

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3

log = structlog.get_logger("deskledger.cli")
out = Console(width=None if sys.stdout.isatty() else 140)


class UsageError(DeskLedgerError, ValueError):
    """A command-line argument is invalid."""


# --------------------------------------------------------------------------- helpers


def _instant(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not an ISO-8601 instant") from None
    if value.tzinfo is None:
        raise UsageError(f"{option}: {text!r} needs a UTC offset (e.g. +00:00)")
    return value


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _desk(args: argparse.Namespace) -> Desk:
    return open_desk(args.store)


def _read_yaml(path: str, what: str) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"{what} {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"{what} {path}: invalid YAML: {error}") from None


# --------------------------------------------------------------------------- ticket commands


def _field_option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_command_parser(sub: Any, name: str, model: type[cmd.Command]) -> None:
    parser = sub.add_parser(name.replace("_", "-"), help=(model.__doc__ or name).split("\n")[0])
    parser.add_argument("ref", help="the ticket ref (for link-child: the major incident)")
    for field_name, info in model.model_fields.items():
        if field_name == "ref":
            continue
        option = _field_option(field_name)
        if field_name == "actions":
            parser.add_argument("--action", dest="actions", action="append", default=None)
        elif info.annotation is bool:
            parser.add_argument(option, dest=field_name, action="store_true", default=None)
        else:
            parser.add_argument(option, dest=field_name, default=None, metavar="VALUE")
        if name == "assign" and field_name in {"group", "assignee"}:
            parser.add_argument(
                f"--no-{field_name}",
                dest=f"clear_{field_name}",
                action="store_true",
                help=f"clear the {field_name}",
            )
    parser.add_argument(
        "--as",
        dest="actor",
        default=os.environ.get("DESKLEDGER_ACTOR"),
        help="who does it (default: $DESKLEDGER_ACTOR)",
    )
    parser.add_argument("--at", help="when it happened (ISO-8601 with offset; default: now)")
    parser.add_argument("--command-id", help="idempotency key: a retry with it has no effect")
    parser.add_argument(
        "--expected-version",
        type=int,
        help="fail with a concurrency error if the ticket is not at this version",
    )
    _add_json(parser)
    parser.set_defaults(handler=_run_command, command_name=name, model=model)


def _run_command(args: argparse.Namespace) -> int:
    model: type[BaseModel] = args.model
    fields: dict[str, Any] = {"ref": args.ref}
    for field_name in model.model_fields:
        value = getattr(args, field_name, None)
        if field_name != "ref" and value is not None:
            fields[field_name] = value
    for cleared in ("group", "assignee"):
        if getattr(args, f"clear_{cleared}", False):
            fields[cleared] = None
    if not args.actor:
        raise UsageError("--as: who is doing this? (or set DESKLEDGER_ACTOR)")
    at = _instant(args.at, "--at") if args.at else None
    desk = _desk(args)
    result = desk.execute(
        args.command_name,
        fields,
        actor=args.actor,
        at=at,
        command_id=args.command_id,
        expected_version=args.expected_version,
    )
    log.info(
        "command.recorded",
        command=args.command_name,
        ticket=result.ref,
        version=result.version,
        positions=result.positions,
        events=result.events,
        duplicate=result.duplicate,
    )
    if args.json:
        _emit_json(
            {
                "ref": result.ref,
                "version": result.version,
                "events": result.events,
                "positions": result.positions,
                "duplicate": result.duplicate,
            }
        )
    elif result.duplicate:
        out.print(f"{result.ref}: already applied (command id {args.command_id}); nothing written")
    elif not result.events:
        out.print(f"{result.ref}: nothing changed")
    else:
        out.print(f"{result.ref} v{result.version}: {', '.join(result.events)}")
    return EXIT_OK


# --------------------------------------------------------------------------- reads


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )


TICKET_COLUMNS = (
    "ref",
    "state",
    "priority",
    "assignment_group",
    "assignee",
    "reassignment_count",
    "reopen_count",
    "opened_at",
)


def _ticket_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in TICKET_COLUMNS:
        table.add_column(column.replace("_count", "s").replace("assignment_", ""))
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in TICKET_COLUMNS))
    return table


def _run_show(args: argparse.Namespace) -> int:
    as_of = _instant(args.as_of, "--as-of") if args.as_of else None
    view = _desk(args).view(args.ref, as_of=as_of)
    if args.json:
        _emit_json(view)
        return EXIT_OK
    table = Table(
        title=f"{args.ref}" + (f" as of {as_of.isoformat()}" if as_of else ""), show_header=False
    )
    for key, value in view.items():
        table.add_row(key, "" if value is None else str(value))
    out.print(table)
    return EXIT_OK


def _run_tickets(args: argparse.Namespace) -> int:
    as_of = _instant(args.as_of, "--as-of") if args.as_of else None
    desk = _desk(args)
    rows = [ticket_view(t, desk.sla_status(t, as_of)) for t in desk.tickets(as_of=as_of)]
    if args.state:
        rows = [r for r in rows if r["state"] == args.state]
    if args.group:
        rows = [r for r in rows if r["assignment_group"] == args.group]
    if args.priority:
        rows = [r for r in rows if r["priority"] == args.priority]
    if args.json:
        _emit_json(rows)
    else:
        out.print(_ticket_table(rows, f"{len(rows)} tickets"))
    return EXIT_OK


def _run_sla(args: argparse.Namespace) -> int:
    if args.what_if:
        return _run_what_if(args)
    desk = _desk(args)
    as_of = _instant(args.as_of, "--as-of") if args.as_of else None
    tickets = [desk.get_ticket(args.ref, as_of=as_of)] if args.ref else desk.tickets(as_of=as_of)
    rows = [
        {"ref": ticket.ref, **status.as_dict()}
        for ticket in tickets
        for status in desk.sla_status(ticket, as_of)
    ]
    if args.json:
        _emit_json(rows)
        return EXIT_OK
    table = Table(title="SLA timers" + (f" as of {as_of.isoformat()}" if as_of else ""))
    for column in ("ref", "name", "kind", "stage", "elapsed", "target", "due_at", "breached_at"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["ref"]),
            str(row["name"]),
            str(row["kind"]),
            str(row["stage"]),
            format_duration(timedelta(seconds=float(str(row["elapsed_seconds"])))),
            format_duration(timedelta(seconds=int(str(row["target_seconds"])))),
            str(row["due_at"] or ""),
            str(row["breached_at"] or ""),
        )
    out.print(table)
    return EXIT_OK


def _run_what_if(args: argparse.Namespace) -> int:
    raw = _read_yaml(args.what_if, "policy")
    opened_from = _instant(args.opened_from, "--from") if args.opened_from else None
    opened_to = _instant(args.opened_to, "--to") if args.opened_to else None
    as_of = _instant(args.as_of, "--as-of") if args.as_of else None
    report = _desk(args).what_if(raw, at=as_of, opened_from=opened_from, opened_to=opened_to)
    if args.json:
        _emit_json(report.as_dict())
        return EXIT_OK
    changes = Table(title=f"verdicts that would change under {args.what_if}")
    for column in ("ref", "sla", "now", "what-if", "breached_at now", "breached_at what-if"):
        changes.add_column(column)
    for c in report.changes:
        changes.add_row(
            c.ref,
            c.sla,
            c.actual or "(n/a)",
            c.what_if or "(n/a)",
            c.actual_breached_at.isoformat() if c.actual_breached_at else "",
            c.what_if_breached_at.isoformat() if c.what_if_breached_at else "",
        )
    out.print(changes)
    compliance = Table(title="SLA compliance (achieved / completed)")
    for column in ("sla", "now", "what-if"):
        compliance.add_column(column)

    def rate(side: dict[str, Any], name: str) -> str:
        tally = side.get(name)
        if tally is None or tally.rate is None:
            return "-"
        return f"{tally.rate:.1%} ({tally.achieved}/{tally.completed})"

    for name in sorted(set(report.actual) | set(report.what_if)):
        compliance.add_row(name, rate(report.actual, name), rate(report.what_if, name))
    out.print(compliance)
    out.print(
        f"{report.tickets} tickets re-scored, {len(report.changes)} verdicts differ; "
        "nothing was written"
    )
    return EXIT_OK


def _run_audit(args: argparse.Namespace) -> int:
    desk = _desk(args)
    as_of = _instant(args.as_of, "--as-of") if args.as_of else None
    desk.get_ticket(args.ref, as_of=as_of)  # a clear TicketNotFoundError first
    rows = [
        envelope(e.event, e.position)
        for e in desk.read_log()
        if e.event.ref == args.ref and (as_of is None or e.event.occurred_at <= as_of)
    ]
    if args.json:
        _emit_json(rows)
        return EXIT_OK
    table = Table(title=f"audit trail of {args.ref}")
    for column in ("pos", "v", "occurred_at", "actor", "event", "details", "hash"):
        table.add_column(column)
    for row in rows:
        details = ", ".join(f"{k}={v}" for k, v in row["data"].items() if v not in (None, ""))
        if row["reason"]:
            details = f"reason={row['reason']}" + (f", {details}" if details else "")
        table.add_row(
            str(row["position"]),
            str(row["version"]),
            row["occurred_at"],
            row["actor"],
            row["type"],
            details,
            row["hash"][:12],
        )
    out.print(table)
    return EXIT_OK


def _run_export(args: argparse.Namespace) -> int:
    desk = _desk(args)
    as_of = _instant(args.as_of, "--as-of") if args.as_of else None
    target = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        count = 0
        for logged in desk.read_log():
            if as_of is not None and logged.event.occurred_at > as_of:
                continue
            target.write(json.dumps(envelope(logged.event, logged.position)) + "\n")
            count += 1
    finally:
        if target is not sys.stdout:
            target.close()
    if args.output:
        sys.stderr.write(f"exported {count} events to {args.output}\n")
    return EXIT_OK


def _run_verify(args: argparse.Namespace) -> int:
    try:
        report = _desk(args).verify(checkpoint=args.checkpoint)
    except ValueError as error:
        raise UsageError(f"--checkpoint: {error}") from None
    if args.json:
        _emit_json(report.as_dict())
    else:
        for problem in report.problems:
            out.print(f"[red]{problem}[/red]")
        status = "OK" if report.ok else f"FAILED ({len(report.problems)} problems)"
        out.print(
            f"verify: {status} — {report.events} events in {report.streams} streams; "
            f"chain head {report.head}"
        )
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _run_advance(args: argparse.Namespace) -> int:
    until = _instant(args.to, "--to")
    results = _desk(args).advance(until)
    if args.json:
        _emit_json([{"ref": r.ref, "version": r.version, "events": r.events} for r in results])
    else:
        for r in results:
            out.print(f"{r.ref} v{r.version}: {', '.join(r.events)}")
        out.print(f"advanced to {until.isoformat()}: {len(results)} tickets changed")
    return EXIT_OK


# --------------------------------------------------------------------------- policy, scenarios


def _run_policy(args: argparse.Namespace) -> int:
    raw = _read_yaml(args.file, "policy")
    if args.action == "check":
        policy = parse_policy(raw)
        if args.json:
            _emit_json({"ok": True, "digest": policy.digest, "policy": policy.document})
        else:
            out.print(
                f"policy {args.file}: OK ({len(policy.slas)} SLAs, "
                f"{len(policy.calendars)} calendars)"
            )
        return EXIT_OK
    actor = args.actor or os.environ.get("DESKLEDGER_ACTOR") or "policy-admin"
    policy = _desk(args).load_policy(raw, actor=actor)
    if args.json:
        _emit_json({"version": policy.version, "digest": policy.digest})
    else:
        out.print(f"policy {args.file}: loaded as version {policy.version}")
    return EXIT_OK


def _run_scenarios(args: argparse.Namespace) -> int:
    results = []
    for file in args.files:
        desk = open_desk(args.store or "memory://")
        results.append(run_scenario(desk, Path(file)))
    if args.json:
        _emit_json([r.as_dict() for r in results])
    else:
        for result in results:
            mark = "[green]PASS[/green]" if result.ok else "[red]FAIL[/red]"
            out.print(
                f"{mark} {result.name} ({result.path}): {result.steps} steps, "
                f"{result.checks} checks"
            )
            for failure in result.failures:
                out.print(f"    [red]✗[/red] {failure}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_CHECK_FAILED


def _run_demo(args: argparse.Namespace) -> int:
    result = run_demo(Path(args.db), out, nats_url=args.nats_url)
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED


def _run_relay(args: argparse.Namespace) -> int:
    return relay_main(_desk(args), args.nats_url, args.stream, args.once)


def _run_import(args: argparse.Namespace) -> int:
    return run_import(_desk(args), args.file, args.policy, args.json)


# --------------------------------------------------------------------------- store setup


def _run_init(args: argparse.Namespace) -> int:
    """Create the store now: a PostgreSQL schema (when missing) and the tables.

    Any command does this on first use; ``init`` lets the database's owner do it once, so
    that everyday commands can run as a user who may only read and write the tables.
    """
    _desk(args).close()
    store = redacted(store_url(args.store))
    if args.json:
        _emit_json({"store": store, "ready": True})
    else:
        out.print(f"store {store}: ready", markup=False)
    return EXIT_OK


def _add_init_parser(sub: Any) -> None:
    init = sub.add_parser("init", help="create the store's schema and tables (as their owner)")
    _add_json(init)
    init.set_defaults(handler=_run_init)


# --------------------------------------------------------------------------- parser, main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deskledger", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--store",
        default=None,
        help="store URL (default: $DESKLEDGER_STORE or sqlite:///deskledger.db)",
    )
    parser.add_argument(
        "--json", action="store_true", default=False, help="machine-readable output"
    )
    parser.add_argument("--log-level", default=os.environ.get("DESKLEDGER_LOG_LEVEL", "WARNING"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, model in cmd.COMMANDS.items():
        _add_command_parser(sub, name, model)

    show = sub.add_parser("show", help="one ticket's current (or as-of) state")
    show.add_argument("ref")
    show.add_argument("--as-of")
    _add_json(show)
    show.set_defaults(handler=_run_show)

    tickets = sub.add_parser("tickets", help="all tickets, filterable")
    tickets.add_argument("--state")
    tickets.add_argument("--group")
    tickets.add_argument("--priority", type=int)
    tickets.add_argument("--as-of")
    _add_json(tickets)
    tickets.set_defaults(handler=_run_tickets)

    sla = sub.add_parser("sla", help="SLA timers of one ticket or all; --what-if POLICY")
    sla.add_argument("ref", nargs="?")
    sla.add_argument("--as-of")
    sla.add_argument("--what-if", metavar="POLICY", help="re-score history under this policy")
    sla.add_argument("--from", dest="opened_from", help="what-if: tickets opened from T")
    sla.add_argument("--to", dest="opened_to", help="what-if: tickets opened before T")
    _add_json(sla)
    sla.set_defaults(handler=_run_sla)

    audit = sub.add_parser("audit", help="a ticket's history, event by event")
    audit.add_argument("ref")
    audit.add_argument("--as-of", help="only events that occurred at or before T")
    _add_json(audit)
    audit.set_defaults(handler=_run_audit)

    export = sub.add_parser("export", help="the whole log as JSON Lines")
    export.add_argument("--output", "-o", help="file to write (default: stdout)")
    export.add_argument("--as-of", help="only events that occurred at or before T")
    export.set_defaults(handler=_run_export)

    verify = sub.add_parser("verify", help="check every hash chain; exit 1 on any problem")
    verify.add_argument("--checkpoint", help="a head noted earlier: <position>:<hash>")
    _add_json(verify)
    verify.set_defaults(handler=_run_verify)

    advance = sub.add_parser("advance", help="clock tick: record what is due up to T")
    advance.add_argument("--to", required=True)
    _add_json(advance)
    advance.set_defaults(handler=_run_advance)

    policy = sub.add_parser("policy", help="validate or install a policy")
    policy.add_argument("action", choices=["check", "load"])
    policy.add_argument("file")
    policy.add_argument("--as", dest="actor")
    _add_json(policy)
    policy.set_defaults(handler=_run_policy)

    nats_help = "NATS server URL (default: $DESKLEDGER_NATS_URL; demo: an embedded server)"
    demo = sub.add_parser("demo", help="the main job on embedded defaults")
    demo.add_argument("--db", default="deskledger-demo.db", help="SQLite file to (re)create")
    demo.add_argument("--nats-url", help=nats_help)
    demo.set_defaults(handler=_run_demo)

    relay = sub.add_parser("relay", help="publish the log to NATS JetStream")
    relay.add_argument("--nats-url", help=nats_help)
    relay.add_argument("--stream", default="DESKLEDGER", help="JetStream stream name")
    relay.add_argument("--once", action="store_true", help="publish what the log holds, then exit")
    relay.set_defaults(handler=_run_relay)

    importer = sub.add_parser("import", help="import history from another tool")
    importer.add_argument("source", choices=["servicenow"])
    importer.add_argument("file", help="a ServiceNow incident audit export (CSV)")
    importer.add_argument("--policy", help="policy YAML to load before importing")
    _add_json(importer)
    importer.set_defaults(handler=_run_import)

    scenario = sub.add_parser("scenario", help="run scenario files and check expectations")
    scenario.add_argument("action", choices=["run"])
    scenario.add_argument("files", nargs="+", metavar="FILE")
    _add_json(scenario)
    scenario.set_defaults(handler=_run_scenarios)

    _add_init_parser(sub)
    for register in EXTENSIONS:
        register(sub)
    return parser


#: Later subsystems (relay, importers, reports) register their subcommands here.
EXTENSIONS: list[Callable[[Any], None]] = []


def _error(args: argparse.Namespace | None, error: BaseException, code: int) -> int:
    as_json = bool(args is not None and getattr(args, "json", False))
    message = str(error).replace("\n", " ")
    if as_json:
        payload: dict[str, Any] = {
            "type": type(error).__name__,
            "message": message,
            "exit_code": code,
        }
        for attribute in ("ref", "state", "command", "field", "path"):
            if getattr(error, attribute, None) is not None:
                payload[attribute] = getattr(error, attribute)
        sys.stderr.write(json.dumps({"error": payload}) + "\n")
    else:
        sys.stderr.write(f"deskledger: error: {message}\n")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        return int(args.handler(args))
    except (StoreUnavailableError, PersistenceError, ConnectionError) as error:
        return _error(args, error, EXIT_UNAVAILABLE)
    except (DeskLedgerError, PolicyError, ScenarioError) as error:
        return _error(args, error, EXIT_BAD_INPUT)
    except BrokenPipeError:
        # The reader went away (``deskledger export | head``): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
