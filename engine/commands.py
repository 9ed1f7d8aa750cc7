"""Commands, validated at the edge: frozen pydantic models that name the field that is wrong.

The names and fields are those of SPEC §2, shared by the Python API, scenarios and the CLI.
``as`` (the actor), ``command_id`` and ``expected_version`` travel beside the command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from engine.errors import CommandValidationError
from engine.ids import ticket_ref


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    ref: str

    @field_validator("ref")
    @classmethod
    def _valid_ref(cls, value: str) -> str:
        return ticket_ref(value)


class Open(Command):
    kind: Literal["incident", "service_request"] = "incident"
    title: str
    caller: str
    impact: int
    urgency: int
    description: str | None = None
    channel: str | None = None
    category: str | None = None
    subcategory: str | None = None
    service: str | None = None
    group: str | None = None
    assignee: str | None = None
    affected_users: int | None = None


class Assign(Command):
    """``group`` and/or ``assignee``; an explicit ``None`` clears, an absent field keeps."""

    group: str | None = None
    assignee: str | None = None


class Start(Command):
    pass


class Hold(Command):
    reason: str
    comment: str | None = None


class Resume(Command):
    pass


class Resolve(Command):
    code: str
    notes: str
    knowledge: str | None = None


class Reopen(Command):
    reason: str


class Close(Command):
    pass


class Cancel(Command):
    reason: str


class Reprioritize(Command):
    impact: int | None = None
    urgency: int | None = None
    reason: str


class Escalate(Command):
    """Functional (``tier`` and ``group``) or hierarchical (``hierarchical: true`` and ``to``)."""

    tier: int | None = None
    group: str | None = None
    hierarchical: bool = False
    to: str | None = None
    reason: str | None = None


class Comment(Command):
    text: str
    visibility: Literal["internal", "customer"] = "internal"


class DeclareMajor(Command):
    reason: str


class LinkChild(Command):
    child: str

    @field_validator("child")
    @classmethod
    def _valid_child(cls, value: str) -> str:
        return ticket_ref(value, "child")


class Communicate(Command):
    audience: str
    message: str
    channel: str | None = None


class Review(Command):
    summary: str
    root_cause: str
    actions: list[str] = []


class LinkProblem(Command):
    problem: str


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
}
COMMAND_NAMES = {cls: name for name, cls in COMMANDS.items()}


def command_name(command: Command) -> str:
    return COMMAND_NAMES[type(command)]


def parse_command(name: str, fields: Mapping[str, Any]) -> Command:
    """Build a command from its name and a mapping of fields; errors name the field."""
    normalized = name.replace("-", "_")
    if normalized not in COMMANDS:
        raise CommandValidationError(
            "do", f"unknown command {name!r} (one of {', '.join(sorted(COMMANDS))})"
        )
    if not isinstance(fields, Mapping):
        raise CommandValidationError("with", f"expected a mapping of fields, got {fields!r}")
    try:
        return COMMANDS[normalized].model_validate(dict(fields))
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or normalized
        if isinstance(first.get("ctx", {}).get("error"), CommandValidationError):
            raise first["ctx"]["error"] from None
        ref = fields.get("ref") if isinstance(fields.get("ref"), str) else None
        raise CommandValidationError(location, first["msg"], ref=ref) from None
