"""The views' tables and statements, written once for SQLite and PostgreSQL.

Statements use ``:name`` parameters; the PostgreSQL dialect rewrites them to ``%(name)s`` and
qualifies table names with the store's schema. The statements that write rows in bulk
(:class:`Rows`) take ``?`` parameters bound from tuples instead (``%s`` on PostgreSQL).
Instants are ``BIGINT`` microseconds, flags ``INTEGER`` 0/1, so both backends sort and
compare the same way.

Tables (``dl_`` prefix, beside the event store's own):

* ``tickets`` — one row per ticket, as after its last event; ``ticket_versions`` — one row
  per event of each ticket, valid from the event's instant until the next one's
  (``valid_to``), so "as of T" is an indexed range query;
* ``sla_timers`` / ``sla_timer_versions`` — each timer as after the last event, and a version
  each time its stage, due time or breach changed (with its ticket's opening, by which the
  report counts timers);
* ``damaged`` — events the projection could not read (reads of their ticket say so);
* ``audit_index`` — every event's position, ticket, version, type, instant and actor.

The current tickets and timers have indexes for the desk report (``dl_tickets_report_*``,
``dl_sla_timers_report``): each holds the columns of one of its populations, in the order a
statement of :mod:`projections.report_sql` reads them. Views built before the timers held
their ticket's opening are rebuilt from the log on first use, indexes and all
(:meth:`projections.store.ViewStore.outdated`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.vocabulary import TicketState
from projections.columns import BOOLEAN_COLUMNS, INSTANT_COLUMNS, TICKET_COLUMNS, TIMER_COLUMNS

_INTEGER_COLUMNS = frozenset(
    {
        "priority",
        "impact",
        "urgency",
        "tier",
        "reassignment_count",
        "reopen_count",
        "escalation_count",
        "hold_count",
        "version",
        "affected_users",
        "policy_version",
        "target_seconds",
        "running",
        "elapsed_us",
    }
)
_PARAM = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def _type(column: str) -> str:
    if column in INSTANT_COLUMNS or column in {"due_at", "breached_at", "elapsed_us"}:
        return "BIGINT"
    if column in _INTEGER_COLUMNS or column in BOOLEAN_COLUMNS:
        return "INTEGER"
    return "TEXT"


@dataclass(frozen=True)
class Dialect:
    """How a backend spells parameters and table names."""

    name: str
    schema: str | None = None

    def table(self, name: str) -> str:
        table = f"dl_{name}"
        return f'"{self.schema}"."{table}"' if self.schema else table

    def sql(self, statement: str) -> str:
        """``statement`` with ``{table}`` names resolved and parameters in this dialect."""
        resolved = re.sub(r"\{(\w+)\}", lambda m: self.table(m.group(1)), statement)
        if self.name == "postgres":
            return _PARAM.sub(r"%(\1)s", resolved.replace("%", "%%"))
        return resolved

    def index(self, name: str) -> str:
        """An index's name as ``DROP INDEX`` takes it (in the store's schema)."""
        return f'"{self.schema}"."{name}"' if self.schema else name

    def index_names(self) -> tuple[str, dict[str, str]]:
        """A query of the names of the indexes in the store (``name`` each), and its
        parameters."""
        if self.name == "postgres":
            return (
                "SELECT indexname AS name FROM pg_indexes WHERE schemaname = %(schema)s",
                {"schema": self.schema or "public"},
            )
        return "SELECT name FROM sqlite_master WHERE type = 'index'", {}

    def positional(self, statement: str) -> str:
        """A statement of :class:`Rows` (``?`` parameters, bound from tuples) in this
        dialect: ``?`` for SQLite, ``%s`` for PostgreSQL."""
        resolved = re.sub(r"\{(\w+)\}", lambda m: self.table(m.group(1)), statement)
        if self.name == "postgres":
            return resolved.replace("%", "%%").replace("?", "%s")
        return resolved


def _columns(names: Iterable[str]) -> str:
    return ", ".join(f"{name} {_type(name)}" for name in names)


#: What the desk report (:mod:`projections.report_sql`) reads from its indexes below: its
#: statements spell these expressions the same way, so that the database matches them with
#: the index (a condition with a partial index's, an expression with an indexed one, read
#: from the index rather than computed row by row) — the response and resolution times, a
#: name without value (NULL or empty) keyed as ``(none)``, the resolved states.
RESPONSE_US = "(responded_at - opened_at)"
RESOLVE_US = "(resolved_at - opened_at)"
ANSWERED = "responded_at IS NOT NULL"
RESOLVED_STATES = (TicketState.RESOLVED, TicketState.CLOSED)
#: ``state || ''``, not ``state``: a condition no index on the state can serve, so that
#: SQLite (without statistics) reads the resolved tickets from these indexes, not from
#: every closed ticket ever by ``dl_tickets_state``.
RESOLVED = f"state || '' IN ({', '.join(repr(str(state)) for state in RESOLVED_STATES)})"
_RESOLVED_FILTER = ("resolved_at", "opened_at", "assignment_group")


#: :data:`projections.report.NO_VALUE`, spelled again rather than imported: every read
#: loads this module, and ``show`` has no business loading the report (its start-up time).
NO_VALUE = "(none)"


def report_name(column: str) -> str:
    """``column``'s value as the report keys it: no value (NULL or empty) is ``(none)``."""
    return f"COALESCE(NULLIF({column}, ''), '{NO_VALUE}')"


