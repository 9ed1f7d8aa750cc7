"""The ``deskledger`` argument parser. Each subcommand names its handler as
``"module:function"``, imported only when that subcommand runs (start-up stays fast)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from adapters.cli.errors import UsageError

DESCRIPTION = (
    "DeskLedger: an event-sourced incident lifecycle engine for IT service desks. "
    "Exit codes: 0 success, 1 a check failed, 2 bad input (nothing written), "
    "3 store or NATS unavailable."
)
NATS_HELP = "NATS server URL (default: $DESKLEDGER_NATS_URL; demo: an embedded server)"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` (so ``--json`` applies)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _read_options(parser: argparse.ArgumentParser, *, as_of: bool = True) -> None:
    if as_of:
        parser.add_argument(
            "--as-of",
            metavar="T",
            help="only events that occurred at or before T (ISO-8601 with offset, or a date)",
        )


def build_parser(arguments: Sequence[str] | None = None) -> Parser:
    """The parser of the command line. Given the ``arguments`` it is to parse, only the
    subcommand they name gets its parser and options (building all 36 subcommands' parsers
    costs more than many commands take to run); for ``--help``, no subcommand or an unknown
    one, every subcommand is built, in the order ``--help`` lists them."""
    from adapters.cli import tickets  # noqa: PLC0415

    named = _subcommand(arguments) if arguments is not None else None

    def wants(name: str) -> bool:
        return named is None or named == name

    common = Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    parser = Parser(prog="deskledger", description=DESCRIPTION)
    parser.add_argument(
        "--store", help="store URL (default: $DESKLEDGER_STORE or sqlite:///deskledger.db)"
    )
    parser.add_argument(
        "--json", action="store_true", default=False, help="machine-readable output"
    )
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING (default), ERROR or CRITICAL ($DESKLEDGER_LOG_LEVEL)",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )

    tickets.add_parsers(sub, common, wants)
    for name, add in SUBCOMMANDS.items():
        if wants(name):
            add(sub, common)
    return parser


def _show_parser(sub: Any, common: Parser) -> None:
    show = sub.add_parser("show", help="one ticket's current (or as-of) state", parents=[common])
    show.add_argument("ref", help="the ticket's ref")
    _read_options(show)
    show.set_defaults(handler="adapters.cli.reads:show")


def _tickets_parser(sub: Any, common: Parser) -> None:
    listing = sub.add_parser(
        "tickets", help="tickets, filtered, sorted and paged", parents=[common]
    )
    listing.add_argument("--state", help="new, in_progress, on_hold, resolved, closed or canceled")
    listing.add_argument("--group", help="only tickets of this assignment group")
    listing.add_argument("--assignee", help="only tickets of this assignee")
    listing.add_argument("--priority", type=int, metavar="N", help="only priority N (1-5)")
    listing.add_argument("--tier", type=int, metavar="N", help="only support tier N (1-3)")
    listing.add_argument(
        "--major",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="only major incidents (--no-major: only the others)",
    )
    listing.add_argument("--category", help="only tickets of this category")
    listing.add_argument("--opened-from", metavar="T", help="only tickets opened at or after T")
    listing.add_argument("--opened-to", metavar="T", help="only tickets opened before T")
    listing.add_argument(
        "--sort",
        choices=["opened", "priority", "ref", "updated"],
        default="opened",
        help="order: opened (default), priority, ref or updated (last event)",
    )
    listing.add_argument("--desc", action="store_true", help="descending order")
    listing.add_argument("--limit", type=int, metavar="N", help="at most N tickets per page")
    listing.add_argument("--cursor", help="continue after the page that printed this cursor")
    _read_options(listing)
    listing.set_defaults(handler="adapters.cli.reads:tickets")


def _queue_parser(sub: Any, common: Parser) -> None:
    queue = sub.add_parser(
        "queue",
        help="open work in order: priority, SLA due time, age",
        parents=[common],
    )
    queue.add_argument("--group", help="only this assignment group's queue")
    queue.add_argument("--assignee", help="only this assignee's queue")
    queue.add_argument("--tier", type=int, metavar="N", help="only support tier N (1-3)")
    queue.add_argument("--limit", type=int, metavar="N", help="the first N tickets only")
    _read_options(queue)
    queue.set_defaults(handler="adapters.cli.reads:queue")


def _report_parser(sub: Any, common: Parser) -> None:
    report = sub.add_parser(
        "report", help="desk metrics: volume, backlog, SLA, MTTA, MTTR, FCR", parents=[common]
    )
    report.add_argument(
        "--from",
        dest="period_from",
        metavar="T",
        help="period start (default: 30 days before --to)",
    )
    report.add_argument(
        "--to", dest="period_to", metavar="T", help="period end, excluded (default: --as-of)"
    )
    report.add_argument("--group", help="only tickets whose group (as of T) is this one")
    _read_options(report)
    report.set_defaults(handler="adapters.cli.report:run")


def _timeline_parser(sub: Any, common: Parser) -> None:
    timeline = sub.add_parser(
        "timeline",
        help="post-incident timeline of a ticket (a major incident with its children)",
        parents=[common],
    )
    timeline.add_argument("ref", help="the ticket's ref")
    timeline.add_argument(
        "--format", choices=["md", "json"], default="md", help="md (default) or json"
    )
    _read_options(timeline)
    timeline.set_defaults(handler="adapters.cli.reads:timeline")


def _rebuild_parser(sub: Any, common: Parser) -> None:
    rebuild = sub.add_parser(
        "rebuild", help="drop the views (or one) and rebuild them from the log", parents=[common]
    )
    rebuild.add_argument(
        "view", nargs="?", choices=["tickets", "audit"], help="tickets or audit (default: both)"
    )
    rebuild.set_defaults(handler="adapters.cli.views:rebuild")


def _projections_parser(sub: Any, common: Parser) -> None:
    projections = sub.add_parser(
        "projections", help="the views: their position and lag, or follow the log", parents=[common]
    )
    projections.add_argument(
        "action",
        choices=["status", "run"],
        help="status: each view's position and lag; run: follow the log until stopped",
    )
    projections.set_defaults(handler="adapters.cli.views:projections")


def _sla_parser(sub: Any, common: Parser) -> None:
    sla = sub.add_parser(
        "sla", help="SLA timers of one ticket or all; --what-if POLICY", parents=[common]
    )
    sla.add_argument("ref", nargs="?", help="the ticket's ref (default: every ticket)")
    _read_options(sla)
    sla.add_argument("--what-if", metavar="POLICY", help="re-score history under this policy")
    sla.add_argument(
        "--explain",
        action="store_true",
        help="for one ticket: the calendar, periods counted, pauses and arithmetic of each timer",
    )
    sla.add_argument("--from", dest="opened_from", metavar="T", help="what-if: opened from T")
    sla.add_argument("--to", dest="opened_to", metavar="T", help="what-if: opened before T")
    sla.set_defaults(handler="adapters.cli.reads:sla")


def _audit_parser(sub: Any, common: Parser) -> None:
    audit = sub.add_parser("audit", help="a ticket's history, event by event", parents=[common])
    audit.add_argument("ref", help="the ticket's ref")
    _read_options(audit)
    audit.set_defaults(handler="adapters.cli.reads:audit")


def _export_parser(sub: Any, common: Parser) -> None:
    export = sub.add_parser("export", help="the whole log as JSON Lines", parents=[common])
    export.add_argument("--output", "-o", metavar="FILE", help="file to write (default: stdout)")
    _read_options(export)
    export.set_defaults(handler="adapters.cli.reads:export")


def _verify_parser(sub: Any, common: Parser) -> None:
    verify = sub.add_parser(
        "verify",
        help="check every hash chain, snapshot and checkpoint; exit 1 on any problem",
        parents=[common],
    )
    verify.add_argument(
        "--checkpoint",
        action="append",
        metavar="POS:HASH|FILE",
        help="a head noted earlier, or a file of checkpoint statements (repeatable)",
    )
    verify.add_argument(
        "--key", metavar="PUBLIC_KEY", help="accept only statements signed with this key"
    )
    verify.add_argument(
        "--against-nats",
        action="store_true",
        help="also compare with every head the relay anchored on NATS ($DESKLEDGER_NATS_URL)",
    )
    verify.add_argument("--nats-url", help=NATS_HELP)
    verify.set_defaults(handler="adapters.cli.evidence:verify")


def _keygen_parser(sub: Any, common: Parser) -> None:
    keygen = sub.add_parser(
        "keygen", help="make an Ed25519 key pair to sign checkpoints", parents=[common]
    )
    keygen.add_argument(
        "--out", required=True, metavar="NAME", help="writes NAME.key (secret) and NAME.pub"
    )
    keygen.set_defaults(handler="adapters.cli.evidence:keygen")


def _checkpoint_parser(sub: Any, common: Parser) -> None:
    checkpoint = sub.add_parser(
        "checkpoint",
        help="state (and sign) the log's position and chain head for an auditor",
        parents=[common],
    )
    checkpoint.add_argument("--sign", metavar="KEY", help="sign with this private key (keygen)")
    checkpoint.add_argument("--out", metavar="FILE", help="append the statement to this file")
    checkpoint.set_defaults(handler="adapters.cli.evidence:checkpoint")


def _advance_parser(sub: Any, common: Parser) -> None:
    advance = sub.add_parser(
        "advance", help="clock tick: record SLA milestones and auto-closes due up to T",
        parents=[common],
    )  # fmt: skip
    advance.add_argument("--to", required=True, metavar="T", help="the instant to advance to")
    advance.set_defaults(handler="adapters.cli.reads:advance")


def _policy_parser(sub: Any, common: Parser) -> None:
    policy = sub.add_parser("policy", help="validate or install an SLA policy", parents=[common])
    policy.add_argument("action", choices=["check", "load"], help="check: validate; load: install")
    policy.add_argument("file", help="the policy YAML file")
    policy.add_argument("--as", dest="actor", help="who installs it (default: policy-admin)")
    policy.set_defaults(handler="adapters.cli.admin:policy")


def _demo_parser(sub: Any, common: Parser) -> None:
    demo = sub.add_parser("demo", help="the main job on embedded defaults", parents=[common])
    demo.add_argument("--db", default="deskledger-demo.db", help="SQLite file to (re)create")
    demo.add_argument("--nats-url", help=NATS_HELP)
    demo.set_defaults(handler="adapters.cli.admin:demo")


def _relay_parser(sub: Any, common: Parser) -> None:
    relay = sub.add_parser("relay", help="publish the log to NATS JetStream", parents=[common])
    relay.add_argument("--nats-url", help=NATS_HELP)
    relay.add_argument("--stream", default="DESKLEDGER", help="JetStream stream name")
    relay.add_argument("--once", action="store_true", help="publish what the log holds, then exit")
    relay.set_defaults(handler="adapters.cli.admin:relay")


def _import_parser(sub: Any, common: Parser) -> None:
    importer = sub.add_parser("import", help="import history from another tool", parents=[common])
    importer.add_argument("source", choices=["servicenow"], help="the tool: servicenow")
    importer.add_argument("file", help="a ServiceNow incident audit export (CSV)")
    importer.add_argument("--policy", metavar="FILE", help="policy YAML to load before importing")
    importer.add_argument(
        "--timezone",
        default="UTC",
        metavar="ZONE",
        help="the instance's time zone for the export's timestamps (IANA name; default UTC)",
    )
    importer.add_argument(
        "--reconcile",
        action="store_true",
        help="write nothing: compare the file's final values per incident with the store's "
        "(which must hold the import) and report every disagreement with its reason",
    )
    importer.set_defaults(handler="adapters.cli.importing:run")


def _scenario_parser(sub: Any, common: Parser) -> None:
    scenario = sub.add_parser(
        "scenario", help="run scenario files and check expectations", parents=[common]
    )
    scenario.add_argument("action", choices=["run"], help="run the scenarios")
    scenario.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    scenario.set_defaults(handler="adapters.cli.admin:scenario")


#: Every subcommand besides the ticket commands (:mod:`adapters.cli.command_table`), in the
#: order ``--help`` lists them, with what adds its parser.
SUBCOMMANDS: dict[str, Callable[[Any, Parser], None]] = {
    "show": _show_parser,
    "tickets": _tickets_parser,
    "queue": _queue_parser,
    "report": _report_parser,
    "timeline": _timeline_parser,
    "rebuild": _rebuild_parser,
    "projections": _projections_parser,
    "sla": _sla_parser,
    "audit": _audit_parser,
    "export": _export_parser,
    "verify": _verify_parser,
    "keygen": _keygen_parser,
    "checkpoint": _checkpoint_parser,
    "advance": _advance_parser,
    "policy": _policy_parser,
    "demo": _demo_parser,
    "relay": _relay_parser,
    "import": _import_parser,
    "scenario": _scenario_parser,
}
#: Options of the top-level parser that take a value (see :func:`_subcommand`).
_VALUED = frozenset({"--store", "--log-level"})


def _subcommand(arguments: Sequence[str]) -> str | None:
    """The subcommand ``arguments`` name, if they name a known one first (else None)."""
    from adapters.cli.command_table import COMMANDS  # noqa: PLC0415

    index = 0
    while index < len(arguments):
        argument = arguments[index]
        if argument in _VALUED:
            index += 2
        elif argument.startswith("-"):
            index += 1
        else:
            ticket_command = "_" not in argument and argument.replace("-", "_") in COMMANDS
            return argument if ticket_command or argument in SUBCOMMANDS else None
    return None
