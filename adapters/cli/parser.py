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
NATS_HELP = (
    "NATS server URL, e.g. nats://127.0.0.1:4222 (default: $DESKLEDGER_NATS_URL; "
    "demo: an embedded server)"
)
INSTANT = "ISO-8601 with offset, e.g. 2026-03-02T09:00:00+00:00, or a date (00:00 UTC)"
REF_HELP = "the ticket's ref, e.g. INC0001234"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` (so ``--json`` applies)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _read_options(parser: argparse.ArgumentParser, *, as_of: bool = True) -> None:
    if as_of:
        parser.add_argument(
            "--as-of",
            metavar="T",
            help=f"answer as of T, from the events that occurred at or before T ({INSTANT}; "
            "default: now)",
        )


def _command(sub: Any, name: str, summary: str, description: str, common: Parser) -> Parser:
    """A subcommand: ``summary`` for the list of commands, ``description`` for its --help."""
    parser: Parser = sub.add_parser(
        name, help=summary, description=f"{summary[0].upper()}{summary[1:]}. {description}",
        parents=[common],
    )  # fmt: skip
    return parser


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
    json_help = "print JSON instead of text (errors too: one JSON object on stderr)"
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=json_help)
    parser = Parser(prog="deskledger", description=DESCRIPTION)
    parser.add_argument(
        "--store",
        metavar="URL",
        help="the store: sqlite:///FILE (relative), sqlite:////PATH (absolute), "
        "postgresql://USER:PASS@HOST:PORT/DB[?schema=NAME&pool_size=N&max_overflow=N"
        "&connect_timeout=S] or memory:// "
        "(default: $DESKLEDGER_STORE, else sqlite:///deskledger.db)",
    )
    parser.add_argument("--json", action="store_true", default=False, help=json_help)
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="log level: DEBUG, INFO, WARNING, ERROR or CRITICAL; logs go to stderr, or to "
        "$DESKLEDGER_LOG_FILE (default: $DESKLEDGER_LOG_LEVEL, else WARNING)",
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
    show = _command(
        sub, "show", "one ticket's current (or as-of) state",
        "Prints the ticket's fields (the JSON names of --json) and says when no SLA applied; "
        "an imported ticket also lists the figures where its source disagrees.",
        common,
    )  # fmt: skip
    show.add_argument("ref", help=REF_HELP)
    _read_options(show)
    show.set_defaults(handler="adapters.cli.reads:show")


def _tickets_parser(sub: Any, common: Parser) -> None:
    listing = _command(
        sub, "tickets", "tickets, filtered, sorted and paged",
        "Every criterion given must hold; values compare exactly (case-sensitive). Without "
        "--limit every match is listed.",
        common,
    )  # fmt: skip
    listing.add_argument(
        "--state",
        help="only tickets in this state: new, in_progress, on_hold, resolved, closed or canceled",
    )
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
    listing.add_argument(
        "--opened-from", metavar="T", help=f"only tickets opened at or after T ({INSTANT})"
    )
    listing.add_argument("--opened-to", metavar="T", help="only tickets opened before T")
    listing.add_argument(
        "--sort",
        choices=["opened", "priority", "ref", "updated"],
        default="opened",
        help="order: opened (default), priority, ref or updated (last event); ties by ref",
    )
    listing.add_argument("--desc", action="store_true", help="sort in descending order")
    listing.add_argument("--limit", type=int, metavar="N", help="at most N tickets per page")
    listing.add_argument(
        "--cursor", help="the next page: the cursor the previous page printed (same options)"
    )
    _read_options(listing)
    listing.set_defaults(handler="adapters.cli.reads:tickets")


def _queue_parser(sub: Any, common: Parser) -> None:
    queue = _command(
        sub, "queue", "open work in order: priority, SLA due time, age",
        "The tickets in new, in_progress or on_hold, by priority, then the earliest due time "
        "of their running or breached SLA timers (none last), then opening time, then ref.",
        common,
    )  # fmt: skip
    queue.add_argument("--group", help="only this assignment group's queue")
    queue.add_argument("--assignee", help="only this assignee's queue")
    queue.add_argument("--tier", type=int, metavar="N", help="only support tier N (1-3)")
    queue.add_argument("--limit", type=int, metavar="N", help="the first N tickets only")
    _read_options(queue)
    queue.set_defaults(handler="adapters.cli.reads:queue")


def _report_parser(sub: Any, common: Parser) -> None:
    report = _command(
        sub, "report", "desk metrics: volume, backlog, SLA, MTTA, MTTR, FCR",
        "The desk report over the period [--from, --to) from the events that occurred by "
        "--as-of; docs/reports.md defines every figure.",
        common,
    )  # fmt: skip
    report.add_argument(
        "--from",
        dest="period_from",
        metavar="T",
        help=f"period start, included ({INSTANT}; default: 30 days before the end)",
    )
    report.add_argument(
        "--to", dest="period_to", metavar="T", help="period end, excluded (default: --as-of)"
    )
    report.add_argument("--group", help="only tickets whose group (as of T) is this one")
    _read_options(report)
    report.set_defaults(handler="adapters.cli.report:run")


def _timeline_parser(sub: Any, common: Parser) -> None:
    timeline = _command(
        sub, "timeline", "post-incident timeline of a ticket (a major incident with its children)",
        "Every event in time order with its actor, and the key intervals (time to respond, on "
        "hold, to resolve); Markdown is the skeleton of a post-incident report.",
        common,
    )  # fmt: skip
    timeline.add_argument("ref", help=REF_HELP)
    timeline.add_argument(
        "--format",
        choices=["md", "json"],
        default="md",
        help="md: Markdown (default); json: the timeline as JSON (as --json)",
    )
    _read_options(timeline)
    timeline.set_defaults(handler="adapters.cli.reads:timeline")


def _rebuild_parser(sub: Any, common: Parser) -> None:
    rebuild = _command(
        sub, "rebuild", "drop the views (or one) and rebuild them from the log",
        "The views are derived data: rebuilding gives the same rows. Prints progress.",
        common,
    )  # fmt: skip
    rebuild.add_argument(
        "view",
        nargs="?",
        choices=["tickets", "audit"],
        help="tickets (the ticket and SLA rows) or audit (the positions index); default: both",
    )
    rebuild.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes rebuilding the tickets of a SQLite file store in parallel, one "
        "shard of the tickets each (1-8; 1: in this process); default: one per CPU for "
        "logs of 50,000 events or more",
    )
    rebuild.set_defaults(handler="adapters.cli.views:rebuild")


def _projections_parser(sub: Any, common: Parser) -> None:
    projections = _command(
        sub, "projections", "the views: their position and lag, or follow the log",
        "Read commands catch the views up by themselves; run keeps them current in the "
        "background instead (useful with PostgreSQL and several readers).",
        common,
    )  # fmt: skip
    projections.add_argument(
        "action",
        choices=["status", "run"],
        help="status: each view's position and lag; run: follow the log until stopped",
    )
    projections.set_defaults(handler="adapters.cli.views:projections")


def _sla_parser(sub: Any, common: Parser) -> None:
    sla = _command(
        sub, "sla", "SLA timers of one ticket or all; --what-if POLICY",
        "Each timer's stage, business time elapsed, target, due and breach instants, run on to "
        "now (or --as-of). --explain shows the arithmetic; --what-if re-scores history under "
        "another policy and writes nothing.",
        common,
    )  # fmt: skip
    sla.add_argument("ref", nargs="?", help="the ticket's ref (default: every ticket)")
    _read_options(sla)
    sla.add_argument(
        "--what-if",
        metavar="POLICY",
        help="a policy YAML file: the verdicts and compliance that would differ under it",
    )
    sla.add_argument(
        "--explain",
        action="store_true",
        help="for one ticket: the calendar, periods counted, pauses and arithmetic of each timer",
    )
    sla.add_argument(
        "--from", dest="opened_from", metavar="T", help="what-if: only tickets opened at or after T"
    )
    sla.add_argument(
        "--to", dest="opened_to", metavar="T", help="what-if: only tickets opened before T"
    )
    sla.set_defaults(handler="adapters.cli.reads:sla")


def _audit_parser(sub: Any, common: Parser) -> None:
    audit = _command(
        sub, "audit", "a ticket's history, event by event",
        "Every event with its position, version, time, actor, data and hashes (--json: the "
        "envelopes); an imported ticket also shows the source row of each event.",
        common,
    )  # fmt: skip
    audit.add_argument("ref", help=REF_HELP)
    _read_options(audit)
    audit.set_defaults(handler="adapters.cli.reads:audit")


def _export_parser(sub: Any, common: Parser) -> None:
    export = _command(
        sub, "export", "the whole log as JSON Lines",
        "One envelope per line in position order, as docs/hash-format.md defines it; "
        "tools/verify_export.py checks the file without DeskLedger.",
        common,
    )  # fmt: skip
    export.add_argument("--output", "-o", metavar="FILE", help="file to write (default: stdout)")
    _read_options(export)
    export.set_defaults(handler="adapters.cli.reads:export")


def _verify_parser(sub: Any, common: Parser) -> None:
    verify = _command(
        sub, "verify", "check every hash chain, snapshot and checkpoint; exit 1 on any problem",
        "Recomputes each event's hash and each ticket's chain, names every altered, missing, "
        "inserted or reordered event, and prints the log's chain head POSITION:HASH.",
        common,
    )  # fmt: skip
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
    keygen = _command(
        sub, "keygen", "make an Ed25519 key pair to sign checkpoints",
        "Writes the secret key and the public key to give to auditors.",
        common,
    )  # fmt: skip
    keygen.add_argument(
        "--out", required=True, metavar="NAME", help="writes NAME.key (secret) and NAME.pub"
    )
    keygen.set_defaults(handler="adapters.cli.evidence:keygen")


def _checkpoint_parser(sub: Any, common: Parser) -> None:
    checkpoint = _command(
        sub, "checkpoint", "state (and sign) the log's position and chain head for an auditor",
        "Prints one checkpoint statement (JSON); keep it out of the operator's reach.",
        common,
    )  # fmt: skip
    checkpoint.add_argument("--sign", metavar="KEY", help="sign with this private key (keygen)")
    checkpoint.add_argument("--out", metavar="FILE", help="append the statement to this file")
    checkpoint.set_defaults(handler="adapters.cli.evidence:checkpoint")


def _advance_parser(sub: Any, common: Parser) -> None:
    advance = _command(
        sub, "advance", "clock tick: record SLA milestones and auto-closes due up to T",
        "Safe to repeat: what is already recorded is not recorded again. Run it from a timer "
        "(cron, systemd) so idle tickets get their warnings, breaches and auto-closes.",
        common,
    )  # fmt: skip
    advance.add_argument("--to", required=True, metavar="T", help=f"the instant ({INSTANT})")
    advance.set_defaults(handler="adapters.cli.reads:advance")


def _init_parser(sub: Any, common: Parser) -> None:
    init = sub.add_parser(
        "init",
        help="create the store's schema, tables and views now (run once as their owner)",
        description="Create the store: a PostgreSQL schema when missing, the event and "
        "snapshot tables, and the views' tables. Any command does this on first use; init "
        "lets the database's owner do it once, so that everyday commands can run as a user "
        "who may only read and write the tables.",
        parents=[common],
    )
    init.set_defaults(handler="adapters.cli.admin:init")


def _policy_parser(sub: Any, common: Parser) -> None:
    policy = _command(
        sub, "policy", "validate or install an SLA policy",
        "A policy is YAML (docs/policy.md); an invalid one is rejected with the path of the "
        "offending key and nothing is written.",
        common,
    )  # fmt: skip
    policy.add_argument(
        "action",
        choices=["check", "load"],
        help="check: validate and summarise, writing nothing; load: install it as the store's "
        "next policy version (nothing if it equals the current one)",
    )
    policy.add_argument("file", help="the policy YAML file")
    policy.add_argument("--as", dest="actor", help="who installs it (default: policy-admin)")
    policy.set_defaults(handler="adapters.cli.admin:policy")


def _demo_parser(sub: Any, common: Parser) -> None:
    demo = _command(
        sub, "demo", "the main job on embedded defaults",
        "A fresh SQLite store and an embedded NATS server; the bundled scenarios play while the "
        "relay publishes and a subscriber follows; then the queue, SLA summary, report, a "
        "timeline and the verify result.",
        common,
    )  # fmt: skip
    demo.add_argument("--db", default="deskledger-demo.db", help="SQLite file to (re)create")
    demo.add_argument("--nats-url", help=NATS_HELP)
    demo.set_defaults(handler="adapters.cli.admin:demo")


def _relay_parser(sub: Any, common: Parser) -> None:
    relay = _command(
        sub, "relay", "publish the log to NATS JetStream",
        "Publishes every event in position order to deskledger.ticket.<ref>.<EventType>, "
        "resumes where the stream ends, and anchors chain heads; docs/nats.md.",
        common,
    )  # fmt: skip
    relay.add_argument("--nats-url", help=NATS_HELP)
    relay.add_argument(
        "--stream", default="DESKLEDGER", help="JetStream stream name (default: DESKLEDGER)"
    )
    relay.add_argument(
        "--once",
        action="store_true",
        help="publish what the log holds, then exit (default: follow)",
    )
    relay.set_defaults(handler="adapters.cli.admin:relay")


def _import_parser(sub: Any, common: Parser) -> None:
    importer = _command(
        sub, "import", "import history from another tool",
        "Replays the export through the engine's own commands, all or nothing; re-importing "
        "adds nothing. docs/servicenow-import.md.",
        common,
    )  # fmt: skip
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
    scenario = _command(
        sub, "scenario", "run scenario files and check expectations",
        "Each file runs on a fresh in-memory store (on --store only when it is given); exit 1 "
        "when an expectation fails. docs/scenarios.md.",
        common,
    )  # fmt: skip
    scenario.add_argument("action", choices=["run"], help="run: play the steps, check `expect`")
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
    "init": _init_parser,
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
