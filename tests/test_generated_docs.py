"""The generated documentation is current and says what it should.

docs/cli.md, the event catalogue (docs/events.md and docs/events/*.schema.json) and the tables
marked as generated in hand-written pages come from the code (tools/gen_docs.py). These tests
regenerate them in memory and compare, check that every command and option explains itself,
and that the event schemas accept what DeskLedger really writes, today and in old stores.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from jsonschema import Draft202012Validator

from adapters.cli.parser import build_parser
from adapters.demo import bundled_scenarios
from adapters.scenario import run_scenario
from engine.application import Desk
from engine.commands import COMMANDS
from engine.log import export_lines

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "events"


@pytest.fixture(scope="module")
def tools() -> Iterator[dict[str, ModuleType]]:
    """The generators under tools/ (a folder of scripts, not a package)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gen_cli_reference  # noqa: PLC0415
        import gen_docs  # noqa: PLC0415
        import gen_event_catalogue  # noqa: PLC0415

        yield {
            "gen_docs": gen_docs,
            "gen_cli_reference": gen_cli_reference,
            "gen_event_catalogue": gen_event_catalogue,
        }
    finally:
        sys.path.remove(str(ROOT / "tools"))


def test_generated_docs_are_what_the_code_gives(tools: dict[str, ModuleType]) -> None:
    """Regenerating changes nothing; otherwise the message names each file and the command
    that brings it up to date."""
    stale = [str(path.relative_to(ROOT)) for path in tools["gen_docs"].stale()]
    assert [] == stale, (
        f"{', '.join(stale)} out of date: run `{tools['gen_docs'].REGENERATE}` and commit"
    )


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {"deskledger": parser, **dict(action.choices)}
    raise AssertionError("no subcommands")


def test_every_command_and_option_says_what_it_does() -> None:
    """Every command has a description and every argument a help text of a few words."""
    thin = []
    for name, parser in _commands().items():
        if not parser.description:
            thin.append(f"{name}: no description")
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if len((action.help or "").split()) < 3:
                thin.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert [] == thin


def test_every_option_with_fixed_values_lists_them_in_its_help() -> None:
    """An argument that takes one of a few values names each of them in its help."""
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}: {choice}"
        for name, parser in _commands().items()
        for action in parser._actions
        if action.choices is not None and not isinstance(action, argparse._SubParsersAction)
        for choice in action.choices
        if str(choice) not in (action.help or "")
    ]
    assert [] == missing


def test_every_required_command_field_says_it_is_required() -> None:
    """The CLI cannot mark the fields pydantic requires; their descriptions say so."""
    unmarked = [
        f"{name}.{field}"
        for name, model in COMMANDS.items()
        for field, info in model.model_fields.items()
        if field != "ref" and info.is_required() and "(required)" not in (info.description or "")
    ]
    assert [] == unmarked


def _validators() -> dict[str, Draft202012Validator]:
    validators = {}
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        validators[path.name.removesuffix(".schema.json")] = Draft202012Validator(schema)
    return validators


def _problems(desk: Desk) -> list[str]:
    validators = _validators()
    found = []
    for line in export_lines(desk.recorder, desk.mapper):
        validator = validators.get(line["type"])
        if validator is None:
            found.append(f"{line['type']}: no schema")
            continue
        found += [
            f"{line['type']} at {line['position']}: {error.message}"
            for error in validator.iter_errors(line)
        ]
    return found


def test_every_event_the_bundled_scenarios_write_matches_its_schema(memory_desk: Desk) -> None:
    """The export of a store that played every bundled scenario validates, line by line,
    against the schema of each line's type."""
    for path in bundled_scenarios():
        assert run_scenario(memory_desk, path).ok
    assert [] == _problems(memory_desk)


def test_events_of_a_store_written_before_format_2_match_their_schemas(
    format1_url: str, open_store: Callable[[str], Desk]
) -> None:
    """Old stores (format-1 hashes, old topics, the old SlaTimerCancelled spelling) export
    lines the same schemas accept: the catalogue's promise holds for history too."""
    assert [] == _problems(open_store(format1_url))


def test_every_event_type_has_a_schema_and_a_catalogue_entry(
    tools: dict[str, ModuleType],
) -> None:
    """One schema file and one section of docs/events.md per event type, no more."""
    names = [name for name, _, _ in tools["gen_event_catalogue"].event_types()]
    page = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert sorted(names) == sorted(_validators())
    assert [] == [name for name in names if f"\n### {name}\n" not in page]
