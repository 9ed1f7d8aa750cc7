"""The command line starts fast: it imports only what the command it runs needs.

Start-up is measured here by *what is imported*, not by a clock: a command line pays for
every module it loads, and a dependency that creeps into ``--help`` or ``show`` shows up
here as a name, on any machine. The ticket subcommands' options come from a table generated
from the command models (``tools/cli_options.py``), which must match them.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from adapters.bootstrap import open_desk
from adapters.cli import render
from engine.clock import SimulatedClock
from projections.views import open_views

ROOT = Path(__file__).resolve().parent.parent

#: Never imported by ``--help`` (nor by building the parser of any command).
NOT_FOR_HELP = (
    "pydantic", "eventsourcing", "nats", "holidays", "structlog", "rich", "yaml", "psycopg",
    "cryptography", "sqlite3", "engine.commands", "engine.application", "projections",
    "adapters.servicenow", "adapters.nats", "adapters.bootstrap",
)  # fmt: skip
#: Never imported by ``show`` on a ticket that was not imported from another tool, its
#: output not going to a terminal, on a SQLite store whose views are up to date: the views
#: are read in place, without the engine (its event classes) or eventsourcing.
NOT_FOR_SHOW = (
    "pydantic", "nats", "holidays", "structlog", "rich", "yaml", "psycopg", "cryptography",
    "eventsourcing", "engine.application", "engine.ticket", "engine.commands",
    "engine.handlers", "engine.envelope", "adapters.servicenow", "adapters.nats",
    "adapters.scenario", "projections.views", "projections.tables", "projections.timeline",
    "projections.report",
)  # fmt: skip

#: Never imported by a ticket command (``comment``) whose one-line answer is not going to a
#: terminal, on a SQLite store whose policy names country holidays: the policy version
#: recorded them when it was loaded, so the holidays package is not asked again.
NOT_FOR_COMMANDS = (
    "holidays", "nats", "structlog", "rich", "yaml", "psycopg", "cryptography",
    "adapters.servicenow", "adapters.nats", "adapters.scenario", "projections.views",
)  # fmt: skip


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_options", ROOT / "tools" / "cli_options.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _loaded_by(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def _among(loaded: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        {name for name in loaded for top in forbidden if name == top or name.startswith(top + ".")}
    )


def _store_with_country_holidays(folder: Path, *, views: bool) -> str:
    """A SQLite store whose policy names Berlin's public holidays, with one ticket (INC1)
    open; its views caught up when ``views``."""
    url = f"sqlite:///{folder / 'desk.db'}"
    desk = open_desk(url, clock=SimulatedClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    desk.load_policy(
        {
            "calendars": {
                "office": {
                    "timezone": "Europe/Berlin",
                    "hours": {"mon": ["09:00-17:00"]},
                    "holidays": [{"country": "DE", "subdivision": "BE"}],
                }
            },
            "slas": [{"name": "R", "kind": "resolution", "target": "8h", "calendar": "office"}],
        },
        actor="admin",
    )
    desk.execute(
        "open", {"ref": "INC1", "title": "Printer", "caller": "c", "impact": 2, "urgency": 2},
        actor="alice",
    )  # fmt: skip
    if views:
        open_views(desk).catch_up()
    desk.close()
    return url


def test_the_command_table_is_what_the_command_models_say() -> None:
    """adapters/cli/command_table.py is generated from engine/commands.py; after a command
    changes, it must be written again."""
    text, _ = _tool().render()
    table = ROOT / "adapters" / "cli" / "command_table.py"
    assert text == table.read_text(encoding="utf-8"), (
        "adapters/cli/command_table.py is out of date with engine/commands.py: "
        "run `.venv/bin/python tools/cli_options.py` and commit the result"
    )


def test_help_and_the_parser_import_none_of_the_heavy_dependencies() -> None:
    """`deskledger --help` and building the parser (every subcommand's, as --help does)
    import no pydantic, eventsourcing, NATS, holidays, structlog, rich or command models."""
    loaded = _loaded_by(
        "import contextlib, io\n"
        "from adapters.cli import main\n"
        "from adapters.cli.parser import build_parser\n"
        "build_parser()\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['open', '--help'])"
    )
    assert _among(loaded, NOT_FOR_HELP) == []


def test_show_imports_no_engine_nats_holidays_pydantic_or_importers(tmp_path: Path) -> None:
    """`deskledger show REF` reads the views: no engine or eventsourcing (the views are up
    to date), NATS, holidays, pydantic, structlog (it logs nothing), rich (the table is plain
    text), importers or command models — even under a policy with country holidays."""
    url = _store_with_country_holidays(tmp_path, views=True)
    loaded = _loaded_by(
        "import contextlib, io\n"
        "from adapters.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    assert main(['--store', {url!r}, 'show', 'INC1']) == 0\n"
        "assert 'INC1' in out.getvalue()"
    )
    assert _among(loaded, NOT_FOR_SHOW) == []


def test_a_command_imports_no_holidays_rich_nats_or_importers(tmp_path: Path) -> None:
    """`deskledger comment` under a policy with country holidays: the stored policy version
    holds them pinned, so neither the holidays package (about 150 ms with its countries) nor
    rich (the answer is one plain line) nor anything of NATS or the importers is imported."""
    url = _store_with_country_holidays(tmp_path, views=False)
    loaded = _loaded_by(
        "import contextlib, io\n"
        "from adapters.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    argv = ['--store', {url!r}, 'comment', 'INC1', '--text', 'On it', '--as', 'bob']\n"
        "    assert main(argv) == 0\n"
        "assert out.getvalue().startswith('INC1 v'), out.getvalue()\n"
        "assert out.getvalue().endswith('CommentAdded\\n'), out.getvalue()"
    )
    assert _among(loaded, NOT_FOR_COMMANDS) == []


def test_logs_are_json_lines_on_stderr_when_it_is_not_a_terminal(tmp_path: Path) -> None:
    """Loading structlog only when something logs keeps the configuration the command line
    asked for: INFO and above, as one JSON object per line on stderr, nothing on stdout but
    the command's output."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    desk = open_desk(url, clock=SimulatedClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    desk.load_policy({"slas": [{"name": "R", "kind": "response", "target": "1h"}]}, actor="a")
    desk.execute(
        "open", {"ref": "INC1", "title": "Printer", "caller": "c", "impact": 2, "urgency": 2},
        actor="alice",
    )  # fmt: skip
    desk.close()
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--store", url, "--log-level", "INFO", "advance",
         "--to", "2026-03-02T12:00:00+00:00"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    logged = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(entry["event"], entry["level"]) for entry in logged] == [("advance.recorded", "info")]
    assert logged[0]["ticket"] == "INC1"
    assert "advanced to 2026-03-02T12:00:00+00:00: 1 tickets changed" in done.stdout


