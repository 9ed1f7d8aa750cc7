#!/usr/bin/env python3
"""Write adapters/cli/command_table.py: the ticket subcommands' options, from engine/commands.py.

    .venv/bin/python tools/cli_options.py          # rewrite the table
    .venv/bin/python tools/cli_options.py --check  # exit 1 when the table is out of date

The command line builds a subcommand per engine command, an option per field, with the
docstrings and field descriptions as help. Reading them from the pydantic models means
importing pydantic and building every model before ``deskledger --help`` can answer, so the
parser reads this generated table instead. Run this after adding or changing a command in
engine/commands.py (tests/test_cli_startup.py fails until the table matches).
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "adapters" / "cli" / "command_table.py"

HEADER = '''"""The ticket subcommands and their options, generated from engine/commands.py.

Do not edit: after changing a command in engine/commands.py, run

    .venv/bin/python tools/cli_options.py

(tests/test_cli_startup.py fails while this file differs from what that writes). The parser
reads this table instead of the pydantic command models, so that start-up stays fast.
"""

# fmt: off
# ruff: noqa: E501

#: A field: (name, kind, type, required, description); kind is "value" (takes VALUE),
#: "flag" (a switch) or "list" (repeatable).
Field = tuple[str, str, str, bool, str]

#: command name -> (one-line help, description, fields), in the order of engine.commands.
COMMANDS: dict[str, tuple[str, str, tuple[Field, ...]]] = {
'''


def _type_name(annotation: Any) -> str:
    """A field's type as the table names it (``str``, ``int``, ``bool``, ``list[str]``)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kept = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return " | ".join(_type_name(arg) for arg in kept)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return f"list[{_type_name(item)}]"
    return str(getattr(annotation, "__name__", annotation))


def _kind(type_name: str) -> str:
    if type_name == "bool":
        return "flag"
    return "list" if type_name.startswith("list[") else "value"


def render() -> tuple[str, int]:
    """The table's source text, from the command models of engine.commands, and how many
    commands it holds."""
    from engine import commands  # noqa: PLC0415 - the models are what this tool reads

    lines = [HEADER]
    for name, model in commands.COMMANDS.items():
        doc = " ".join((model.__doc__ or name).split())
        lines.append(f"    {name!r}: (\n")
        lines.append(f"        {doc.split('. ')[0]!r},\n")
        lines.append(f"        {doc!r},\n")
        lines.append("        (\n")
        for field_name, info in model.model_fields.items():
            type_name = _type_name(info.annotation)
            entry = (
                field_name,
                _kind(type_name),
                type_name,
                info.is_required(),
                info.description or field_name,
            )
            lines.append(f"            {entry!r},\n")
        lines.append("        ),\n")
        lines.append("    ),\n")
    lines.append("}\n")
    return "".join(lines), len(commands.COMMANDS)


def main(argv: list[str]) -> int:
    text, count = render()
    if argv == ["--check"]:
        if TABLE.read_text(encoding="utf-8") != text:
            print(f"{TABLE.relative_to(ROOT)} is out of date: run tools/cli_options.py")
            return 1
        return 0
    if argv:
        print(__doc__)
        return 2
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE.relative_to(ROOT)} ({count} commands)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
