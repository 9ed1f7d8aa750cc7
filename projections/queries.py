"""The one query layer of the read side, used by the CLI and the Python API alike.

Every query catches the views up with the log first, then answers from the views: now, or as
of an instant *T* (the row of each ticket's last event at or before *T*, with SLA timers run
on to *T*). Answers use the JSON field names of the CLI (docs/cli.md); instants are ISO-8601 in UTC.
The views come from a :class:`projections.reading.ReadSide`: a store's own
(:class:`~projections.views.DeskViews`), a SQLite store's read in place without the engine
while they are up to date (:class:`~projections.reader.ViewReader`), or a replica's fed over
NATS — the same answers from the same rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.errors import CommandValidationError, TicketNotFoundError, UnreadableEventError
from engine.ids import ticket_id
from projections.columns import from_us, iso, made_sla_at, to_us
from projections.reading import ReadSide

if TYPE_CHECKING:
    from projections.timeline import Timeline

_OPEN_SQL = "state IN ('in_progress', 'new', 'on_hold')"
SORTS = {"opened": "opened_at", "priority": "priority", "ref": "ref", "updated": "valid_from"}
REPORT_DAYS = 30
#: The most tickets one page or queue holds (a page is held in memory).
MAX_LIMIT = 1_000_000
#: The values a filter may ask for: any other would match nothing, or not fit a column.
_RANGES = {"priority": (1, 5), "tier": (1, 3)}


def _check_limit(limit: int | None) -> None:
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise CommandValidationError("limit", f"must be 1 to {MAX_LIMIT:,}, got {limit}")


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets ``tickets`` lists (every given criterion must hold)."""

    state: str | None = None
    group: str | None = None
    assignee: str | None = None
    priority: int | None = None
    tier: int | None = None
    major: bool | None = None
    category: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None

    def __post_init__(self) -> None:
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise CommandValidationError(name, f"must be {low} to {high}, got {value}")

    def clauses(self) -> tuple[list[str], dict[str, Any]]:
        where: list[str] = []
        params: dict[str, Any] = {}
        for column, value in (
            ("state", self.state),
            ("assignment_group", self.group),
            ("assignee", self.assignee),
            ("priority", self.priority),
            ("tier", self.tier),
            ("category", self.category),
        ):
            if value is not None:
                where.append(f"{column} = :{column}")
                params[column] = value
        if self.major is not None:
            where.append("major = :major")
            params["major"] = int(self.major)
        if self.opened_from is not None:
            where.append("opened_at >= :opened_from")
            params["opened_from"] = to_us(self.opened_from)
        if self.opened_to is not None:
            where.append("opened_at < :opened_to")
            params["opened_to"] = to_us(self.opened_to)
        return where, params


@dataclass(frozen=True)
class Page:
    """One page of tickets and the cursor of the next (None on the last page)."""

    tickets: list[dict[str, Any]]
    cursor: str | None


