"""Command handlers: one small function per command, registered in :data:`HANDLERS`.

The application service (:class:`engine.application.Desk`) loads the ticket, brings it up to
date with the clock, calls the handler and saves; a handler only calls the aggregate's command
methods and the domain services (SLA monitoring, the major-incident policy) the command needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine import commands as cmd
from engine import major_incident
from engine.chain import Stamp
from engine.errors import CommandValidationError
from engine.policy import Policy
from engine.sla_monitor import PolicyLookup, SlaMonitor
from engine.ticket import UNSET, Ticket


@dataclass(frozen=True)
class Context:
    """What a handler works with: the stamp of the command and the domain services."""

    stamp: Stamp
    monitor: SlaMonitor
    policy: PolicyLookup
    prepare: major_incident.Prepare  # another ticket of the unit of work, caught up to now


Handler = Callable[[Ticket, Any, Context], None]


def _priority(policy: Policy, impact: int, urgency: int, ref: str) -> int:
    for name, value in (("impact", impact), ("urgency", urgency)):
        if isinstance(value, bool) or value not in (1, 2, 3):
            raise CommandValidationError(name, f"must be 1, 2 or 3, got {value!r}", ref=ref)
    return policy.priority(impact, urgency)


def open_ticket(command: cmd.Open, stamp: Stamp, policy: Policy, monitor: SlaMonitor) -> Ticket:
    """``open``: a new ticket with the policy's priority and the timers of its SLAs."""
    ticket = Ticket.open(
        stamp,
        ref=command.ref,
        kind=command.kind,
        title=command.title,
        caller=command.caller,
        impact=command.impact,
        urgency=command.urgency,
        priority=_priority(policy, command.impact, command.urgency, command.ref),
        policy_version=policy.version,
        description=command.description,
        channel=command.channel,
        category=command.category,
        subcategory=command.subcategory,
        service=command.service,
        group=command.group,
        assignee=command.assignee,
        affected_users=command.affected_users,
    )
    monitor.start_timers(ticket, stamp, policy)
    return ticket


def assign(ticket: Ticket, command: cmd.Assign, ctx: Context) -> None:
    given = command.model_fields_set
    ticket.assign(
        ctx.stamp,
        group=command.group if "group" in given else UNSET,
        assignee=command.assignee if "assignee" in given else UNSET,
    )


def start(ticket: Ticket, command: cmd.Start, ctx: Context) -> None:
    ticket.start(ctx.stamp)


def hold(ticket: Ticket, command: cmd.Hold, ctx: Context) -> None:
    ticket.hold(ctx.stamp, reason=command.reason, comment=command.comment)


def resume(ticket: Ticket, command: cmd.Resume, ctx: Context) -> None:
    ticket.resume(ctx.stamp)


def resolve(ticket: Ticket, command: cmd.Resolve, ctx: Context) -> None:
    ticket.resolve(ctx.stamp, code=command.code, notes=command.notes, knowledge=command.knowledge)
    major_incident.resolve_children(ticket, ctx.stamp, ctx.prepare)


def reopen(ticket: Ticket, command: cmd.Reopen, ctx: Context) -> None:
    ticket.reopen(ctx.stamp, reason=command.reason)
    major_incident.reopen_children(ticket, ctx.stamp, command.reason, ctx.prepare)


def close(ticket: Ticket, command: cmd.Close, ctx: Context) -> None:
    ticket.close(ctx.stamp)


def cancel(ticket: Ticket, command: cmd.Cancel, ctx: Context) -> None:
    ticket.cancel(ctx.stamp, reason=command.reason)


def reprioritize(ticket: Ticket, command: cmd.Reprioritize, ctx: Context) -> None:
    """New impact and/or urgency; a new priority re-targets the SLA timers (docs/sla.md)."""
    if command.impact is None and command.urgency is None:
        raise CommandValidationError("impact", "give impact and/or urgency", ref=ticket.ref)
    impact = ticket.impact if command.impact is None else command.impact
    urgency = ticket.urgency if command.urgency is None else command.urgency
    priority = _priority(ctx.policy(None), impact, urgency, ticket.ref)
    before = ticket.priority
    ticket.reprioritize(
        ctx.stamp, impact=impact, urgency=urgency, priority=priority, reason=command.reason
    )
    if ticket.priority != before:
        ctx.monitor.retarget(ticket, ctx.stamp)