_cell = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=70)


def _printed_by_rich(renderable: object, *, soft_wrap: bool = False) -> str:
    """What rich prints for ``renderable`` on the CLI's plain console (stdout not a tty)."""
    console = Console(
        file=io.StringIO(), markup=False, emoji=False, highlight=False, soft_wrap=False,
        width=render.PLAIN_WIDTH, no_color=True,
    )  # fmt: skip
    console.print(renderable, soft_wrap=soft_wrap)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


@settings(max_examples=300, deadline=None)
@given(_cell, st.lists(st.tuples(_cell, _cell | st.none() | st.integers()), max_size=6))
def test_a_table_written_without_rich_is_the_table_rich_writes(
    title: str, rows: list[tuple[str, object]]
) -> None:
    """`show` writes its key/value table itself when stdout is not a terminal (no rich to
    import): whenever it does, the text is exactly what rich prints on the plain console."""
    written = render.plain_pairs(title, rows)
    if written is None:
        return
    with patch.object(sys.stdout, "isatty", return_value=False):
        assert written == _printed_by_rich(render.pairs(title, rows))


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=80)
    | _cell
    | st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=130, max_size=400
    )
)
def test_a_line_written_without_rich_is_the_line_rich_writes(message: str) -> None:
    """A command's one-line answer (``INC1 v4: CommentAdded``) is written without rich when
    stdout is not a terminal and the line is plain: exactly what rich prints there."""
    written = render.plain_line(message)
    if written is None:
        return
    assert written == _printed_by_rich(render.text(message), soft_wrap=True)
