"""Figures 3 and 4: reading the whole generated log — projection rebuild, ``verify``,
``export`` — against the bare decode of the same log, with peak memory.

Each read runs in a fresh process (:mod:`bench.child`) so its peak resident memory is its
own. The bare baseline is ``recorder.select_notifications`` + ``mapper.to_domain_event`` over
the same store (measured once per store and shared by the three figures). ``verify`` and
``export`` also run on the log at a smaller size (``mid``): their peak memory at the two sizes
shows whether it grows with the log.
"""

from __future__ import annotations

from typing import Any

from bench.child import run_child
from bench.context import Context
from bench.logs import GeneratedLog
from bench.records import Record, at_least, below, ratio_at_least, ratio_at_most

REBUILD_GOAL = at_least(50_000, "events/s (aim 100,000)")
REBUILD_MEMORY_GOAL = below(500, "MiB")
READ_GOAL = ratio_at_least(0.6, "bare decode")
#: "Flat" memory: the peak on the full log at most this much above the peak on the mid one.
FLAT = 1.25


def child(context: Context, mode: str, log: GeneratedLog) -> dict[str, Any]:
    key = (mode, str(log.path))
    if key not in context.memo:
        with context.progress.task(f"{mode} over {log.label()} (own process)"):
            context.memo[key] = run_child(mode, log.url)
    result: dict[str, Any] = context.memo[key]
    return result


def rate(outcome: dict[str, Any]) -> float:
    return float(outcome["events"]) / float(outcome["seconds"])


def rebuild(context: Context) -> list[Record]:
    log = context.logs.get("full")
    bare = child(context, "decode", log)
    done = child(context, "rebuild", log)
    one = child(context, "rebuild-one", log)
    workers = int(done.get("workers", 1))
    # The shard processes run at the same time as the one that started them: their peaks add up.
    memory = float(done["peak_rss_mib"]) + float(done.get("shards_peak_rss_mib") or 0.0)
    return [
        Record(
            "rebuild.rate",
            f"projection rebuild (open_views(desk).rebuild()), {_processes(workers)}",
            "events/s",
            rate(done),
            rate(bare),
            "bare decode",
            REBUILD_GOAL,
            size=log.label(),
            details={"deskledger": done, "bare_decode": bare},
        ),
        Record(
            "rebuild.rate_one_process",
            "projection rebuild in one process (rebuild(workers=1))",
            "events/s",
            rate(one),
            rate(bare),
            "bare decode",
            REBUILD_GOAL,
            size=log.label(),
            details={"deskledger": one},
        ),
        Record(
            "rebuild.peak_rss",
            f"projection rebuild, peak memory, {_processes(workers)} added up",
            "MiB",
            memory,
            bare["peak_rss_mib"],
            "bare decode",
            REBUILD_MEMORY_GOAL,
            size=log.label(),
            details={
                "start_rss_mib": done["start_rss_mib"],
                "parent_peak_rss_mib": done["peak_rss_mib"],
                "shards_peak_rss_mib": done.get("shards_peak_rss_mib"),
                "one_process_peak_rss_mib": one["peak_rss_mib"],
            },
        ),
    ]


def _processes(workers: int) -> str:
    return "1 process" if workers == 1 else f"{workers} shard processes"


def read_figure(context: Context, mode: str, title: str) -> list[Record]:
    full, mid = context.logs.get("full"), context.logs.get("mid")
    bare = child(context, "decode", full)
    done = child(context, mode, full)
    smaller = child(context, mode, mid)
    for outcome in (done, smaller):
        if outcome.get("ok") is False or outcome.get("exit_code", 0) != 0:
            raise RuntimeError(f"{mode} did not pass on the generated log: {outcome}")
    return [
        Record(
            f"{mode}.rate",
            title,
            "events/s",
            rate(done),
            rate(bare),
            "bare decode",
            READ_GOAL,
            size=full.label(),
            details={"deskledger": done, "bare_decode": bare, "at_mid_size": smaller},
        ),
        Record(
            f"{mode}.peak_rss",
            f"{mode}, peak memory, {full.events:,} vs {mid.events:,} events",
            "MiB",
            done["peak_rss_mib"],
            smaller["peak_rss_mib"],
            f"{mid.events:,} events",
            ratio_at_most(FLAT, "the smaller log (flat)"),
            size=full.label(),
            details={"bare_decode_peak_rss_mib": bare["peak_rss_mib"]},
        ),
    ]


def verify(context: Context) -> list[Record]:
    return read_figure(context, "verify", "verify (desk.verify())")


def export(context: Context) -> list[Record]:
    return read_figure(context, "export", "export (deskledger export > /dev/null)")
