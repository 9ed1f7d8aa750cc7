#!/usr/bin/env python3
"""Regenerate every generated part of docs/ from the code, or check that it is current.

    make docs                           # write (runs the line below in .venv)
    python tools/gen_docs.py            # write, with the project installed
    python tools/gen_docs.py --check    # exit 1 and name each stale file; write nothing

Generated: docs/cli.md (the argument parser, tools/gen_cli_reference.py), docs/events.md's
catalogue and docs/events/*.schema.json (the event classes, tools/gen_event_catalogue.py), and
the marked tables inside hand-written pages (the lifecycle table, the text limits;
tools/gen_doc_tables.py). Nothing here needs the network or a store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gen_cli_reference
import gen_doc_tables
import gen_event_catalogue

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "make docs (or: python tools/gen_docs.py, with the project installed)"


def expected(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file with the content it must have."""
    files: dict[Path, str] = {}
    for generator in (gen_cli_reference, gen_event_catalogue, gen_doc_tables):
        files.update(generator.outputs(root))
    return files


def stale(root: Path = ROOT) -> list[Path]:
    """Generated files whose content differs from what the code gives, and leftovers: schema
    files of event types that no longer exist."""
    files = expected(root)
    found = [
        path
        for path, text in files.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    found += [path for path in gen_event_catalogue.existing_schemas(root) if path not in files]
    return sorted(found)


def write(root: Path = ROOT) -> list[Path]:
    """Write every stale file (and remove leftovers); returns what changed."""
    files = expected(root)
    changed = stale(root)
    for path in changed:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding="utf-8")
        else:
            path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        for path in outdated:
            print(f"{path.relative_to(ROOT)} is out of date; run {REGENERATE}")
        return 1 if outdated else 0
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