class Queries:
    """Answers from the views of one store (or of a replica of its log)."""

    def __init__(self, views: ReadSide) -> None:
        self.views = views

    # ------------------------------------------------------------------ helpers

    def _moment(self, as_of: datetime | None) -> tuple[datetime, int | None]:
        """T, and the version selector (None: the current rows)."""
        self.views.catch_up()
        if as_of is None:
            return self.views.now(), None
        return as_of, to_us(as_of)

    def _check_damage(self, ref: str) -> None:
        damage = self.views.tickets.damage(ref, str(ticket_id(ref)))
        if damage:
            first = damage[0]
            raise UnreadableEventError(ref, int(first["position"]), str(first["reason"]))

    # ------------------------------------------------------------------ tickets

    def ticket(self, ref: str, *, as_of: datetime | None = None) -> dict[str, Any]:
        """One ticket's §9 fields (and the descriptive ones), now or as of ``as_of``."""
        moment, at = self._moment(as_of)
        self._check_damage(ref)
        rows = self.views.tickets.select(["ref = :ref"], {"ref": ref}, at=at, limit=1)
        if not rows:
            raise TicketNotFoundError(ref)
        found = ticket_json(rows[0], to_us(moment) or 0)
        timers = [t for t in self.views.tickets.timers([ref], at=at) if t["stage"] != "canceled"]
        found["sla_applied"] = bool(timers)
        return found

    def tickets(
        self,
        criteria: TicketFilter | None = None,
        *,
        as_of: datetime | None = None,
        sort: str = "opened",
        descending: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """Tickets matching ``criteria`` in ``sort`` order, a page of ``limit`` at a time;
        ``cursor`` (from the previous page) continues where it stopped."""
        if sort not in SORTS:
            raise CommandValidationError("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
        _check_limit(limit)
        moment, at = self._moment(as_of)
        where, params = (criteria or TicketFilter()).clauses()
        column = SORTS[sort]
        direction = "DESC" if descending else "ASC"
        if cursor is not None:
            value, ref = _decode_cursor(cursor)
            compare = "<" if descending else ">"
            where.append(
                f"({column} {compare} :cursor_value OR ({column} = :cursor_value "
                f"AND ref {compare} :cursor_ref))"
            )
            params.update(cursor_value=value, cursor_ref=ref)
        order = f"{column} {direction}, ref {direction}"
        fetch = None if limit is None else limit + 1
        rows = self.views.tickets.select(where, params, at=at, order=order, limit=fetch)
        following = None
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            following = _encode_cursor(rows[-1][column], rows[-1]["ref"])
        now = to_us(moment) or 0
        return Page([ticket_json(row, now) for row in rows], following)

    def queue(
        self,
        *,
        group: str | None = None,
        assignee: str | None = None,
        tier: int | None = None,
        as_of: datetime | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Open work in order: priority, then the earliest due time of a running or breached
        SLA timer (none last), then age, then ref (docs/reports.md)."""
        _check_limit(limit)
        moment, at = self._moment(as_of)
        criteria = TicketFilter(group=group, assignee=assignee, tier=tier)
        where, params = criteria.clauses()
        where.append(_OPEN_SQL)
        order = "priority, next_due_at IS NULL, next_due_at, opened_at, ref"
        rows = self.views.tickets.select(where, params, at=at, order=order, limit=limit)
        now = to_us(moment) or 0
        queue = []
        for row in rows:
            entry = ticket_json(row, now)
            entry["next_due_at"] = iso(row["next_due_at"])
            entry["age_seconds"] = (now - row["opened_at"]) / 1_000_000
            queue.append(entry)
        return queue

    def due_refs(self, until: datetime) -> list[str]:
        """Tickets for which a clock tick to ``until`` may record something: an SLA
        milestone due by then, or an automatic close (every resolved ticket)."""
        self.views.catch_up()
        rows = self.views.tickets.select(
            ["next_milestone_at <= :until OR state = 'resolved'"],
            {"until": to_us(until)},
            order="ref",
        )
        return [str(row["ref"]) for row in rows]

    # ------------------------------------------------------------------ SLA

    def sla(self, ref: str | None = None, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
        """SLA timers of one ticket (or of every ticket), run on to now or ``as_of``."""
        moment, at = self._moment(as_of)
        if ref is not None:
            self._check_damage(ref)
            if not self.views.tickets.select(["ref = :ref"], {"ref": ref}, at=at, limit=1):
                raise TicketNotFoundError(ref)
        rows = self.views.tickets.timers(None if ref is None else [ref], at=at)
        now = to_us(moment) or 0
        return [self.timer_json(row, now) for row in rows]

    def timer_json(self, row: dict[str, Any], at: int) -> dict[str, Any]:
        """A timer row run on from its event to ``at`` (microseconds)."""
        stage, elapsed = str(row["stage"]), int(row["elapsed_us"])
        due, breached = row["due_at"], row["breached_at"]
        start = int(row["valid_from"])
        if row["running"] and at > start:
            calendar = self.views.calendar(int(row["policy_version"]), str(row["calendar"]))
            span = calendar.elapsed(from_us(start), from_us(at))  # type: ignore[arg-type]
            elapsed += (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
        if stage == "in_progress" and due is not None and due < at:
            stage, breached = "breached", due
        return {
            "ref": row["ref"],
            "name": row["name"],
            "kind": row["kind"],
            "target_seconds": row["target_seconds"],
            "elapsed_seconds": elapsed / 1_000_000,
            "due_at": iso(due) if stage in {"in_progress", "breached"} else None,
            "stage": stage,
            "breached_at": iso(breached),
            "policy_version": row["policy_version"],
            "calendar": row["calendar"],
        }

    # ------------------------------------------------------------------ history

    def audit(self, ref: str, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
        """One ticket's events as envelopes (docs/concepts.md), in stream order, with positions."""
        from engine.envelope import envelope  # noqa: PLC0415 - reads of the views alone need none

        self._moment(as_of)
        self._check_damage(ref)
        positions = {row["version"]: row["position"] for row in self.views.audit.positions([ref])}
        envelopes = []
        for event in self.views.history(ref):
            if as_of is not None and event.occurred_at > as_of:
                break
            envelopes.append(envelope(event, positions.get(event.originator_version, 0)))
        if not envelopes:
            raise TicketNotFoundError(ref)
        return envelopes

    def timeline(self, ref: str, *, as_of: datetime | None = None) -> Timeline:
        """The post-incident timeline of ``ref`` (merged with its children if major)."""
        self._moment(as_of)
        self._check_damage(ref)
        from projections.timeline import build_timeline  # noqa: PLC0415 - timelines only

        return build_timeline(self.views, ref, as_of=as_of)

    # ------------------------------------------------------------------ report

    def report(
        self,
        *,
        period_from: datetime | None = None,
        period_to: datetime | None = None,
        as_of: datetime | None = None,
        group: str | None = None,
    ) -> dict[str, object]:
        """The desk report of docs/reports.md over [period_from, period_to) as of ``as_of``,
        computed by SQL aggregates in the views (:mod:`projections.report_sql`)."""
        from projections.report_sql import sql_report  # noqa: PLC0415 - reports only

        moment, at = self._moment(as_of)
        end = period_to or moment
        start = period_from or end - timedelta(days=REPORT_DAYS)
        if start >= end:
            raise CommandValidationError(
                "from", f"the period is empty: {start.isoformat()} is not before {end.isoformat()}"
            )
        return sql_report(
            self.views.tickets,
            period_from=start,
            period_to=end,
            as_of=moment,
            group=group,
            versions_at=at,
        )


def ticket_json(row: dict[str, Any], at: int) -> dict[str, Any]:
    """A ticket row as the §9 JSON object (``made_sla`` as of ``at`` microseconds)."""
    return {
        "ref": row["ref"],
        "kind": row["kind"],
        "state": row["state"],
        "priority": row["priority"],
        "impact": row["impact"],
        "urgency": row["urgency"],
        "assignment_group": row["assignment_group"],
        "assignee": row["assignee"],
        "tier": row["tier"],
        "hold_reason": row["hold_reason"],
        "reassignment_count": row["reassignment_count"],
        "reopen_count": row["reopen_count"],
        "opened_at": iso(row["opened_at"]),
        "resolved_at": iso(row["resolved_at"]),
        "closed_at": iso(row["closed_at"]),
        "major": bool(row["major"]),
        "parent": row["parent"],
        "version": row["version"],
        "made_sla": made_sla_at(row, at),
        "title": row["title"],
        "caller": row["caller"],
        "channel": row["channel"],
        "category": row["category"],
        "subcategory": row["subcategory"],
        "service": row["service"],
        "affected_users": row["affected_users"],
        "resolution_code": row["resolution_code"],
        "children": json.loads(row["children"]) if row["children"] else [],
        "problem": row["problem"],
        "escalation_count": row["escalation_count"],
        "policy_version": row["policy_version"],
        "description": row["description"],
        "change": row["change"],
        "affected_services": (
            json.loads(row["affected_services"]) if row["affected_services"] else []
        ),
        "commander": row["commander"],
        "comms_lead": row["comms_lead"],
        "impact_started_at": iso(row["impact_started_at"]),
        "impact_detected_at": iso(row["impact_detected_at"]),
        "impact_mitigated_at": iso(row["impact_mitigated_at"]),
        "reviewed": bool(row["reviewed"]),
    }


def _encode_cursor(value: Any, ref: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, ref]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, ref = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise CommandValidationError("cursor", f"{cursor!r} is not a cursor from a page") from None
    if not isinstance(ref, str) or not isinstance(value, str | int | float):
        raise CommandValidationError("cursor", f"{cursor!r} is not a cursor from a page")
    return value, ref