TICKET_TABLES: tuple[str, ...] = (
    (
        "CREATE TABLE IF NOT EXISTS {tickets} (ref TEXT PRIMARY KEY, position BIGINT NOT NULL, "
        f"valid_from BIGINT NOT NULL, {_columns(TICKET_COLUMNS)})"
    ),
    "CREATE INDEX IF NOT EXISTS dl_tickets_state ON {tickets} (state, priority, opened_at)",
    "CREATE INDEX IF NOT EXISTS dl_tickets_opened ON {tickets} (opened_at)",
    "CREATE INDEX IF NOT EXISTS dl_tickets_group ON {tickets} (assignment_group)",
    "CREATE INDEX IF NOT EXISTS dl_tickets_due ON {tickets} (next_milestone_at)",
    *(
        f"CREATE INDEX IF NOT EXISTS dl_tickets_report_{name} ON {{tickets}} ({', '.join(keys)})"
        + (f" WHERE {where}" if where else "")
        for name, keys, where in (
            # the opened tickets by category, channel and priority, read in that order
            (
                "opened",
                (
                    "category",
                    "channel",
                    "priority",
                    "opened_at",
                    "assignment_group",
                    "escalation_count",
                    "reassignment_count",
                ),
                "",
            ),
            # response and resolution times in order; resolution times by group and assignee
            ("response", (RESPONSE_US, "opened_at", "responded_at", "assignment_group"), ANSWERED),
            ("resolve", (RESOLVE_US, *_RESOLVED_FILTER), RESOLVED),
            (
                "group",
                (
                    report_name("resolved_group"),
                    RESOLVE_US,
                    *_RESOLVED_FILTER,
                    "reassignment_count",
                    "escalation_count",
                    "hold_count",
                    "reopen_count",
                ),
                RESOLVED,
            ),
            (
                "assignee",
                (report_name("resolved_assignee"), RESOLVE_US, *_RESOLVED_FILTER),
                RESOLVED,
            ),
        )
    ),
    (
        "CREATE TABLE IF NOT EXISTS {ticket_versions} (ref TEXT NOT NULL, position BIGINT NOT NULL,"
        f" valid_from BIGINT NOT NULL, valid_to BIGINT, {_columns(TICKET_COLUMNS)}, "
        "PRIMARY KEY (ref, position))"
    ),
    "CREATE INDEX IF NOT EXISTS dl_ticket_versions_to ON {ticket_versions} (valid_to)",
    "CREATE INDEX IF NOT EXISTS dl_ticket_versions_from ON {ticket_versions} (ref, valid_from)",
    (
        "CREATE TABLE IF NOT EXISTS {sla_timers} (ref TEXT NOT NULL, seq INTEGER NOT NULL, "
        f"position BIGINT NOT NULL, valid_from BIGINT NOT NULL, {_columns(TIMER_COLUMNS)}, "
        "PRIMARY KEY (ref, seq))"
    ),
    (
        "CREATE TABLE IF NOT EXISTS {sla_timer_versions} (ref TEXT NOT NULL, seq INTEGER NOT NULL,"
        " position BIGINT NOT NULL, valid_from BIGINT NOT NULL, valid_to BIGINT, "
        f"{_columns(TIMER_COLUMNS)}, PRIMARY KEY (ref, seq, position))"
    ),
    "CREATE INDEX IF NOT EXISTS dl_sla_timer_versions_to ON {sla_timer_versions} (valid_to)",
    # the timers of the tickets opened in a period, counted by name and stage in that order
    (
        "CREATE INDEX IF NOT EXISTS dl_sla_timers_report ON {sla_timers} "
        "(name, stage, opened_at, due_at, ref)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS {damaged} (position BIGINT PRIMARY KEY, ref TEXT NOT NULL, "
        "stream_id TEXT NOT NULL, reason TEXT NOT NULL)"
    ),
    "CREATE INDEX IF NOT EXISTS dl_damaged_ref ON {damaged} (ref)",
    "CREATE INDEX IF NOT EXISTS dl_damaged_stream ON {damaged} (stream_id)",
)
#: The tickets view's tables (placeholders of :meth:`Dialect.sql`).
TICKET_NAMES = ("tickets", "ticket_versions", "sla_timers", "sla_timer_versions", "damaged")
TICKET_DROPS: tuple[str, ...] = tuple(f"DROP TABLE IF EXISTS {{{name}}}" for name in TICKET_NAMES)
AUDIT_TABLES: tuple[str, ...] = (
    (
        "CREATE TABLE IF NOT EXISTS {audit_index} (position BIGINT PRIMARY KEY, ref TEXT NOT NULL,"
        " version INTEGER NOT NULL, type TEXT NOT NULL, occurred_at BIGINT NOT NULL, "
        "actor TEXT NOT NULL)"
    ),
    "CREATE INDEX IF NOT EXISTS dl_audit_index_ref ON {audit_index} (ref, position)",
)
AUDIT_NAMES = ("audit_index",)
AUDIT_DROPS: tuple[str, ...] = tuple(f"DROP TABLE IF EXISTS {{{name}}}" for name in AUDIT_NAMES)


