"""Commands, validated at the edge: frozen pydantic models that name the field that is wrong.

The names and fields are shared by the Python API, scenarios and the CLI, whose help text
(and ``docs/cli.md``, generated from it) comes from the docstrings and field descriptions
below: each says what the field does and lists its valid values. ``as`` (the actor),
``command_id`` and ``expected_version`` travel beside the command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.canonical import canonical_json
from engine.errors import CommandValidationError
from engine.ids import record_ref, ticket_ref
from engine.vocabulary import Channel, HoldReason, TicketKind, Visibility, values

_REF = "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"


def _choice(what: str, enum: type[Any]) -> str:
    return f"{what} (one of: {values(enum)})"


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    ref: str = Field(description=_REF)

    @field_validator("ref")
    @classmethod
    def _valid_ref(cls, value: str) -> str:
        return ticket_ref(value)


class Open(Command):
    """Open a new incident or service request; it starts in state new."""

    kind: str = Field(
        default=TicketKind.INCIDENT,
        description=_choice("ticket kind", TicketKind) + "; default incident",
    )
    title: str = Field(description="a short summary of the problem or request (required)")
    caller: str = Field(
        description="who reported it, a person or a system (required); their customer-visible "
        "comment resumes a ticket held awaiting_caller"
    )
    impact: int = Field(description="how widely it hurts: 1 (high), 2 or 3 (low) (required)")
    urgency: int = Field(description="how soon it hurts: 1 (high), 2 or 3 (low) (required)")
    description: str | None = Field(
        default=None, description="the full description of the problem or request"
    )
    channel: str | None = Field(
        default=None, description=_choice("how it reached the desk", Channel)
    )
    category: str | None = Field(
        default=None, description="category (free text), e.g. network; SLAs may apply by it"
    )
    subcategory: str | None = Field(default=None, description="subcategory (free text), e.g. vpn")
    service: str | None = Field(default=None, description="affected service or configuration item")
    group: str | None = Field(
        default=None, description="the assignment group it starts in; SLAs may apply by it"
    )
    assignee: str | None = Field(
        default=None, description="assignee (opening with one does not start work)"
    )
    affected_users: int | None = Field(
        default=None, description="how many users are affected (0 or more)"
    )


class Assign(Command):
    """Set the assignment group and/or assignee; assigning a person to a new ticket starts
    work. An explicit null clears a field, an absent one keeps it."""

    group: str | None = Field(
        default=None, description="the new assignment group (a change counts as a reassignment)"
    )
    assignee: str | None = Field(
        default=None,
        description="the person who works on it (assigning one to a new ticket starts work)",
    )


class Start(Command):
    """Start work on a new ticket (new -> in_progress)."""


class Hold(Command):
    """Put a ticket on hold (new or in_progress -> on_hold) for a reason."""

    reason: str = Field(description=_choice("hold reason", HoldReason) + " (required)")
    comment: str | None = Field(
        default=None, description="what the caller is asked (required for awaiting_caller)"
    )


class Resume(Command):
    """Resume work on a ticket on hold (on_hold -> in_progress)."""


class Resolve(Command):
    """Resolve a ticket (new, in_progress or on_hold -> resolved); resolving a major incident
    resolves its open children."""

    code: str = Field(description="resolution code (free text), e.g. solved, workaround (required)")
    notes: str = Field(description="what was done to resolve it (required)")
    knowledge: str | None = Field(
        default=None, description="the knowledge article used or written, e.g. KB0001"
    )


class Reopen(Command):
    """Reopen a resolved ticket (resolved -> in_progress); a closed ticket is final."""

    reason: str = Field(description="why it is not solved (required)")


class Close(Command):
    """Close a resolved ticket (resolved -> closed, final)."""


class Cancel(Command):
    """Cancel an open ticket (new, in_progress or on_hold -> canceled, final)."""

    reason: str = Field(description="why it is canceled (required)")


class Reprioritize(Command):
    """Change impact and/or urgency; a new priority re-targets the SLA timers."""

    impact: int | None = Field(default=None, description="new impact: 1 (high), 2 or 3 (low)")
    urgency: int | None = Field(default=None, description="new urgency: 1 (high), 2 or 3 (low)")
    reason: str = Field(description="why the priority changes (required)")


class Escalate(Command):
    """Escalate functionally (to a higher tier and group) or hierarchically (notify
    management, the ticket does not move)."""

    tier: int | None = Field(
        default=None,
        description="functional: the support tier it moves up to, 2 or 3 (above its tier now)",
    )
    group: str | None = Field(
        default=None,
        description="functional: the assignment group of that tier (a change is a reassignment)",
    )
    hierarchical: bool = Field(
        default=False,
        description="hierarchical instead: management is notified, the ticket does not move "
        "(give 'to', not tier or group)",
    )
    to: str | None = Field(
        default=None, description="hierarchical: who is notified, e.g. duty-manager"
    )
    reason: str | None = Field(default=None, description="why it is escalated (optional)")


class Comment(Command):
    """Add a work note or a customer-visible comment; the caller's reply resumes a ticket
    held awaiting the caller."""

    text: str = Field(description="the comment's text (required)")
    visibility: str = Field(
        default=Visibility.INTERNAL,
        description=_choice("who sees it: a work note, or visible to the caller", Visibility)
        + "; default internal",
    )


class DeclareMajor(Command):
    """Declare a priority-1 incident a major incident (by an allowed declarer)."""

    reason: str = Field(description="why it is major (required)")


class LinkChild(Command):
    """Link an incident as a child of a major incident (ref is the major incident)."""

    child: str = Field(description="the child incident's ref (required)")

    @field_validator("child")
    @classmethod
    def _valid_child(cls, value: str) -> str:
        return ticket_ref(value, "child")


class Communicate(Command):
    """Record a communication sent about a major incident."""

    audience: str = Field(description="who it went to, e.g. all-staff, stakeholders (required)")
    message: str = Field(description="what was said (required)")
    channel: str | None = Field(
        default=None, description="how it was sent, e.g. email, status page"
    )


class ActionItem(BaseModel):
    """One follow-up of a post-incident review: what, who, by when, and the problem or change
    record that carries it."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    text: str = Field(description="what is to be done")
    owner: str | None = Field(default=None, description="who sees it done")
    due: date | None = Field(default=None, description="by when (a date)")
    link: str | None = Field(default=None, description="its problem or change ref, e.g. CHG0042")

    @field_validator("link")
    @classmethod
    def _valid_link(cls, value: str | None) -> str | None:
        return None if value is None else record_ref(value)


