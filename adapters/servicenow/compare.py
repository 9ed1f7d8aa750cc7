"""One imported ticket next to its source: which figures differ, and why.

The engine computed an imported ticket's figures by replaying the rows through its own
commands; ServiceNow recorded its own, which ride along on every event as ``source`` metadata.
:func:`compare_ticket` is a pure function over one ticket's events (envelopes, docs/concepts.md)
and its
§9 fields: for each figure of :data:`FIGURES` both sides know, whether they agree, and for each
that differs both values, a reason in words and a :class:`Cause` to group by. It compares with
the ticket's last imported update, or with the export's own updates when handed them
(:func:`~adapters.servicenow.updates.updates_from_rows`).

One module, past 500 lines: the comparison is one pure function and the table of figures and
causes it walks; splitting the table from its reasons would only scatter them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.servicenow.planner import SOURCE_SYSTEM
from adapters.servicenow.rows import STATES
from adapters.servicenow.updates import Update, imported, instant, updates_from_events
from engine.durations import format_duration
from engine.vocabulary import TicketState

#: The figures compared, in the order they are reported (the JSON field names of docs/cli.md).
FIGURES = (
    "state",
    "priority",
    "reassignment_count",
    "reopen_count",
    "opened_at",
    "resolved_at",
    "closed_at",
    "made_sla",
)
_TIMES = ("opened_at", "resolved_at", "closed_at")
_SYSTEM_ACTOR = "system"  # who records SLA milestones and automatic closes


class Cause(StrEnum):
    """Why an engine figure differs from the source's (the reason says it in full)."""

    TIME_ZONE = "time_zone"  # the file is read in another zone than the import used
    CLAMPED = "clamped"  # the update was applied later than its own time (time order)
    LATER_UPDATE = "later_update"  # the source's instant is that of a later update
    SOURCE_INSTANT = "source_instant"  # the source records an instant no known update shows
    BEFORE_FINAL = "before_final"  # the export repeats a final value on earlier updates
    NOT_RECORDED = "not_recorded"  # the source's value is empty
    SOURCE_COUNTS_MORE = "source_counts_more"  # more than the exported updates show
    ENGINE_COUNTS_MORE = "engine_counts_more"  # the updates show more than the source counts
    PRIORITY_MATRIX = "priority_matrix"  # the policy's matrix is not the instance's
    SLA_DEFINITIONS = "sla_definitions"  # the policy's SLAs are not the instance's
    NEVER_NEW = "never_new"  # a ticket never returns to new
    AUTO_CLOSED = "auto_closed"  # the engine's policy closed the ticket
    CHANGED_AFTER_IMPORT = "changed_after_import"  # live work after the import
    UNEXPLAINED = "unexplained"


