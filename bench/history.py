"""A generated desk history: realistic ticket lives written through the engine's commands.

The log the read-side figures measure (rebuild, verify, export, queue, report, the single-ticket
reads): tickets open every few minutes and live for days — picked up, commented, some put on
hold (the caller answers, or the vendor), escalated, reprioritized, resolved, some reopened,
most closed, one in five still open at the end — under a policy with two SLA timers per ticket
whose warnings and breaches the engine records as the clock passes them. Every 500th ticket is
a priority-1 major incident with three children, communications and a review. About ten events
per ticket.

:class:`HistoryWriter` writes batches of tickets, each batch in one bulk unit of work
(``desk.unit_of_work()``) with the batch's commands in time order, and can stop at any log size
and go on later, so one pass can leave copies of the store at several sizes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.application import Desk

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
#: One ticket opens every OPEN_EVERY: 100,000 tickets span about 280 days.
OPEN_EVERY = timedelta(minutes=4)
MAJOR_EVERY = 500
CHILDREN = 3
#: A major incident (with children) and an ordinary ticket that every log of 50+ tickets has.
MAJOR_REF = "INC0000000"
SAMPLE_REF = f"INC{CHILDREN + 1:07d}"

POLICY: dict[str, Any] = {
    "calendars": {
        "office": {
            "timezone": "Europe/Berlin",
            "hours": {day: ["08:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2025-12-24", "2025-12-25", "2025-12-26", "2025-12-31"],
        }
    },
    "slas": [
        {"name": "Response", "kind": "response", "target": "1h", "pause_on": []},
        {
            "name": "Resolution P1-P2",
            "kind": "resolution",
            "applies_to": {"priority": [1, 2]},
            "target": "8h",
            "pause_on": ["awaiting_caller", "awaiting_vendor"],
        },
        {
            "name": "Resolution P3-P5",
            "kind": "resolution",
            "applies_to": {"priority": [3, 4, 5]},
            "target": "3d",
            "calendar": "office",
            "pause_on": ["awaiting_caller"],
        },
    ],
}

CATEGORIES = ("network", "hardware", "software", "access", "database", "email")
GROUPS = ("service-desk", "network-l2", "apps-l2", "workplace", "dba")
AGENTS = tuple(f"agent{n:02d}" for n in range(40))
CHANNELS = ("phone", "email", "portal", "chat", "monitoring")

Step = tuple[datetime, int, str, str, dict[str, Any]]  # (at, order, actor, command, fields)


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def ticket_life(rng: random.Random, number: int, opened_at: datetime) -> list[Step]:
    """The commands of one ordinary ticket's life, in its own time order."""
    ref = f"INC{number:07d}"
    caller = f"user{number % 5000:04d}"
    category = rng.choice(CATEGORIES)
    steps: list[tuple[timedelta, str, str, dict[str, Any]]] = []
    at = timedelta(0)

    def then(delay: timedelta, actor: str, command: str, **fields: Any) -> None:
        nonlocal at
        at += delay
        steps.append((at, actor, command, {"ref": ref, **fields}))

    impact, urgency = rng.choice([(2, 2), (2, 3), (3, 2), (3, 3), (3, 3), (2, 1), (1, 2)])
    then(
        timedelta(0), caller, "open",
        title=f"{category.capitalize()} problem reported by {caller}",
        description=f"The caller cannot work: {category} fails since this morning (ticket {ref}).",
        caller=caller, impact=impact, urgency=urgency, channel=rng.choice(CHANNELS),
        category=category, group="service-desk",
    )  # fmt: skip
    if rng.random() < 0.04:
        then(_minutes(rng, 5, 60), "agent00", "cancel", reason="duplicate of another ticket")
        return _stamped(steps, opened_at)
    agent = rng.choice(AGENTS)
    then(_minutes(rng, 2, 60), agent, "assign", group=rng.choice(GROUPS), assignee=agent)
    if rng.random() < 0.85:
        then(_minutes(rng, 10, 300), agent, "comment", text="Reproduced; checking the logs.",
             visibility="internal")  # fmt: skip
    roll = rng.random()
    if roll < 0.15:
        then(_minutes(rng, 10, 120), agent, "hold", reason="awaiting_caller",
             comment="Could you send a screenshot of the error?")  # fmt: skip
        then(_minutes(rng, 30, 2880), caller, "comment", text="Screenshot attached.",
             visibility="customer")  # fmt: skip
    elif roll < 0.20:
        then(_minutes(rng, 10, 120), agent, "hold", reason="awaiting_vendor")
        then(_minutes(rng, 60, 4320), agent, "resume")
    if rng.random() < 0.10:
        then(_minutes(rng, 30, 600), agent, "escalate", tier=2, group="apps-l2",
             reason="needs the application team")  # fmt: skip
    if rng.random() < 0.04:
        then(_minutes(rng, 5, 60), agent, "escalate", hierarchical=True, to="desk-manager",
             reason="VIP caller")  # fmt: skip
    if rng.random() < 0.03:
        then(_minutes(rng, 5, 60), agent, "reprioritize", impact=max(1, impact - 1),
             urgency=urgency, reason="more users affected")  # fmt: skip
    if rng.random() < 0.20:  # still open at the end of its history
        return _stamped(steps, opened_at)
    then(_minutes(rng, 30, 2000), agent, "resolve", code="solved",
         notes="Cleared the cached credentials and restarted the client.")  # fmt: skip
    if rng.random() < 0.08:
        then(_minutes(rng, 60, 1440), caller, "reopen", reason="It fails again.")
        then(_minutes(rng, 30, 600), agent, "resolve", code="solved",
             notes="Replaced the profile.")  # fmt: skip
    if rng.random() < 0.85:
        then(timedelta(days=5), "system", "close")
    return _stamped(steps, opened_at)