TICKET_ROW = ("ref", "position", "valid_from", *TICKET_COLUMNS)
TIMER_ROW = ("ref", "seq", "position", "valid_from", *TIMER_COLUMNS)


@dataclass(frozen=True)
class Rows:
    """A statement the view stores run for many rows, bound from tuples in ``columns``
    order: positional parameters (:meth:`Dialect.positional`) spare building and looking up
    a dict of every row's dozens of named values, which a rebuild does once per event.

    An ``INSERT`` without a conflict clause also has :attr:`copy`: the ``COPY`` that loads
    the same rows on PostgreSQL in one stream, where the server would otherwise run the
    statement once per row."""

    statement: str
    columns: tuple[str, ...]
    copy: str = ""


def _insert_rows(table: str, columns: Sequence[str], conflict: str = "") -> Rows:
    names = ", ".join(columns)
    statement = f"INSERT INTO {{{table}}} ({names}) VALUES ({', '.join('?' for _ in columns)})"
    copy = "" if conflict else f"COPY {{{table}}} ({names}) FROM STDIN"
    return Rows(statement + conflict, tuple(columns), copy)


def _upsert_rows(table: str, columns: Sequence[str], key: Sequence[str]) -> Rows:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return _insert_rows(table, columns, f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


#: A ticket row as :func:`projections.rows.ticket_row` builds it: the table's columns with
#: ``next_milestone_at`` last (a fact of the current row only; versions store NULL).
TICKET_VALUES = (*(c for c in TICKET_ROW if c != "next_milestone_at"), "next_milestone_at")

INSERT_VERSION = _insert_rows("ticket_versions", (*TICKET_VALUES, "valid_to"))
CLOSE_VERSIONS = Rows(
    "UPDATE {ticket_versions} SET valid_to = ? WHERE ref = ? AND valid_to IS NULL",
    ("valid_to", "ref"),
)
UPSERT_TICKET = _upsert_rows("tickets", TICKET_VALUES, ("ref",))
INSERT_TIMER_VERSION = _insert_rows("sla_timer_versions", (*TIMER_ROW, "valid_to"))
CLOSE_TIMER_VERSIONS = Rows(
    "UPDATE {sla_timer_versions} SET valid_to = ? WHERE ref = ? AND seq = ? AND valid_to IS NULL",
    ("valid_to", "ref", "seq"),
)
UPSERT_TIMER = _upsert_rows("sla_timers", TIMER_ROW, ("ref", "seq"))
INSERT_DAMAGED = _insert_rows(
    "damaged", ("position", "ref", "stream_id", "reason"), " ON CONFLICT (position) DO NOTHING"
)
INSERT_AUDIT = _insert_rows(
    "audit_index",
    ("position", "ref", "version", "type", "occurred_at", "actor"),
    " ON CONFLICT (position) DO NOTHING",
)


#: The rows valid at ``:at`` (microseconds), read in place of the current ones: a ticket's or
#: timer's version from its last change at or before that instant.
TICKETS_AS_OF = (
    "(SELECT * FROM {ticket_versions} WHERE valid_from <= :at "
    "AND (valid_to IS NULL OR valid_to > :at))"
)
TIMERS_AS_OF = (
    "(SELECT * FROM {sla_timer_versions} WHERE valid_from <= :at "
    "AND (valid_to IS NULL OR valid_to > :at))"
)


def as_of(statement: str) -> str:
    """``statement`` reading the rows valid at ``:at`` wherever it reads ``{tickets}`` or
    ``{sla_timers}``: one statement answers for now and for any earlier instant."""
    return statement.replace("{tickets}", TICKETS_AS_OF).replace("{sla_timers}", TIMERS_AS_OF)


#: The temporary tables a report as of an instant reads (one connection's own).
AS_OF_TICKETS = "dl_report_tickets_as_of"
AS_OF_TIMERS = "dl_report_timers_as_of"
AS_OF_DROPS = (f"DROP TABLE IF EXISTS {AS_OF_TICKETS}", f"DROP TABLE IF EXISTS {AS_OF_TIMERS}")


def as_of_tables(
    dialect: str, tickets: Sequence[str] = TICKET_ROW, timers: Sequence[str] = TIMER_ROW
) -> tuple[str, ...]:
    """Statements filling the temporary tables with the columns ``tickets`` and ``timers``
    (every one by default) of the rows valid at ``:at`` (dropped at the end of the
    transaction on PostgreSQL; by :data:`AS_OF_DROPS` on SQLite)."""
    create = f"CREATE TEMPORARY TABLE {{}} {'ON COMMIT DROP ' if dialect == 'postgres' else ''}AS"
    return (
        *AS_OF_DROPS,
        f"{create.format(AS_OF_TICKETS)} SELECT {', '.join(tickets)} FROM {TICKETS_AS_OF} t",
        f"{create.format(AS_OF_TIMERS)} SELECT {', '.join(timers)} FROM {TIMERS_AS_OF} s",
    )


def from_as_of_tables(statement: str) -> str:
    """``statement`` reading the temporary as-of tables instead of the current rows."""
    return statement.replace("{tickets}", AS_OF_TICKETS).replace("{sla_timers}", AS_OF_TIMERS)
