"""docs/cli.md, generated from the ``deskledger`` argument parser (adapters/cli/parser.py).

Every command, argument, default and help text comes from ``build_parser()``, so the page
says what ``deskledger COMMAND --help`` says and cannot drift from it. Run
``make docs`` (tools/gen_docs.py) after changing a command or a help text;
``tests/test_generated_docs.py`` fails until the page is regenerated.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from adapters.cli.parser import build_parser

PAGE = Path("docs/cli.md")
TICKET_HANDLER = "adapters.cli.tickets:run"
#: Sections of the page after the ticket commands; a command not listed lands in "Other".
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Reading the desk", ("show", "tickets", "queue", "sla", "audit", "timeline", "report")),
    ("The clock", ("advance",)),
    ("Policies, scenarios and imports", ("policy", "scenario", "import")),
    ("Evidence", ("export", "verify", "checkpoint", "keygen")),
    ("Views", ("rebuild", "projections")),
    ("NATS and the demo", ("relay", "demo")),
)

TICKET_INTRO = (
    "One subcommand per engine command ([the lifecycle](lifecycle.md) says in which state "
    "each is allowed). Each field of the command is an option; every one of them also takes "
    "`--as`, `--at`, `--command-id` and `--expected-version`."
)
HEADER = """\
# Command-line reference

<!-- Generated from adapters/cli/parser.py by tools/gen_cli_reference.py: do not edit by
hand. After changing a command, an option or a help text, run `make docs`. -->

This page is what `deskledger --help` and `deskledger COMMAND --help` print, gathered in one
place. Global options go before the command (`deskledger --store URL show INC1001`);
every command also takes `--json` after its name, and `-h`/`--help`.

"""


def _escape(text: str) -> str:
    """Help text as the content of a Markdown table cell."""
    return (
        " ".join(text.split())
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace("*", "\\*")
    )


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each command's one-line help, as the list of commands shows it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {str(choice.dest): str(choice.help or "") for choice in action._choices_actions}
    return {}


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0 and not isinstance(action, argparse.BooleanOptionalAction)


def _value_name(action: argparse.Action) -> str:
    if action.choices is not None and action.metavar is None:
        return "{" + ",".join(str(choice) for choice in action.choices) + "}"
    if isinstance(action.metavar, str):
        return action.metavar
    return str(action.dest).upper()


def _argument(action: argparse.Action) -> str:
    """How the argument is written: ``REF``, ``[REF]``, ``FILE ...``, ``--at T``, ``-o FILE``."""
    if not action.option_strings:
        name = _value_name(action)
        if action.nargs == "?":
            return f"[{name}]"
        if action.nargs in ("+", "*"):
            return f"{name} ..."
        return name
    value = f" {_value_name(action)}" if _takes_value(action) else ""
    return ", ".join(f"{option}{value}" for option in action.option_strings)


def _default(action: argparse.Action) -> str:
    if action.required and action.option_strings:
        return "required"
    default = action.default
    if default in (None, False, argparse.SUPPRESS) or isinstance(
        action, argparse._StoreTrueAction | argparse.BooleanOptionalAction
    ):
        return ""
    return f"`{default}`"


def _arguments_table(actions: Iterable[argparse.Action]) -> list[str]:
    lines = ["| argument | meaning | default |", "|---|---|---|"]
    for action in actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        lines.append(
            f"| `{_argument(action)}` | {_escape(action.help or '')} | {_default(action)} |"
        )
    return lines


def _usage(name: str, parser: argparse.ArgumentParser) -> str:
    positionals = [_argument(a) for a in parser._actions if not a.option_strings]
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    return " ".join(["deskledger", name, *positionals, *(["[options]"] if options else [])])


def _section(name: str, parser: argparse.ArgumentParser, summary: str) -> list[str]:
    description = parser.description or summary
    return [
        f"### {name}",
        "",
        f"`{_usage(name, parser)}`",
        "",
        _escape(description),
        "",
        *_arguments_table(parser._actions),
        "",
    ]


def render() -> str:
    """The whole of docs/cli.md."""
    parser = build_parser()
    commands = _subcommands(parser)
    summaries = _summaries(parser)
    lines = [HEADER.rstrip("\n"), "", _escape(parser.description or ""), ""]
    lines += ["## Global options", "", *_arguments_table(parser._actions), ""]
    lines += ["## Commands", "", "| command | what it does |", "|---|---|"]
    lines += [f"| [`{name}`](#{name}) | {_escape(summaries[name])} |" for name in commands]
    lines.append("")

    ticket_commands = [
        name for name, sub in commands.items() if sub.get_default("handler") == TICKET_HANDLER
    ]
    sections: list[tuple[str, list[str]]] = [("Ticket commands", ticket_commands)]
    placed = set(ticket_commands)
    for title, group in GROUPS:
        present = [name for name in group if name in commands]
        sections.append((title, present))
        placed.update(present)
    sections.append(("Other commands", [name for name in commands if name not in placed]))
    for title, names in sections:
        if not names:
            continue
        lines += [f"## {title}", ""]
        if title == "Ticket commands":
            lines += [TICKET_INTRO, ""]
        for name in names:
            lines += _section(name, commands[name], summaries[name])
    return "\n".join(lines).rstrip("\n") + "\n"


def outputs(root: Path) -> dict[Path, str]:
    """The files this generator writes, by path under ``root``."""
    return {root / PAGE: render()}
