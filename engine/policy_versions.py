"""The store's policy versions, read once: versions are immutable, so each is parsed once.

The current version is one indexed read of the registry stream's last event per command (a
policy loaded by another process takes effect at once); an older version, pinned by a
ticket's timers, is read and parsed the first time it is asked for. A policy loaded in a
unit of work that has not been saved yet is the pending registry's (see ``Desk``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import EventStore

from engine.calendar import BusinessCalendar
from engine.errors import PolicyError
from engine.ids import policy_registry_id
from engine.policy import Policy, default_policy, parse_policy
from engine.policy_registry import PolicyRegistry, PolicyVersionLoaded


class PolicyVersions:
    """Policies and calendars by version, cached (they never change once recorded)."""

    def __init__(self, events: EventStore[UUID]) -> None:
        self._events = events
        self._policies: dict[int, Policy] = {0: default_policy()}
        self._calendars: dict[tuple[int, str], BusinessCalendar] = {}
        self._unsaved: dict[int, tuple[object, Policy]] = {}
        self._registry_id = policy_registry_id()

    def current(self, pending: PolicyRegistry | None = None) -> Policy:
        """The policy in force: ``pending`` (loaded in an unsaved unit of work) or stored."""
        if pending is not None and pending.pending_events:
            return self._from_pending(pending, len(pending.documents))
        last = next(iter(self._events.get(self._registry_id, desc=True, limit=1)), None)
        if not isinstance(last, PolicyVersionLoaded):
            return self._policies[0]
        return self._parsed(last.version, last.document)

    def get(self, version: int, pending: PolicyRegistry | None = None) -> Policy:
        """The policy of ``version`` (0: the built-in default)."""
        if version in self._policies:
            return self._policies[version]
        if pending is not None and pending.pending_events and version <= len(pending.documents):
            return self._from_pending(pending, version)
        event = next(iter(self._events.get(self._registry_id, gt=version - 1, lte=version)), None)
        if not isinstance(event, PolicyVersionLoaded):
            raise PolicyError("policy", f"version {version} is not in this store")
        return self._parsed(version, event.document)

    def calendar(
        self, version: int, name: str, pending: PolicyRegistry | None = None
    ) -> BusinessCalendar:
        """The calendar ``name`` as policy ``version`` defined it (pinned holidays)."""
        key = (version, name)
        cached = self._calendars.get(key)
        if cached is not None:
            return cached
        mapping = self.get(version, pending).calendars.get(name)
        if mapping is None:
            raise PolicyError(f"calendars.{name}", f"not defined in policy version {version}")
        calendar = BusinessCalendar.from_mapping(mapping, name=name)
        if version in self._policies:  # a stored version (an unsaved one may never be)
            self._calendars[key] = calendar
        return calendar

    def _from_pending(self, registry: PolicyRegistry, version: int) -> Policy:
        """A version of an unsaved registry, parsed once per document."""
        document = registry.documents[version - 1]
        seen = self._unsaved.get(version)
        if seen is None or seen[0] is not document:
            seen = (document, registry.get(version))
            self._unsaved[version] = seen
        return seen[1]

    def _parsed(self, version: int, document: dict[str, Any]) -> Policy:
        if version not in self._policies:
            self._policies[version] = parse_policy(document).with_version(version)
        return self._policies[version]
