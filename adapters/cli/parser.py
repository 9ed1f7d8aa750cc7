"""The ``deskledger`` argument parser. Each subcommand names its handler as
``"module:function"``, imported only when that subcommand runs (start-up stays fast)."""

from __future__ import annotations

import argparse
from typing import NoReturn

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


def build_parser() -> Parser:
    from adapters.cli import tickets  # noqa: PLC0415

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

    tickets.add_parsers(sub, common)

    show = sub.add_parser("show", help="one ticket's current (or as-of) state", parents=[common])
    show.add_argument("ref", help="the ticket's ref")
    _read_options(show)
    show.set_defaults(handler="adapters.cli.reads:show")

    listing = sub.add_parser("tickets", help="all tickets, filterable", parents=[common])
    listing.add_argument("--state", help="only tickets in this state")
    listing.add_argument("--group", help="only tickets of this assignment group")
    listing.add_argument("--priority", type=int, help="only tickets of this priority (1-5)")
    _read_options(listing)
    listing.set_defaults(handler="adapters.cli.reads:tickets")

    sla = sub.add_parser(
        "sla", help="SLA timers of one ticket or all; --what-if POLICY", parents=[common]
    )
    sla.add_argument("ref", nargs="?", help="the ticket's ref (default: every ticket)")
    _read_options(sla)
    sla.add_argument("--what-if", metavar="POLICY", help="re-score history under this policy")
    sla.add_argument("--from", dest="opened_from", metavar="T", help="what-if: opened from T")
    sla.add_argument("--to", dest="opened_to", metavar="T", help="what-if: opened before T")
    sla.set_defaults(handler="adapters.cli.reads:sla")

    audit = sub.add_parser("audit", help="a ticket's history, event by event", parents=[common])
    audit.add_argument("ref", help="the ticket's ref")
    _read_options(audit)
    audit.set_defaults(handler="adapters.cli.reads:audit")

    export = sub.add_parser("export", help="the whole log as JSON Lines", parents=[common])
    export.add_argument("--output", "-o", metavar="FILE", help="file to write (default: stdout)")
    _read_options(export)
    export.set_defaults(handler="adapters.cli.reads:export")

    verify = sub.add_parser(
        "verify", help="check every hash chain; exit 1 on any problem", parents=[common]
    )
    verify.add_argument("--checkpoint", help="a chain head noted earlier: <position>:<hash>")
    verify.set_defaults(handler="adapters.cli.reads:verify")

    advance = sub.add_parser(
        "advance", help="clock tick: record SLA milestones and auto-closes due up to T",
        parents=[common],
    )  # fmt: skip
    advance.add_argument("--to", required=True, metavar="T", help="the instant to advance to")
    advance.set_defaults(handler="adapters.cli.reads:advance")

    policy = sub.add_parser("policy", help="validate or install an SLA policy", parents=[common])
    policy.add_argument("action", choices=["check", "load"], help="check: validate; load: install")
    policy.add_argument("file", help="the policy YAML file")
    policy.add_argument("--as", dest="actor", help="who installs it (default: policy-admin)")
    policy.set_defaults(handler="adapters.cli.admin:policy")

    demo = sub.add_parser("demo", help="the main job on embedded defaults", parents=[common])
    demo.add_argument("--db", default="deskledger-demo.db", help="SQLite file to (re)create")
    demo.add_argument("--nats-url", help=NATS_HELP)
    demo.set_defaults(handler="adapters.cli.admin:demo")

    relay = sub.add_parser("relay", help="publish the log to NATS JetStream", parents=[common])
    relay.add_argument("--nats-url", help=NATS_HELP)
    relay.add_argument("--stream", default="DESKLEDGER", help="JetStream stream name")
    relay.add_argument("--once", action="store_true", help="publish what the log holds, then exit")
    relay.set_defaults(handler="adapters.cli.admin:relay")

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
    importer.set_defaults(handler="adapters.cli.importing:run")

    scenario = sub.add_parser(
        "scenario", help="run scenario files and check expectations", parents=[common]
    )
    scenario.add_argument("action", choices=["run"], help="run the scenarios")
    scenario.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    scenario.set_defaults(handler="adapters.cli.admin:scenario")
    return parser
