"""Run every benchmark (``make bench``): each prints a table and writes bench/results/*.json."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("bench_calendar", "bench_sla", "bench_import", "bench_relay", "bench_verify_export")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            print(f"(skipping {name}: not present)")
            continue
        print(f"== {name}")
        sys.argv = [name]
        try:
            module.main()
        except SystemExit as done:
            if done.code not in (0, None):
                failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
