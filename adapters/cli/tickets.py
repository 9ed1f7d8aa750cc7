"""The ticket commands (``open``, ``assign``, ``hold``...): one subcommand per engine command.

Options come from the command models (:mod:`engine.commands`), through the table generated
from them (:mod:`adapters.cli.command_table`, written by ``tools/cli_options.py``): each field
is an option whose help is the field's description, listing the valid values. Reading the
table instead of the models keeps pydantic out of ``deskledger --help``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from adapters.cli import render
from adapters.cli.args import optional_instant
from adapters.cli.command_table import COMMANDS
from adapters.cli.errors import EXIT_OK, UsageError
from adapters.settings import Settings

CLEARABLE = ("group", "assignee")


def add_parsers(
    sub: Any, common: argparse.ArgumentParser, wants: Callable[[str], bool] = lambda _: True
) -> None:
    """A subcommand per engine command (those ``wants`` names), with an option per field."""
    for name, (summary, doc, fields) in COMMANDS.items():
        if not wants(name.replace("_", "-")):
            continue
        parser = sub.add_parser(
            name.replace("_", "-"), help=summary, description=doc, parents=[common]
        )
        parser.add_argument(
            "ref",
            help="the major incident's ref" if name == "link_child" else "the ticket's ref",
        )
        for field_name, kind, _, _, description in fields:
            if field_name == "ref":
                continue
            option = "--" + field_name.replace("_", "-")
            if field_name == "actions":
                parser.add_argument(
                    "--action", dest="actions", action="append", default=None, help=description
                )
            elif kind == "flag":
                parser.add_argument(
                    option, dest=field_name, action="store_true", default=None, help=description
                )
            else:
                parser.add_argument(
                    option, dest=field_name, default=None, metavar="VALUE", help=description
                )
            if name == "assign" and field_name in CLEARABLE:
                parser.add_argument(
                    f"--no-{field_name}",
                    dest=f"clear_{field_name}",
                    action="store_true",
                    help=f"clear the {field_name}",
                )
        parser.add_argument("--as", dest="actor", help="who does it (default: $DESKLEDGER_ACTOR)")
        parser.add_argument(
            "--at", help="when it happened: ISO-8601 with offset, or a date (default: now)"
        )
        parser.add_argument(
            "--command-id", help="idempotency key: a retry with the same key has no effect"
        )
        parser.add_argument(
            "--expected-version",
            type=int,
            metavar="N",
            help="fail with a concurrency error unless the ticket is at version N",
        )
        parser.set_defaults(handler="adapters.cli.tickets:run", command_name=name)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ticket command and print what it recorded."""
    from adapters.bootstrap import open_desk  # noqa: PLC0415

    fields: dict[str, Any] = {"ref": args.ref}
    for field_name, *_ in COMMANDS[args.command_name][2]:
        value = getattr(args, field_name, None)
        if field_name != "ref" and value is not None:
            fields[field_name] = value
    for cleared in CLEARABLE:
        if getattr(args, f"clear_{cleared}", False):
            if cleared in fields:
                raise UsageError(f"--{cleared} and --no-{cleared} contradict each other")
            fields[cleared] = None
    actor = args.actor or settings.actor
    if not actor:
        raise UsageError("--as: who is doing this? (or set DESKLEDGER_ACTOR)")
    at = optional_instant(args.at, "--at")
    desk = open_desk(settings)
    result = desk.execute(
        args.command_name,
        fields,
        actor=actor,
        at=at,
        command_id=args.command_id,
        expected_version=args.expected_version,
    )
    if args.json:
        render.emit_json(
            {
                "ref": result.ref,
                "version": result.version,
                "events": result.events,
                "positions": result.positions,
                "duplicate": result.duplicate,
            }
        )
    elif result.duplicate:
        render.line(
            f"{result.ref}: already applied (command id {args.command_id}); nothing written"
        )
    elif not result.events:
        render.line(f"{result.ref}: nothing changed")
    else:
        render.line(f"{result.ref} v{result.version}: {', '.join(result.events)}")
    return EXIT_OK
