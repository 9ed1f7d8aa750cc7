"""Reconciling an export with a store: ``deskledger import servicenow FILE --reconcile``.

:func:`reconcile_servicenow` reads the export (times in the zone given, as the import did),
takes each incident's updates (:mod:`.updates`) and compares its final values with the ticket
the store holds (:func:`~adapters.servicenow.compare.compare_ticket`). The
:class:`Reconciliation` counts, per figure, the tickets that agree and those that differ (by
cause) and lists every disagreement with its reason. Nothing is written.

Errors: :class:`MissingTicketsError` (``DeskLedgerError``, ``LookupError``) names the incidents
of the file the store does not hold as imported tickets;
:class:`~adapters.servicenow.rows.ServiceNowFileError` when the file or a row cannot be read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.servicenow.compare import FIGURES, Comparison, compare_ticket
from adapters.servicenow.rows import RowError, RowReader, ServiceNowFileError, SourceRow, read_rows
from adapters.servicenow.updates import updates_from_rows
from engine.errors import DeskLedgerError

if TYPE_CHECKING:
    from projections.queries import Queries

_LISTED = 10  # incidents or rows named in an error message; the rest are counted


class MissingTicketsError(DeskLedgerError, LookupError):
    """Incidents of the file are not in the store as imported tickets."""

    def __init__(self, path: str, refs: Sequence[str], total: int) -> None:
        self.path = path
        self.refs = tuple(refs)
        super().__init__(
            f"{path}: {len(self.refs)} incidents of {total} are not in the store as imported "
            f"tickets ({_listed(self.refs)}); import the file first "
            "(deskledger import servicenow FILE)"
        )


@dataclass(frozen=True)
class Reconciliation:
    """Every incident of an export compared with the store."""

    path: str
    timezone: str
    comparisons: tuple[Comparison, ...]

    @property
    def import_timezones(self) -> list[str]:
        """The zones the store's imports read the times in (as recorded on the events)."""
        return sorted({c.import_zone or "(not recorded)" for c in self.comparisons})

    def figures(self) -> dict[str, dict[str, Any]]:
        """Per figure: tickets that agree, tickets that differ, and the differences by cause
        (most frequent first). A ticket whose source leaves a figure unknown is in neither."""
        tally: dict[str, dict[str, Any]] = {}
        for figure in FIGURES:
            agree, causes = 0, Counter[str]()
            for comparison in self.comparisons:
                found = [d for d in comparison.differences if d.figure == figure]
                if found:
                    causes[str(found[0].cause)] += 1
                elif figure in comparison.compared:
                    agree += 1
            ordered = dict(sorted(causes.items(), key=lambda item: (-item[1], item[0])))
            tally[figure] = {"agree": agree, "differ": causes.total(), "causes": ordered}
        return tally

    def disagreements(self) -> list[dict[str, Any]]:
        """Every difference, figure by figure (in :data:`FIGURES` order), then by ticket."""
        rows = [
            {"ticket": c.ref, "figure": d.figure, **d.as_dict()}
            for c in self.comparisons
            for d in c.differences
        ]
        return sorted(rows, key=lambda row: (FIGURES.index(row["figure"]), row["ticket"]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "timezone": self.timezone,
            "import_timezones": self.import_timezones,
            "incidents": len(self.comparisons),
            "written": False,
            "figures": self.figures(),
            "disagreements": self.disagreements(),
        }


def reconcile_servicenow(
    queries: Queries, path: str | Path, *, zone: tzinfo = UTC
) -> Reconciliation:
    """Compare each incident's final values in the export at ``path`` (its times read in
    ``zone``) with the ticket the store holds; writes nothing.

    Raises :class:`ServiceNowFileError` when the file or a row cannot be read and
    :class:`MissingTicketsError` naming the incidents the store does not hold as imported.
    """
    path = Path(path)
    updates = updates_from_rows(_read(path, zone), zone)
    tickets = {ticket["ref"]: ticket for ticket in queries.tickets().tickets}
    missing = [number for number in updates if number not in tickets]
    comparisons: list[Comparison] = []
    for number, incident in updates.items():
        if number in missing:
            continue
        events = queries.audit(number)
        comparison = compare_ticket(tickets[number], events, incident, zone=str(zone))
        if comparison is None:  # a live ticket with the incident's number
            missing.append(number)
        else:
            comparisons.append(comparison)
    if missing:
        raise MissingTicketsError(str(path), missing, len(updates))
    return Reconciliation(str(path), str(zone), tuple(comparisons))


def _read(path: Path, zone: tzinfo) -> list[SourceRow]:
    """Every row, typed; a row that cannot be read means the file cannot have been imported."""
    reader = RowReader(zone)
    rows: list[SourceRow] = []
    problems: list[str] = []
    for line, values, problem in read_rows(path):
        if problem is not None:
            problems.append(f"line {line}: {problem}")
            continue
        try:
            rows.append(reader.read(line, values))
        except RowError as error:
            problems.append(f"line {line}: {error}")
    if problems:
        raise ServiceNowFileError(
            f"{path}: {len(problems)} rows cannot be read, so the file cannot have been "
            f"imported: {_listed(problems, '; ')}"
        )
    return rows


def _listed(items: Sequence[str], separator: str = ", ") -> str:
    shown = separator.join(items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")