class Review(Command):
    """Record the post-incident review of a resolved major incident. An action is its text
    alone or text with owner, due date and the problem or change ref that carries it (on the
    command line: 'TEXT | owner=NAME | due=YYYY-MM-DD | link=REF')."""

    summary: str = Field(description="what happened (required)")
    root_cause: str = Field(description="why it happened (required)")
    actions: list[ActionItem] = Field(
        default=[],
        description="a follow-up: 'TEXT | owner=NAME | due=YYYY-MM-DD | link=REF' (repeat)",
    )
    contributing_factors: list[str] = Field(
        default=[], description="what made it worse or likelier (repeat)"
    )
    went_well: list[str] = Field(default=[], description="what went well (repeat)")
    lessons: list[str] = Field(default=[], description="a lesson learned (repeat)")

    @field_validator("actions", mode="before")
    @classmethod
    def _plain_actions(cls, value: Any) -> Any:
        """An action given as text alone is an action item without owner, due date or link."""
        if isinstance(value, list):
            return [{"text": item} if isinstance(item, str) else item for item in value]
        return value


class AssignRoles(Command):
    """Name a major incident's incident commander and/or communications lead; an explicit
    null clears a role."""

    commander: str | None = Field(default=None, description="the incident commander")
    comms_lead: str | None = Field(default=None, description="the communications lead")


class RecordImpact(Command):
    """Record when a major incident's impact started, was detected and was mitigated (each
    optional; started <= detected, started <= mitigated, none later than the command)."""

    started_at: datetime | None = Field(
        default=None, description="when the impact started (ISO-8601 with offset)"
    )
    detected_at: datetime | None = Field(
        default=None, description="when it was detected (ISO-8601 with offset)"
    )
    mitigated_at: datetime | None = Field(
        default=None, description="when the impact was mitigated (ISO-8601 with offset)"
    )

    @field_validator("started_at", "detected_at", "mitigated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no UTC offset")
        return value


