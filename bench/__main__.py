"""``make bench``: the performance suite — DeskLedger against bare baselines, one table.

    python -m bench [--size tiny|small|default|large] [--only FIGURE...] [--out FILE]

Measures every figure of the performance issue (``--list`` names them) at the given size,
shows progress, prints one table and writes ``bench/results.json``. Figures are measurements,
not tests: a missed goal is reported, never an error (exit 0); a figure that could not be
measured at all is reported too, and the exit code is 1. ``python -m bench.readme`` turns the
results into the README's performance section.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.sizes import SIZES

RESULTS = Path(__file__).resolve().parent / "results.json"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=list(SIZES), default="default")
    parser.add_argument("--only", nargs="+", metavar="FIGURE", help="run only these figures")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server for figure 1")
    parser.add_argument("--workdir", type=Path, help="scratch space (default: the system's)")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from bench.figures import FIGURES  # noqa: PLC0415 - after --help
    from bench.suite import run, select  # noqa: PLC0415

    if args.list:
        for figure in FIGURES:
            print(f"{figure.name:<18} ({figure.issue}) {figure.summary}")
        return 0
    try:
        figures = select(FIGURES, args.only)
    except ValueError as error:
        print(f"python -m bench: {error}", file=sys.stderr)
        return 2
    results = run(
        figures,
        SIZES[args.size],
        out=args.out,
        postgres_url=args.postgres,
        workdir=args.workdir,
    )
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
