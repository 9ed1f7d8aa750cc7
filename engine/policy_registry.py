"""The store's policy versions: loading a policy records a new version as an event."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from engine.chain import Chained, LedgerEvent, Stamp
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

    topic_of_stream = "engine.policy_registry:PolicyRegistry"


class PolicyRegistry(Chained):
    """Every policy version ever loaded into the store, in order (version 1 is the first)."""

    def __init__(self) -> None:
        self.ref = POLICY_STREAM
        self.documents: list[dict[str, Any]] = []
        self._init_chain()

    @classmethod
    def start(cls, stamp: Stamp, policy: Policy) -> PolicyRegistry:
        registry: PolicyRegistry = cls._start_stream(
            PolicyRegistryStarted,
            stamp,
            originator_id=policy_registry_id(),
            ref=POLICY_STREAM,
            version=1,
            document=policy.document,
            digest=policy.digest,
        )
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
        return parse_policy(self.documents[version - 1], recorded=True).with_version(version)