class Update(Command):
    """Change descriptive fields after opening, as one event holding the fields that change;
    an explicit null clears an optional field. Not on closed or canceled tickets."""

    title: str | None = Field(default=None, description="a new title")
    description: str | None = Field(default=None, description="a new description")
    category: str | None = Field(default=None, description="category, e.g. network")
    subcategory: str | None = Field(default=None, description="subcategory, e.g. vpn")
    service: str | None = Field(default=None, description="affected service or configuration item")
    affected_services: list[str] | None = Field(
        default=None, description="every service affected (repeat; replaces the list)"
    )
    affected_users: int | None = Field(default=None, description="how many users are affected")
    change: str | None = Field(default=None, description="the related change's ref, e.g. CHG0042")

    @field_validator("change")
    @classmethod
    def _valid_change(cls, value: str | None) -> str | None:
        return None if value is None else record_ref(value)


class LinkProblem(Command):
    """Link the ticket to a problem record."""

    problem: str = Field(description="the problem's ref, e.g. PRB0001 (required)")


COMMANDS: dict[str, type[Command]] = {
    "open": Open,
    "assign": Assign,
    "start": Start,
    "hold": Hold,
    "resume": Resume,
    "resolve": Resolve,
    "reopen": Reopen,
    "close": Close,
    "cancel": Cancel,
    "reprioritize": Reprioritize,
    "escalate": Escalate,
    "comment": Comment,
    "declare_major": DeclareMajor,
    "link_child": LinkChild,
    "communicate": Communicate,
    "review": Review,
    "link_problem": LinkProblem,
    "update": Update,
    "assign_roles": AssignRoles,
    "record_impact": RecordImpact,
}
COMMAND_NAMES = {cls: name for name, cls in COMMANDS.items()}


def command_name(command: Command) -> str:
    return COMMAND_NAMES[type(command)]


#: Values ``model_dump`` gives back as they are, in both of its modes.
_JSON_LEAVES = frozenset({str, int, bool, type(None)})


def command_texts(command: Command) -> dict[str, Any]:
    """The command's fields but ``ref``, as ``model_dump`` gives them (the limits check
    them). A command of single values (text, numbers, enums: every command an importer
    builds) is read straight from the model: pydantic's serializer, which would give the
    same values, cost a tenth of an import's command. Lists and nested models take it."""
    values = command.__dict__
    for value in values.values():
        if type(value) not in _JSON_LEAVES and not isinstance(value, Enum):
            return command.model_dump(exclude={"ref"})
    return {name: value for name, value in values.items() if name != "ref"}


def command_digest(command: Command) -> str:
    """What a ``command_id`` is bound to: the command and the fields it was given (those
    left out count as left out), as 32 hex digits of SHA-256 over their canonical JSON."""
    body = {"command": command_name(command), "fields": _given_fields(command)}
    return hashlib.sha256(canonical_json(body)).hexdigest()[:32]


def _given_fields(command: Command) -> dict[str, Any]:
    """``model_dump(mode="json", exclude_unset=True)``: read from the model when every
    given value is text, a number, a bool or null (JSON already, as the dump would give it)."""
    values = command.__dict__
    given = {name: values[name] for name in command.model_fields_set}
    for value in given.values():
        if type(value) not in _JSON_LEAVES:
            return command.model_dump(mode="json", exclude_unset=True)
    return given


def parse_command(name: str, fields: Mapping[str, Any]) -> Command:
    """Build a command from its name and a mapping of fields; errors name the field."""
    normalized = name.replace("-", "_")
    if normalized not in COMMANDS:
        raise CommandValidationError(
            "do", f"unknown command {name!r} (one of {', '.join(sorted(COMMANDS))})"
        )
    if not isinstance(fields, Mapping):
        raise CommandValidationError("with", f"expected a mapping of fields, got {fields!r}")
    model = COMMANDS[normalized]
    try:
        return model.model_validate(dict(fields))
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or normalized
        if isinstance(first.get("ctx", {}).get("error"), CommandValidationError):
            raise first["ctx"]["error"] from None
        ref = fields.get("ref") if isinstance(fields.get("ref"), str) else None
        problem = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            owner: type[BaseModel] = model if len(first["loc"]) == 1 else ActionItem
            known = ", ".join(name for name in owner.model_fields if name != "ref")
            what = normalized if owner is model else "an action item"
            problem = f"unknown field of {what} (its fields: {known or 'none'})"
        raise CommandValidationError(location, problem, ref=ref) from None
