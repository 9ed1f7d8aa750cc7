"""The store's policy versions: loading a policy records a new version as an event."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from engine.audit import GENESIS
from engine.chain import Chained, LedgerEvent, Stamp, seal
from engine.ids import policy_registry_id
from engine.policy import Policy, parse_policy

POLICY_STREAM = "policy"


class PolicyVersionLoaded(LedgerEvent):
    """A new policy version was installed; ``document`` is its canonical form."""

    version: int
    document: dict[str, Any]
    digest: str

    def apply(self, aggregate: Any) -> None:
        registry: PolicyRegistry = aggregate
        registry.documents.append(self.document)
        super().apply(registry)


class PolicyRegistryStarted(PolicyVersionLoaded, Aggregate.Created):
    """The first policy version, which also creates the registry."""


class PolicyRegistry(Chained):
    """Every policy version ever loaded into the store, in order (version 1 is the first)."""

    def __init__(self) -> None:
        self.ref = POLICY_STREAM
        self.documents: list[dict[str, Any]] = []
        self._init_chain()

    @classmethod
    def start(cls, stamp: Stamp, policy: Policy) -> PolicyRegistry:
        draft = PolicyRegistryStarted(  # type: ignore[call-arg]
            originator_topic=get_topic(cls),
            originator_id=policy_registry_id(),
            originator_version=cls.INITIAL_VERSION,
            timestamp=stamp.recorded_at,
            ref=POLICY_STREAM,
            occurred_at=stamp.occurred_at,
            actor=stamp.actor,
            command_id=stamp.command_id,
            reason=None,
            source=None,
            prev_hash=GENESIS,
            hash="",
            version=1,
            document=policy.document,
            digest=policy.digest,
        )
        event = seal(draft)
        registry = event.mutate(None)
        if not isinstance(registry, PolicyRegistry):  # pragma: no cover
            raise TypeError("PolicyRegistryStarted did not construct a PolicyRegistry")
        registry.pending_events.append(event)
        return registry

    def load(self, stamp: Stamp, policy: Policy) -> bool:
        """Record ``policy`` as the next version unless it equals the current one."""
        if self.documents and self.current().digest == policy.digest:
            return False
        self._record(
            PolicyVersionLoaded,
            stamp,
            version=len(self.documents) + 1,
            document=policy.document,
            digest=policy.digest,
        )
        return True

    def current(self) -> Policy:
        return self.get(len(self.documents))

    def get(self, version: int) -> Policy:
        """The policy of ``version`` (0 is the built-in default)."""
        if version == 0 or not self.documents:
            return parse_policy({})
        return parse_policy(self.documents[version - 1]).with_version(version)
