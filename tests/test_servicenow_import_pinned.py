"""The events a ServiceNow import writes, pinned byte for byte.

The import's hot path is tuned for speed (bench figure 2); whatever it skips or batches, the
store must end up with the same events as before: same types, fields, order, positions and
hashes, for the same input and clocks. Each case imports into a fresh store with a simulated
clock and compares the SHA-256 of the whole export (every line, canonical JSON) and of the
import's summary with the values the unoptimised import wrote. On every store, since each
recorder answers the reads the import batches its own way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from structlog.testing import capture_logs

from adapters.servicenow import import_servicenow, load_policy_file
from engine.application import Desk
from engine.canonical import canonical_json
from engine.log import export_lines

DATA = Path(__file__).parent / "data" / "servicenow"
SIX_K = DATA / "incident_event_log_6k.csv"
SAMPLE = DATA / "incident_event_log_sample.csv"
POLICY = DATA / "servicenow-policy.yaml"

#: Digests of the export and of the last import's summary, as the import wrote them before it
#: was tuned (commit 618a685).
FRESH_EXPORT = "bc56e1ac2b4cade33b2f7cc8ed807812b41adf17c11362a29de70b75d6df9251"
FRESH_SUMMARY = "4ee2cfbb0b4f17b0219ede0c745ad601fdde3d4570b0a090ff5f73fbf9493684"
ONTO_HISTORY_EXPORT = "2be010402087c9d5c20473914ad036161f8b7803539b87d7a6041bfd1f45b366"
ONTO_HISTORY_SUMMARY = "4434f8a7cc653faeb327e182382513fc72c60e48b6e642c881f44dd6004b3ea9"


def export_digest(desk: Desk) -> str:
    digest = hashlib.sha256()
    for line in export_lines(desk.recorder, desk.mapper):
        digest.update(canonical_json(line) + b"\n")
    return digest.hexdigest()


def summary_digest(desk: Desk, path: Path) -> str:
    """Import ``path``; the digest of its summary without the timings."""
    with capture_logs():
        summary = import_servicenow(desk, path, policy=load_policy_file(POLICY))
    assert summary.written
    body = summary.as_dict()
    del body["elapsed_seconds"], body["rows_per_second"], body["file"]
    return hashlib.sha256(canonical_json(body)).hexdigest()


def test_6k_import_into_an_empty_store_writes_the_pinned_events(desk: Desk) -> None:
    assert (summary_digest(desk, SIX_K), export_digest(desk)) == (FRESH_SUMMARY, FRESH_EXPORT)


def test_6k_import_onto_its_first_incidents_writes_the_pinned_events(
    shared_store_url: str, open_store: Callable[[str], Desk]
) -> None:
    """The sample first (the same first incidents, in another date format), then the 6k file
    in another process: tickets the store holds are read and appended to, rows the sample
    already imported are duplicates."""
    summary_digest(open_store(shared_store_url), SAMPLE)
    desk = open_store(shared_store_url)
    assert (summary_digest(desk, SIX_K), export_digest(desk)) == (
        ONTO_HISTORY_SUMMARY,
        ONTO_HISTORY_EXPORT,
    )


def test_6k_reimport_writes_nothing(desk: Desk) -> None:
    summary_digest(desk, SIX_K)
    before = export_digest(desk)
    summary_digest(desk, SIX_K)
    assert export_digest(desk) == before
