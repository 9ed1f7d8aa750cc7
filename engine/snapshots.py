"""Transcodings that let eventsourcing snapshot a Ticket (its phases and SLA timers).

Snapshots only speed up loading a ticket with a long history: ``Desk`` takes one every
:data:`SNAPSHOT_INTERVAL` events. Audit, as-of and verify always read the events themselves.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Transcoding

from engine.sla import Phase, SlaTimer

SNAPSHOT_INTERVAL = 100


class PhaseAsDict(Transcoding):
    type = Phase
    name = "deskledger_phase"

    def encode(self, obj: Phase) -> dict[str, Any]:
        return {"at": obj.at, "state": obj.state, "hold_reason": obj.hold_reason}

    def decode(self, data: dict[str, Any]) -> Phase:
        return Phase(**data)


class SlaTimerAsDict(Transcoding):
    type = SlaTimer
    name = "deskledger_sla_timer"

    def encode(self, obj: SlaTimer) -> dict[str, Any]:
        return {
            "name": obj.name,
            "kind": obj.kind,
            "target_seconds": obj.target_seconds,
            "calendar": obj.calendar,
            "pause_on": list(obj.pause_on),
            "warn_at": list(obj.warn_at),
            "policy_version": obj.policy_version,
            "started_at": obj.started_at,
            "retroactive": obj.retroactive,
            "cancelled_at": obj.cancelled_at,
            "warnings_recorded": list(obj.warnings_recorded),
            "breach_recorded": obj.breach_recorded,
        }

    def decode(self, data: dict[str, Any]) -> SlaTimer:
        return SlaTimer(
            **{**data, "pause_on": tuple(data["pause_on"]), "warn_at": tuple(data["warn_at"])}
        )
