"""Every code block of README.md and docs/*.md runs, or at least parses, as a test.

How a document's blocks are run (one test per document, blocks in the order they appear):

* The document gets a fresh temporary directory that stands for the repository root: the
  repository's ``docs``, ``scenarios``, ``tests`` and ``tools`` folders are linked into it (so
  ``scenarios/policies/default.yaml`` resolves as it does in a checkout) and everything a block
  writes lands in the temporary directory. ``DESKLEDGER_STORE`` points at a fresh SQLite file
  there; the other ``DESKLEDGER_*`` variables are unset. Python and shell blocks of one
  document share that directory and that store, in order.
* ``python`` blocks: executed in one namespace per document (``__name__`` is ``"__main__"``), so a
  block may use what an earlier block of the same document defined.
* ``sh`` and ``console`` blocks: every line that is not blank or a ``#`` comment is a command and
  must start with ``deskledger`` or ``python3 tools/`` (a line ending in ``\\`` continues on
  the next). In ``console`` blocks commands start with ``$ `` and the lines after a command
  are its expected output: stdout must equal them, except that a line ``...`` stands for any
  number of lines. ``deskledger`` runs in this process through ``adapters.cli.main`` (the
  function the installed command calls), ``python3 tools/...`` as a child process. A command
  must exit 0, or with the code a trailing ``# exit N`` comment states (``# exit 2: why``).
  Wildcards expand as in a shell (``scenarios/*.yaml``); the one other shell feature
  understood is a final ``> FILE`` (stdout written to FILE).
* ``yaml`` and ``json`` blocks: must parse. Preceded by ``<!-- file: PATH -->`` the block is
  also written to PATH for later blocks; if PATH exists in the repository, the block must be
  that file's content, byte for byte (the document shows the real file).
* ``text`` blocks: not run. A text block that looks runnable (a line starting with
  ``deskledger``, ``python3``, ``make``, ``$``, ``import``, ``from``, ``async`` or ``await``)
  must be preceded by ``<!-- not run: REASON -->``, so not running it is a decision.
* A block preceded by ``<!-- recipe: NAME -->`` or ``<!-- example: NAME -->`` is run by
  another test, which must name ``"recipe: NAME"`` (or ``"example: NAME"``); here it is
  parsed only.
* Any other language, a fence without one, an indented fence and an indented code block fail.

The README must link to every page under docs/, and relative links must lead to files that
exist (and to headings that exist, when they name one).
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINKED_FOLDERS = ("docs", "scenarios", "tests", "tools")
LANGUAGES = {"python", "sh", "console", "yaml", "json", "text"}
RUNNABLE_LOOKING = re.compile(
    r"^\s*(\$|deskledger\b|python3\b|make\b|import\b|from\b|async\b|await\b)"
)
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>\S*)\s*$")
MARKER = re.compile(r"^<!--\s*(?P<body>.*?)\s*-->$")
EXIT = re.compile(r"#\s*exit\s+(?P<code>\d+)\b[^#]*$")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
TESTED_ELSEWHERE = ("recipe:", "example:")


@dataclass(frozen=True)
class Block:
    """A fenced block: where it starts, its language, its text and the marker above it."""

    doc: Path
    line: int
    lang: str
    code: str
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def parse(doc: Path) -> list[Block]:
    """The fenced blocks of ``doc``; AssertionError for indented code or an indented fence."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            _refuse_indented_code(doc, lines, index)
            index += 1
            continue
        where = f"{doc.relative_to(ROOT)}:{index + 1}"
        assert not opening["indent"], f"{where}: fences start at the margin"
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        assert end < len(lines), f"{where}: the block is never closed"
        found.append(
            Block(
                doc,
                index + 1,
                opening["lang"],
                "".join(line + "\n" for line in lines[index + 1 : end]),
                _marker_above(lines, index),
            )
        )
        index = end + 1
    return found


def _marker_above(lines: list[str], index: int) -> str | None:
    before = index - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    found = MARKER.match(lines[before].strip()) if before >= 0 else None
    return found["body"] if found else None


def _refuse_indented_code(doc: Path, lines: list[str], index: int) -> None:
    """An indented code block (four spaces after a blank line, not inside a list) is code
    the harness cannot see: fence it instead."""
    line = lines[index]
    if not line.startswith("    ") or not line.strip() or index == 0 or lines[index - 1].strip():
        return
    before = index - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    if before < 0:
        return
    previous = lines[before]
    in_list = previous[:1].isspace() or re.match(r"^([*+-]|\d+\.)\s", previous)
    assert in_list, (
        f"{doc.relative_to(ROOT)}:{index + 1}: an indented code block; fence it "
        "(```text if it is not meant to run)"
    )


# ---------------------------------------------------------------------- running blocks


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def _logical_lines(code: str) -> Iterator[str]:
    pending = ""
    for raw in code.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        yield pending + raw
        pending = ""
    if pending:
        yield pending


def _expand(word: str, sandbox: Path) -> list[str]:
    """A word with a wildcard becomes the paths it matches, sorted, as a shell does."""
    if not any(char in word for char in "*?["):
        return [word]
    return sorted(str(path.relative_to(sandbox)) for path in sandbox.glob(word)) or [word]