def escalate(ticket: Ticket, command: cmd.Escalate, ctx: Context) -> None:
    """Functional (``tier`` and ``group``) or hierarchical (``hierarchical`` and ``to``)."""
    if command.hierarchical:
        if command.tier is not None or command.group is not None:
            raise CommandValidationError(
                "hierarchical",
                "a hierarchical escalation takes 'to', not tier or group",
                ref=ticket.ref,
            )
        ticket.escalate_hierarchically(ctx.stamp, to=command.to or "", reason=command.reason)
        return
    if command.tier is None or command.group is None:
        raise CommandValidationError(
            "tier" if command.tier is None else "group",
            "a functional escalation needs tier and group (or hierarchical: true and to)",
            ref=ticket.ref,
        )
    ticket.escalate_functionally(
        ctx.stamp, tier=command.tier, group=command.group, reason=command.reason
    )


def comment(ticket: Ticket, command: cmd.Comment, ctx: Context) -> None:
    ticket.comment(ctx.stamp, text=command.text, visibility=command.visibility)


def declare_major(ticket: Ticket, command: cmd.DeclareMajor, ctx: Context) -> None:
    ticket.declare_major(ctx.stamp, reason=command.reason, declarers=ctx.policy(None).declarers)


def link_child(ticket: Ticket, command: cmd.LinkChild, ctx: Context) -> None:
    child = ctx.prepare(command.child)
    child.ensure_in_time(ctx.stamp.occurred_at)
    major_incident.link(ticket, child, ctx.stamp)


def communicate(ticket: Ticket, command: cmd.Communicate, ctx: Context) -> None:
    ticket.communicate(
        ctx.stamp, audience=command.audience, message=command.message, channel=command.channel
    )


def review(ticket: Ticket, command: cmd.Review, ctx: Context) -> None:
    ticket.review(
        ctx.stamp,
        summary=command.summary,
        root_cause=command.root_cause,
        actions=[action.model_dump(mode="json") for action in command.actions],
        contributing_factors=command.contributing_factors,
        went_well=command.went_well,
        lessons=command.lessons,
    )


def update(ticket: Ticket, command: cmd.Update, ctx: Context) -> None:
    """Only the fields the command gives (an explicit null among them clears that field), in
    the order the command declares them."""
    given = command.model_fields_set - {"ref"}
    fields = [name for name in type(command).model_fields if name in given]
    ticket.update(ctx.stamp, {name: getattr(command, name) for name in fields})


def assign_roles(ticket: Ticket, command: cmd.AssignRoles, ctx: Context) -> None:
    given = command.model_fields_set
    ticket.assign_roles(
        ctx.stamp,
        commander=command.commander if "commander" in given else UNSET,
        comms_lead=command.comms_lead if "comms_lead" in given else UNSET,
    )


def record_impact(ticket: Ticket, command: cmd.RecordImpact, ctx: Context) -> None:
    ticket.record_impact(
        ctx.stamp,
        started_at=command.started_at,
        detected_at=command.detected_at,
        mitigated_at=command.mitigated_at,
    )


def link_problem(ticket: Ticket, command: cmd.LinkProblem, ctx: Context) -> None:
    ticket.link_problem(ctx.stamp, problem=command.problem)


#: Every command on an existing ticket and its handler (``open`` creates: :func:`open_ticket`).
HANDLERS: Mapping[type[cmd.Command], Handler] = {
    cmd.Assign: assign,
    cmd.Start: start,
    cmd.Hold: hold,
    cmd.Resume: resume,
    cmd.Resolve: resolve,
    cmd.Reopen: reopen,
    cmd.Close: close,
    cmd.Cancel: cancel,
    cmd.Reprioritize: reprioritize,
    cmd.Escalate: escalate,
    cmd.Comment: comment,
    cmd.DeclareMajor: declare_major,
    cmd.LinkChild: link_child,
    cmd.Communicate: communicate,
    cmd.Review: review,
    cmd.LinkProblem: link_problem,
    cmd.Update: update,
    cmd.AssignRoles: assign_roles,
    cmd.RecordImpact: record_impact,
}