def major_life(number: int, opened_at: datetime, children: list[str]) -> list[Step]:
    """A priority-1 major incident: declared, children linked, communications, resolved
    (which resolves the children), reviewed, closed."""
    ref = f"INC{number:07d}"
    steps: list[tuple[timedelta, str, str, dict[str, Any]]] = [
        (timedelta(0), "monitoring", "open",
         {"ref": ref, "title": "Core switch down in building A", "caller": "monitoring",
          "impact": 1, "urgency": 1, "channel": "monitoring", "category": "network",
          "group": "network-l2", "affected_users": 400}),
        (timedelta(minutes=3), "agent01", "assign", {"ref": ref, "assignee": "agent01"}),
        (timedelta(minutes=10), "duty-manager", "declare_major",
         {"ref": ref, "reason": "a whole building is offline"}),
        *[(timedelta(minutes=30 + k), "agent01", "link_child", {"ref": ref, "child": child})
          for k, child in enumerate(children)],
        (timedelta(minutes=40), "duty-manager", "communicate",
         {"ref": ref, "audience": "all-staff", "message": "Building A has no network.",
          "channel": "email"}),
        (timedelta(hours=3), "agent01", "resolve",
         {"ref": ref, "code": "solved", "notes": "Replaced the supervisor module."}),
        (timedelta(hours=4), "duty-manager", "review",
         {"ref": ref, "summary": "Building A offline for three hours.",
          "root_cause": "A failed supervisor module.", "actions": ["Keep a spare module"]}),
        (timedelta(days=5), "system", "close", {"ref": ref}),
    ]  # fmt: skip
    return _stamped(steps, opened_at)


def child_life(number: int, opened_at: datetime) -> list[Step]:
    """A child of a major incident: opened by a user of the building; the parent resolves it."""
    ref = f"INC{number:07d}"
    fields = {"ref": ref, "title": "No network at my desk", "caller": f"user{number % 5000:04d}",
              "impact": 3, "urgency": 2, "channel": "phone", "category": "network"}  # fmt: skip
    return _stamped([(timedelta(0), fields["caller"], "open", fields)], opened_at)


def _stamped(steps: list[tuple[timedelta, str, str, dict[str, Any]]], at: datetime) -> list[Step]:
    return [(at + offset, k, actor, name, f) for k, (offset, actor, name, f) in enumerate(steps)]


@dataclass
class HistoryWriter:
    """Writes ticket lives into ``desk`` batch by batch; :meth:`grow_to` stops at a log size."""

    desk: Desk
    seed: int = 2025
    batch: int = 500
    tickets: int = 0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        if (self.desk.recorder.max_notification_id() or 0) == 0:
            self.desk.load_policy(POLICY, actor="bench", at=START - timedelta(days=1))

    @property
    def events(self) -> int:
        return int(self.desk.recorder.max_notification_id() or 0)

    @property
    def first_opened_at(self) -> datetime:
        return START

    @property
    def last_opened_at(self) -> datetime:
        return START + OPEN_EVERY * max(0, self.tickets - 1)

    def grow_to(self, events: int, progress: Callable[[int], None] | None = None) -> int:
        """Write batches until the log holds at least ``events`` events; returns the count.
        Near the goal the batches shrink (about ten events a ticket), so the log ends close
        to it."""
        while (done := self.events) < events:
            tickets = max(1, min(self.batch, (events - done) // 10))
            self._write_batch(tickets)
            if progress is not None:
                progress(min(self.events, events))
        return self.events

    def _write_batch(self, count: int) -> None:
        steps: list[Step] = []
        first = self.tickets
        number = first
        while number < first + count:
            opened_at = START + OPEN_EVERY * number
            if number % MAJOR_EVERY == 0 and number + CHILDREN < first + count:
                children = [f"INC{number + k:07d}" for k in range(1, CHILDREN + 1)]
                steps += major_life(number, opened_at, children)
                for k in range(1, CHILDREN + 1):
                    steps += child_life(number + k, START + OPEN_EVERY * (number + k))
                number += CHILDREN + 1
                continue
            steps += ticket_life(self._rng, number, opened_at)
            number += 1
        self.tickets = number
        steps.sort(key=lambda step: (step[0], step[1], step[4]["ref"]))
        with self.desk.unit_of_work():
            for at, _, actor, name, fields in steps:
                self.desk.execute(name, fields, actor=actor, at=at)