def run_command(command: str, block: Block, sandbox: Path) -> Outcome:
    """Run one documented command line in ``sandbox``."""
    words = shlex.split(command, comments=True)
    target: Path | None = None
    if len(words) >= 2 and words[-2] == ">":
        target, words = sandbox / words[-1], words[:-2]
    shell = {"|", "||", "&&", ";", "<", ">", ">>", "&"}
    understood = f"{block.where}: {command!r}: only a final '> FILE' is understood"
    assert not shell & set(words), understood
    assert "$(" not in command, understood
    words = [match for word in words for match in _expand(word, sandbox)]
    if words[0] == "deskledger":
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(words[1:])
        outcome = Outcome(code, out.getvalue(), err.getvalue())
    elif words[0] == "python3" and len(words) > 1 and words[1].startswith("tools/"):
        done = subprocess.run(
            [sys.executable, *words[1:]],
            cwd=sandbox,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        outcome = Outcome(done.returncode, done.stdout, done.stderr)
    else:
        pytest.fail(
            f"{block.where}: {command!r} is not a deskledger or python3 tools/ command; "
            "fence the block as text (with <!-- not run: REASON -->) if it is not meant to run"
        )
    if target is not None:
        target.write_text(outcome.stdout, encoding="utf-8")
        outcome.stdout = ""
    wanted = EXIT.search(command)
    expected = int(wanted["code"]) if wanted else 0
    assert expected == outcome.code, (
        f"{block.where}: {command!r} exited {outcome.code}, expected {expected}\n"
        f"stdout:\n{outcome.stdout}\nstderr:\n{outcome.stderr}"
    )
    return outcome


def run_shell(block: Block, sandbox: Path) -> None:
    for line in _logical_lines(block.code):
        if line.strip() and not line.lstrip().startswith("#"):
            run_command(line.strip(), block, sandbox)


def run_console(block: Block, sandbox: Path) -> None:
    """``$ command`` lines, each followed by the output it must print."""
    steps: list[tuple[str, list[str]]] = []
    for line in _logical_lines(block.code):
        if line.startswith("$ "):
            steps.append((line[2:].strip(), []))
        elif steps:
            steps[-1][1].append(line.rstrip())
        else:
            assert not line.strip(), f"{block.where}: output before any '$ ' command"
    assert steps, f"{block.where}: a console block holds '$ ' commands"
    for command, expected in steps:
        outcome = run_command(command, block, sandbox)
        while expected and not expected[-1]:
            expected.pop()
        if expected:
            actual = [line.rstrip() for line in outcome.stdout.rstrip("\n").splitlines()]
            assert _matches(expected, actual), f"{block.where}: {command!r} printed\n" + "\n".join(
                actual
            )


def _matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` equals ``actual``, a line ``...`` matching any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[skip:]) for skip in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and _matches(expected[1:], actual[1:])


def write_file(block: Block, sandbox: Path) -> None:
    """``<!-- file: PATH -->``: the block is that repository file, or becomes PATH."""
    assert block.marker is not None
    relative = block.marker.removeprefix("file:").strip()
    in_repository = ROOT / relative
    if in_repository.exists():
        assert in_repository.read_text(encoding="utf-8") == block.code, (
            f"{block.where}: the block differs from {relative}; copy the file into the document"
        )
        return
    target = sandbox / relative
    assert target.parent.resolve().is_relative_to(sandbox.resolve()), (
        f"{block.where}: {relative} would be written into the repository"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block.code, encoding="utf-8")


def run_block(block: Block, sandbox: Path, namespace: dict[str, Any]) -> None:
    assert block.lang in LANGUAGES, (
        f"{block.where}: fence language {block.lang!r} is not one of {sorted(LANGUAGES)}"
    )
    marker = block.marker or ""
    if marker.startswith(TESTED_ELSEWHERE):
        tests = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
        assert f'"{marker}"' in tests, f"{block.where}: no test runs the block marked {marker!r}"
        if block.lang == "json":
            json.loads(block.code)
        return
    if block.lang == "text":
        looks_runnable = any(RUNNABLE_LOOKING.match(line) for line in block.code.splitlines())
        assert not looks_runnable or marker.startswith("not run:"), (
            f"{block.where}: this text block looks runnable; fence it as sh, console or "
            "python, or say why it is not run with <!-- not run: REASON -->"
        )
    elif block.lang == "python":
        # Padded so that a traceback names the document's own lines.
        code = compile("\n" * block.line + block.code, str(block.doc), "exec")
        exec(code, namespace)  # the documentation's code
    elif block.lang == "sh":
        run_shell(block, sandbox)
    elif block.lang == "console":
        run_console(block, sandbox)
    elif block.lang == "yaml":
        yaml.safe_load(block.code)
    elif block.lang == "json":
        json.loads(block.code)
    if marker.startswith("file:"):
        write_file(block, sandbox)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the repository root with a fresh store (see the module docstring)."""
    for folder in LINKED_FOLDERS:
        (tmp_path / folder).symlink_to(ROOT / folder, target_is_directory=True)
    for variable in [name for name in os.environ if name.startswith("DESKLEDGER_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("DESKLEDGER_STORE", f"sqlite:///{tmp_path / 'deskledger.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_every_block_of_the_document_runs(doc: Path, sandbox: Path) -> None:
    """Each block of the document runs (or parses) as the module docstring says, in order,
    in one directory with one store."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for block in parse(doc):
        run_block(block, sandbox, namespace)


def test_the_readme_links_every_page_under_docs() -> None:
    """A reader of the README finds every page of the documentation."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {match["target"].split("#")[0] for match in LINK.finditer(readme)}
    pages = {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}
    assert set() == pages - linked


def _anchors(doc: Path) -> set[str]:
    """The anchors a Markdown renderer gives the document's headings (GitHub's way)."""
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings
    }


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_relative_links_lead_to_files_and_headings_that_exist(doc: Path) -> None:
    """Every relative link of a document names a file or folder that exists, and a heading
    of it when the link has a fragment."""
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for match in LINK.finditer(text):
        target = match["target"]
        if "://" in target or target.startswith("mailto:"):
            continue
        path, _, fragment = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists() or (
            fragment and file.suffix == ".md" and fragment not in _anchors(file)
        ):
            broken.append(target)
    assert [] == broken