@dataclass(frozen=True, slots=True)
class Difference:
    """One figure on which the engine and the source disagree (instants as ISO strings)."""

    figure: str
    engine: Any
    source: Any
    reason: str
    cause: Cause

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "source": self.source,
            "reason": self.reason,
            "cause": str(self.cause),
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ticket next to its source: the figures compared and those that differ.

    ``line`` is the source update the values were taken from; ``import_zone`` the time zone
    the import read the export's times in (None for imports that did not record it).
    """

    ref: str
    system: str
    line: int
    compared: tuple[str, ...]
    differences: tuple[Difference, ...]
    import_zone: str | None

    def as_dict(self) -> dict[str, Any]:
        """``{"system": ..., <figure>: {"engine", "source", "reason", "cause"}, ...}``."""
        body: dict[str, Any] = {"system": self.system}
        body.update((d.figure, d.as_dict()) for d in self.differences)
        return body


def compare_ticket(
    ticket: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    updates: Sequence[Update] | None = None,
    *,
    zone: str | None = None,
) -> Comparison | None:
    """One imported ticket next to its source; ``None`` when none of its events was imported.

    ``ticket`` holds the engine's figures (the §9 fields of ``show --json``), ``events`` the
    ticket's envelopes (``audit --json``). ``updates`` are the source's updates of the
    incident (default: those its events remember), ``zone`` the time zone their times were
    read in (default: the import's, recorded on the events).
    """
    if not any(imported(event) is not None for event in events):
        return None
    facts = _EngineFacts.of(events)
    known = updates_from_events(events) if updates is None else list(updates)
    if not known:
        return None
    zone = zone or facts.import_zone or "UTC"
    compared, differences = _Comparer(ticket, facts, known, zone, updates is None).run()
    return Comparison(
        ref=str(ticket.get("ref") or ""),
        system=SOURCE_SYSTEM,
        line=known[-1].line,
        compared=tuple(compared),
        differences=tuple(differences),
        import_zone=facts.import_zone,
    )


@dataclass(frozen=True)
class _EngineFacts:
    """What the ticket's events tell beyond its §9 fields."""

    timers: tuple[str, ...]
    breached: tuple[str, ...]
    import_zone: str | None
    live: int
    last_live_at: str | None
    auto_closed: bool

    @classmethod
    def of(cls, events: Sequence[Mapping[str, Any]]) -> _EngineFacts:
        timers: list[str] = []
        breached: list[str] = []
        zone: str | None = None
        live, last_live_at, seen_import, auto_closed = 0, None, False, False
        for event in events:
            kind, data = event["type"], event.get("data") or {}
            if kind == "SlaTimerStarted":
                timers.append(str(data.get("name")))
            elif kind == "SlaBreached":
                breached.append(str(data.get("name")))
            elif kind == "Closed":
                auto_closed = bool(data.get("automatically"))
            meta = imported(event)
            if meta is not None:
                seen_import = True
                recorded = meta.get("timezone")
                zone = recorded if isinstance(recorded, str) else zone
            elif seen_import and event.get("actor") != _SYSTEM_ACTOR:
                live += 1
                last_live_at = str(event.get("occurred_at"))
        return cls(
            timers=tuple(dict.fromkeys(timers)),
            breached=tuple(dict.fromkeys(breached)),
            import_zone=zone,
            live=live,
            last_live_at=last_live_at,
            auto_closed=auto_closed,
        )


class _Comparer:
    """Compares one ticket's figures with its source's, figure by figure."""

    def __init__(
        self,
        ticket: Mapping[str, Any],
        facts: _EngineFacts,
        updates: list[Update],
        zone: str,
        from_store: bool,
    ) -> None:
        self.ticket = ticket
        self.facts = facts
        self.updates = updates
        self.last = updates[-1]
        self.zone = zone
        self.from_store = from_store
        self.kept = "imported update" if from_store else "exported update"
        if facts.import_zone is not None:
            self.zone_off = facts.import_zone != zone
        else:
            self.zone_off = _engine_value(ticket, "opened_at") != self.last.opened_at

    def run(self) -> tuple[list[str], list[Difference]]:
        compared: list[str] = []
        differences: list[Difference] = []
        for figure in FIGURES:
            if not self._known(figure):
                continue
            compared.append(figure)
            engine, source = _engine_value(self.ticket, figure), self._source(figure)
            if _agree(figure, engine, source):
                continue
            cause, reason = self._explain(figure, engine, source)
            if self.facts.live:
                reason = (
                    f"the ticket changed in DeskLedger after the import "
                    f"({_plural(self.facts.live, 'event')}, the last at "
                    f"{self.facts.last_live_at}); before that: {reason}"
                )
                cause = Cause.CHANGED_AFTER_IMPORT
            differences.append(Difference(figure, _json(engine), _json(source), reason, cause))
        return compared, differences

    def _known(self, figure: str) -> bool:
        if figure in {"state", "opened_at"}:
            return True
        return figure in self.last.figures and figure in self.ticket

    def _source(self, figure: str) -> Any:
        if figure == "state":
            return self.last.state
        if figure == "opened_at":
            return self.last.opened_at
        return self.last.figures.get(figure)

    def _explain(self, figure: str, engine: Any, source: Any) -> tuple[Cause, str]:
        if figure == "state":
            return self._state(engine, source)
        if figure == "priority":
            return self._priority(engine, source)
        if figure in {"reassignment_count", "reopen_count"}:
            return self._counter(figure, engine, source)
        if figure == "made_sla":
            return self._made_sla(source)
        if figure == "opened_at":
            return self._opened_at(engine, source)
        return self._time(figure, engine, source)

    # -- state, priority, SLA

    def _state(self, engine: Any, source: Any) -> tuple[Cause, str]:
        mapped = STATES.get(str(source).lower())
        where = f"line {self.last.line}"
        if mapped is None:
            return Cause.UNEXPLAINED, f"the import maps no state {source!r} ({where})"
        if mapped[0] == TicketState.NEW:
            return Cause.NEVER_NEW, (
                f"a ticket never returns to new: the source shows New again ({where}) after "
                f"work started, so the engine keeps it {engine}"
            )
        if engine == TicketState.CLOSED and self.facts.auto_closed:
            return Cause.AUTO_CLOSED, (
                "the engine closed it automatically (the policy's lifecycle.auto_close_after); "
                f"the source's last update ({where}) says {source}"
            )
        return Cause.UNEXPLAINED, (
            f"the {self.kept}s take the engine to {engine}; the source's last update "
            f"({where}) says {source}"
        )

    def _priority(self, engine: Any, source: Any) -> tuple[Cause, str]:
        if source is None:
            return Cause.NOT_RECORDED, "the source's priority is empty"
        ticket = self.ticket
        return Cause.PRIORITY_MATRIX, (
            f"the engine derives priority {engine} from impact {ticket.get('impact')} x urgency "
            f"{ticket.get('urgency')} with the priority matrix of policy version "
            f"{ticket.get('policy_version')}; the source says {source}: does the policy's "
            "priority_matrix match the instance's? (import --policy FILE)"
        )

    def _made_sla(self, source: Any) -> tuple[Cause, str]:
        if source is None:
            return Cause.NOT_RECORDED, "the source's made_sla is empty"
        version = self.ticket.get("policy_version")
        instance = (
            "the source's made_sla follows the instance's own SLA definitions, which the "
            "export does not carry"
        )
        if not self.facts.timers:
            return Cause.SLA_DEFINITIONS, (
                f"no SLA of the loaded policy (version {version}) applies to this ticket, so "
                f"the engine has nothing to breach; {instance}"
            )
        breached = ", ".join(self.facts.breached) or "none"
        return Cause.SLA_DEFINITIONS, (
            f"the engine's verdict follows the SLAs of the loaded policy (version {version}: "
            f"{', '.join(self.facts.timers)}; breached: {breached}); {instance}"
        )

    # -- counters

    def _counter(self, figure: str, engine: Any, source: Any) -> tuple[Cause, str]:
        if source is None:
            return Cause.NOT_RECORDED, f"the source's {figure} is empty"
        if not isinstance(engine, int) or not isinstance(source, int):
            return Cause.UNEXPLAINED, f"the source's {figure} is {source!r}, not a count"
        cause = Cause.SOURCE_COUNTS_MORE if source > engine else Cause.ENGINE_COUNTS_MORE
        spots = "; ".join(self._spots(figure))
        return (
            cause,
            spots or f"the engine counts {engine} on the {self.kept}s, the source {source}",
        )

    def _spots(self, figure: str) -> Iterable[str]:
        """Where the source's counter moves otherwise than the updates show."""
        previous: Update | None = None
        counted, shown = 0, 0
        for update in self.updates:
            shown += update.reassignments if figure == "reassignment_count" else update.reopens
            value = update.figures.get(figure)
            if not isinstance(value, int):
                continue
            if value - counted != shown:
                yield self._spot(figure, previous, update, (counted, value), shown)
            previous, counted, shown = update, value, 0
        if shown:
            yield f"after line {self.last.line} the engine counts {shown} more"

    def _spot(
        self,
        figure: str,
        previous: Update | None,
        update: Update,
        counts: tuple[int, int],
        shown: int,
    ) -> str:
        before, after = counts
        if previous is None:
            return (
                f"the source's {figure} is already {after} on the first {self.kept} "
                f"(line {update.line}, sys_mod_count {update.mod_count})"
            )
        if update.mod_count == previous.mod_count + 1:
            where = f"on the update of line {update.line} (sys_mod_count {update.mod_count})"
        else:
            where = (
                f"between line {previous.line} and line {update.line} (sys_mod_count "
                f"{previous.mod_count} -> {update.mod_count})"
            )
        if figure == "reopen_count":
            return (
                f"{where} the source's reopen_count goes {before} -> {after}, while the "
                f"exported states show {_plural(shown, 'reopen')} "
                f"({previous.state} -> {update.state})"
            )
        if shown == 0 and previous.group == update.group:
            return (
                f"the source counts {_plural(after - before, 'reassignment')} {where}, whose "
                f"exported assignment group did not change ({_group(update.group)}): "
                f"{before} -> {after}"
            )
        return (
            f"{where} the source's reassignment_count goes {before} -> {after}, while the "
            f"exported assignment group changed {_plural(shown, 'time')} "
            f"({_group(previous.group)} -> {_group(update.group)})"
        )

    # -- instants

    def _opened_at(self, engine: Any, source: Any) -> tuple[Cause, str]:
        if self.zone_off:
            return Cause.TIME_ZONE, self._zone_reason(engine, source)
        return Cause.UNEXPLAINED, (
            "the file's opened_at is not the opening the store holds: the file tells the "
            "incident's history differently"
        )

    def _time(self, figure: str, engine: Any, source: Any) -> tuple[Cause, str]:
        resolving = figure == "resolved_at"
        state, verb = ("Resolved", "resolves") if resolving else ("Closed", "closes")
        steps = [u for u in self.updates if (u.resolves if resolving else u.closes)]
        step = steps[-1] if steps else None
        if not resolving and self.facts.auto_closed and engine is not None:
            return Cause.AUTO_CLOSED, (
                f"the engine closed it automatically at {_text(engine)} (the policy's "
                f"lifecycle.auto_close_after); the source says {_text(source)}"
            )
        if self.zone_off and engine is not None and isinstance(source, datetime):
            return Cause.TIME_ZONE, self._zone_reason(engine, source)
        first = (
            f"the engine {verb} at the update that first shows {state} (line {step.line}, "
            f"sys_updated_at {_text(step.updated_at)})"
            if step is not None
            else f"the engine {verb} it at {_text(engine)}"
        )
        if source is None:
            return Cause.NOT_RECORDED, f"the source's {figure} is empty; {first}"
        if not isinstance(source, datetime):
            return Cause.UNEXPLAINED, f"the source's {figure} {source!r} is not a date; {first}"
        if engine is None or step is None:
            if source > self.last.updated_at:
                return Cause.BEFORE_FINAL, self._before_final(figure)
            return Cause.UNEXPLAINED, (
                f"the engine's ticket is {self.ticket.get('state')}: no {self.kept} takes it "
                f"to {state}, yet the source's {figure} says {_text(source)}"
            )
        if step.clamped and source == step.updated_at:
            return Cause.CLAMPED, (
                f"the update that {verb} it (line {step.line}) is dated {_text(source)}, before "
                f"the ticket's previous update, so the engine applied it at {_text(engine)} to "
                "keep the ticket's events in time order"
            )
        later = next(
            (u for u in self.updates if u.line > step.line and u.updated_at == source), None
        )
        if later is not None:
            return Cause.LATER_UPDATE, (
                f"{first}; the source's {figure} is the time of a later update while "
                f"{later.state} (line {later.line}, sys_mod_count {later.mod_count})"
            )
        if source > self.last.updated_at:
            return Cause.BEFORE_FINAL, self._before_final(figure)
        unseen = (
            " (rows that change nothing the engine tracks leave no event; `import servicenow "
            "FILE --reconcile` looks at every row)"
            if self.from_store
            else ""
        )
        return Cause.SOURCE_INSTANT, (
            f"{first}; the source's {figure} column holds {_text(source)}, an instant the "
            f"source records itself and no {self.kept} is dated at{unseen}"
        )

    def _before_final(self, figure: str) -> str:
        last = self.last
        return (
            f"the export repeats the incident's final {figure} on every row, also on updates "
            f"made before it: the last {self.kept} here (line {last.line}, {last.state}) is "
            f"dated {_text(last.updated_at)}"
        )

    def _zone_reason(self, engine: datetime, source: datetime) -> str:
        """The file is read in another zone than the import was: say by how much, and
        whether the zone is all that separates the two values."""
        imported_in = self.facts.import_zone
        shift = _zone_shift(self.zone, imported_in, source)
        if shift is None:  # the import's zone is not known: measure it on the opening
            shift = _engine_value(self.ticket, "opened_at") - self.last.opened_at
        zones = (
            f"the file's times are read in {self.zone}, the store's were imported in {imported_in}"
            if imported_in is not None
            else f"the file's times are read in {self.zone}, the store's in another time zone"
        )
        zones += f" ({format_duration(abs(shift))} apart for the same wall-clock time)"
        rest = abs(engine - source - shift)
        if not rest:
            return f"{zones}: that is the whole difference" + (
                f" (reconcile with --timezone {imported_in})" if imported_in else ""
            )
        return (
            f"{zones}; in the import's zone they would still be {format_duration(rest)} apart"
            + (f" (reconcile with --timezone {imported_in} to see why)" if imported_in else "")
        )


def _zone_shift(zone: str, imported_in: str | None, at: datetime) -> timedelta | None:
    """How much later the same wall-clock time is in ``imported_in`` than in ``zone``."""
    if imported_in is None:
        return None
    try:
        ours, theirs = ZoneInfo(zone), ZoneInfo(imported_in)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    ours_offset, theirs_offset = at.astimezone(ours).utcoffset(), at.astimezone(theirs).utcoffset()
    if ours_offset is None or theirs_offset is None:  # pragma: no cover - zones have offsets
        return None
    return ours_offset - theirs_offset


def _agree(figure: str, engine: Any, source: Any) -> bool:
    if figure == "state":
        mapped = STATES.get(str(source).lower())
        return mapped is not None and mapped[0] == engine
    return bool(engine == source and type(engine) is type(source))


def _engine_value(ticket: Mapping[str, Any], figure: str) -> Any:
    value = ticket.get(figure)
    if figure in _TIMES and isinstance(value, str):
        return instant(value)
    return value


def _json(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def _text(value: Any) -> str:
    return str(_json(value))


def _group(group: str | None) -> str:
    return "empty" if group is None else group


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
