"""One shard of a parallel rebuild of the tickets view (see :mod:`projections.shards`).

    python -m projections.shard_worker  < job.json

The job (JSON on stdin): the store's eventsourcing ``env``, the ``application`` name, this
process's ``shard`` of ``shards``, the log position ``until`` which to read, the ``path`` of
the SQLite database to build, the ``views`` to build there, the parent's ``now`` (ISO) and
optionally the tickets projection's ``cache_size``. The worker reads the records of its own
tickets up to ``until`` and applies them with the views' own projections into a fresh
database at ``path``.

It writes JSON lines on stdout: ``{"read": N, "at": POSITION}`` as it goes, then
``{"done": true, "events": N, "seconds": S, "peak_rss_mib": M}``. Anything else it prints
goes to stderr; a failure exits non-zero with its reason as the last line of stderr.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from eventsourcing.persistence import Notification

from projections.shards import REPORT_EVERY, memory_mib

_HEX = "'0123456789abcdef'"
#: A record's shard in SQL: the last byte of its stream id (stored as hexadecimal text),
#: as :func:`projections.shards.shard_of` computes it from the UUID.
_LAST_BYTE = (
    f"((instr({_HEX}, lower(substr(originator_id, -2, 1))) - 1) * 16"
    f" + instr({_HEX}, lower(substr(originator_id, -1, 1))) - 1)"
)


def shard_records(
    recorder: Any, shard: int, shards: int, until: int, page: int
) -> Iterator[list[Notification]]:
    """The records of one shard up to position ``until``, ``page`` at a time, in position
    order (the other shards' records are skipped by the database, never decoded). Built as
    the library's SQLite recorder builds them in ``select_notifications``."""
    statement = (
        f'SELECT rowid, * FROM "{recorder.events_table_name}" '  # noqa: S608 - the library's table
        f"WHERE rowid > ? AND rowid <= ? AND {_LAST_BYTE} % ? = ? ORDER BY rowid LIMIT ?"
    )
    start = 0
    while True:
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (start, until, shards, shard, page))
            records = [
                Notification(
                    id=row["rowid"],
                    originator_id=recorder.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in cursor.fetchall()
            ]
        if records:
            yield records
        if len(records) < page:
            return
        start = records[-1].id


def scratch(datastore: Any) -> None:
    """Write the shard's database without a journal and without waiting for the disk: it is
    scratch, read only after this process has ended well, and thrown away otherwise (a
    failed batch cannot be rolled back without a journal, and need not be). A shard runs
    6-7% faster; the store's views are written as ever."""
    with datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode = OFF")
        cursor.execute("PRAGMA synchronous = OFF")


def run(job: dict[str, Any], out: IO[str]) -> int:
    """Build the shard ``job`` describes; returns the number of its events read."""
    from eventsourcing.sqlite import SQLiteDatastore  # noqa: PLC0415

    from engine.application import Desk  # noqa: PLC0415
    from engine.clock import FixedClock  # noqa: PLC0415
    from projections.audit import AuditProjection  # noqa: PLC0415
    from projections.collection import per_batch  # noqa: PLC0415
    from projections.feed import item  # noqa: PLC0415
    from projections.sqlite import SQLiteAuditView, SQLiteTicketsView  # noqa: PLC0415
    from projections.tickets import CACHE_SIZE, TicketsProjection  # noqa: PLC0415
    from projections.views import BATCH  # noqa: PLC0415 - events per transaction, as in one process
    from projections.world import StoreWorld  # noqa: PLC0415

    shard, shards, until = int(job["shard"]), int(job["shards"]), int(job["until"])
    application = str(job["application"])
    # The projection never reads the clock: it is the parent's instant, for completeness.
    desk = Desk(dict(job["env"]), clock=FixedClock(datetime.fromisoformat(job["now"])))
    datastore = SQLiteDatastore(str(job["path"]))
    scratch(datastore)
    cache_size = int(job.get("cache_size") or max(1000, CACHE_SIZE // shards))
    projections: list[TicketsProjection | AuditProjection] = []
    if "tickets" in job["views"]:
        tickets = SQLiteTicketsView(datastore)
        tickets.create(indexes=False)  # the store's view has them
        projections.append(
            TicketsProjection(tickets, world=StoreWorld(desk), cache_size=cache_size)
        )
    if "audit" in job["views"]:
        audit = SQLiteAuditView(datastore)
        audit.create(indexes=False)
        projections.append(AuditProjection(audit))
    mapper = desk.mapper
    read = reported = 0
    try:
        with per_batch() as collector:
            for records in shard_records(desk.recorder, shard, shards, until, BATCH):
                items = [item(mapper, application, record) for record in records]
                for projection in projections:
                    projection.process_batch(items)
                collector.done()
                read += len(records)
                if read - reported >= REPORT_EVERY:
                    out.write(json.dumps({"read": read, "at": records[-1].id}) + "\n")
                    out.flush()
                    reported = read
    finally:
        datastore.close()
        desk.close()
    return read


def main() -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # stdout carries the reports only
    began = time.perf_counter()
    try:
        job = json.loads(sys.stdin.read())
        events = run(job, out)
    except Exception as error:  # noqa: BLE001 - reported to the parent, which falls back
        sys.stderr.write(f"{type(error).__name__}: {error}\n")
        return 1
    out.write(
        json.dumps(
            {
                "done": True,
                "events": events,
                "seconds": round(time.perf_counter() - began, 3),
                "peak_rss_mib": memory_mib("VmHWM"),
            }
        )
        + "\n"
    )
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
