"""The ticket commands (``open``, ``assign``, ``hold``...): one subcommand per engine command.

Options come from the command models (:mod:`engine.commands`), through the table generated
from them (:mod:`adapters.cli.command_table`, written by ``tools/cli_options.py``): each field
is an option whose help is the field's description, listing the valid values. Reading the
table instead of the models keeps pydantic out of ``deskledger --help``. A list field is an
option given once per item (``--lesson A --lesson B``); a field that may be cleared has a
``--no-FIELD``. A review's ``--action`` is ``TEXT`` or
``TEXT | owner=NAME | due=YYYY-MM-DD | link=REF``.
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

#: Per command, the fields ``--no-FIELD`` clears (an explicit null).
CLEARABLE: dict[str, tuple[str, ...]] = {
    "assign": ("group", "assignee"),
    "assign_roles": ("commander", "comms_lead"),
    "update": (
        "description",
        "category",
        "subcategory",
        "service",
        "affected_services",
        "affected_users",
        "change",
    ),
}
#: List fields and the option that adds one item.
LIST_OPTIONS = {
    "actions": "--action",
    "contributing_factors": "--contributing-factor",
    "went_well": "--went-well",
    "lessons": "--lesson",
    "affected_services": "--affected-service",
}
ACTION_KEYS = ("owner", "due", "link")


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
            help="the major incident's ref"
            if name == "link_child"
            else "the ticket's ref, e.g. INC0001234",
        )
        for field_name, kind, _, _, description in fields:
            if field_name == "ref":
                continue
            option = "--" + field_name.replace("_", "-")
            if field_name in LIST_OPTIONS:
                parser.add_argument(
                    LIST_OPTIONS[field_name],
                    dest=field_name,
                    action="append",
                    default=None,
                    metavar="VALUE",
                    help=description,
                )
            elif kind == "flag":
                parser.add_argument(
                    option, dest=field_name, action="store_true", default=None, help=description
                )
            else:
                parser.add_argument(
                    option, dest=field_name, default=None, metavar="VALUE", help=description
                )
            if field_name in CLEARABLE.get(name, ()):
                parser.add_argument(
                    f"--no-{field_name.replace('_', '-')}",
                    dest=f"clear_{field_name}",
                    action="store_true",
                    help=f"clear the {field_name.replace('_', ' ')}",
                )
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="ACTOR",
            help="who does it, recorded on every event (default: $DESKLEDGER_ACTOR)",
        )
        parser.add_argument(
            "--at",
            metavar="T",
            help="when it happened: ISO-8601 with offset, or a date (00:00 UTC); not before the "
            "ticket's last event (default: now, or the last event's time if that is later)",
        )
        parser.add_argument(
            "--command-id",
            metavar="ID",
            help="idempotency key: a retry with the same key and fields has no effect",
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
    for cleared in CLEARABLE.get(args.command_name, ()):
        if getattr(args, f"clear_{cleared}", False):
            if cleared in fields:
                option = LIST_OPTIONS.get(cleared, "--" + cleared.replace("_", "-"))
                raise UsageError(
                    f"{option} and --no-{cleared.replace('_', '-')} contradict each other"
                )
            fields[cleared] = None
    if "actions" in fields:
        fields["actions"] = [action_item(text) for text in fields["actions"]]
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


def action_item(text: str) -> str | dict[str, str]:
    """``--action`` as the review command takes it: the text alone, or a mapping when
    ``| owner=NAME``, ``| due=YYYY-MM-DD`` or ``| link=REF`` parts follow the text."""
    first, *rest = (part.strip() for part in text.split("|"))
    if not rest:
        return first
    item = {"text": first}
    for part in rest:
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in ACTION_KEYS or not value.strip():
            raise UsageError(
                f"--action {text!r}: {part!r} is not owner=NAME, due=YYYY-MM-DD or link=REF"
            )
        if key in item:
            raise UsageError(f"--action {text!r}: {key} is given twice")
        item[key] = value.strip()
    return item
