"""Transcodings that let eventsourcing snapshot a Ticket (its phases and SLA timers).

Snapshots only speed up loading a ticket with a long history: ``Desk`` takes one every
:data:`SNAPSHOT_INTERVAL` events. Audit, as-of and verify always read the events themselves.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Transcoding

from engine.sla import Phase, SlaTerms, SlaTimer

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
            "terms": obj.terms.as_fields(),
            "policy_version": obj.policy_version,
            "started_at": obj.started_at,
            "retroactive": obj.retroactive,
            "canceled_at": obj.canceled_at,
            "warnings_recorded": list(obj.warnings_recorded),
            "breach_recorded": obj.breach_recorded,
        }

    def decode(self, data: dict[str, Any]) -> SlaTimer:
        # Snapshots taken before SlaTerms kept the terms flat and spelled "cancelled_at".
        terms = data.get("terms", data)
        return SlaTimer(
            terms=SlaTerms.from_fields(terms),
            policy_version=data["policy_version"],
            started_at=data["started_at"],
            retroactive=data["retroactive"],
            canceled_at=data.get("canceled_at", data.get("cancelled_at")),
            warnings_recorded=list(data["warnings_recorded"]),
            breach_recorded=data["breach_recorded"],
        )
