"""The store's policy versions, read once: versions are immutable, so each is parsed once.

Which version is current is checked once per command, and cheaply: the application service
reads the head of the store's log (its highest position, one indexed read) and learns from
:class:`~engine.log_head.LogHead` since which position the log holds only its own events.
While the version was read at or after that position, no other process can have loaded a
policy since, and the cached version is still the current one; otherwise the registry
stream's last record is read again (its version number first: the document is decoded and
parsed only for a version not seen yet). A policy loaded by another process therefore takes
effect at this process's next command. An older version, pinned by a
ticket's timers, is read and parsed the first time it is asked for. A policy loaded in a
unit of work that has not been saved yet is the pending registry's (see ``Desk``).
"""

from __future__ import annotations

from threading import Lock
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import EventStore

from engine.errors import PolicyError
from engine.ids import policy_registry_id
from engine.policy import Policy, default_policy, parse_policy

if TYPE_CHECKING:
    from engine.calendar import BusinessCalendar
    from engine.policy_registry import PolicyRegistry


class PolicyVersions:
    """Policies and calendars by version, cached (they never change once recorded)."""

    def __init__(self, events: EventStore[UUID]) -> None:
        self._events = events
        self._policies: dict[int, Policy] = {}
        self._calendars: dict[tuple[int, str], BusinessCalendar] = {}
        self._unsaved: dict[int, tuple[object, Policy]] = {}
        #: The policy each record of the registry stream holds, by the record's version.
        self._records: dict[int, Policy] = {}
        self._registry_id = policy_registry_id()
        self._lock = Lock()
        #: The current version and the log head at which it was known to be current.
        self._current: Policy | None = None
        self._current_at: int | None = None

    def current(
        self,
        pending: PolicyRegistry | None = None,
        *,
        head: int | None = None,
        since: int | None = None,
    ) -> Policy:
        """The policy in force: ``pending`` (loaded in an unsaved unit of work) or stored.

        ``head`` is the log's head as the caller just read it and ``since`` the position since
        which the log holds only this process's own events (:class:`~engine.log_head.LogHead`):
        the version cached at or after ``since`` is still the current one. Without them the
        registry is read every time.
        """
        if pending is not None and pending.pending_events:
            return self._from_pending(pending, len(pending.documents))
        with self._lock:
            known, at = self._current, self._current_at
        if known is not None and at is not None and since is not None and at >= since:
            return known
        policy = self._read_current()
        with self._lock:
            self._current, self._current_at = policy, head
        return policy

    def forget_current(self) -> None:
        """This process loaded a policy: the next command reads the registry again."""
        with self._lock:
            self._current = self._current_at = None

    def _read_current(self) -> Policy:
        """The registry stream's last version: its number read, its document parsed once."""
        recorder = self._events.recorder
        last = recorder.select_events(self._registry_id, desc=True, limit=1)
        if not last:
            return self._default()
        record = last[0].originator_version
        cached = self._records.get(record)
        if cached is not None:
            return cached
        from engine.policy_registry import PolicyVersionLoaded  # noqa: PLC0415 - the registry is read rarely

        event = self._events.mapper.to_domain_event(last[0])
        if not isinstance(event, PolicyVersionLoaded):
            return self._default()
        policy = self._parsed(event.version, event.document)
        self._records[record] = policy
        return policy

    def _default(self) -> Policy:
        """Version 0, the built-in default (parsed when first asked for)."""
        if 0 not in self._policies:
            self._policies[0] = default_policy()
        return self._policies[0]

    def get(self, version: int, pending: PolicyRegistry | None = None) -> Policy:
        """The policy of ``version`` (0: the built-in default)."""
        if version in self._policies:
            return self._policies[version]
        if version == 0:
            return self._default()
        if pending is not None and pending.pending_events and version <= len(pending.documents):
            return self._from_pending(pending, version)
        from engine.policy_registry import PolicyVersionLoaded  # noqa: PLC0415 - the registry is read rarely

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
        from engine.calendar import BusinessCalendar  # noqa: PLC0415 - for SLA arithmetic only

        calendar = BusinessCalendar.from_mapping(mapping, name=name, recorded=True)
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
            self._policies[version] = parse_policy(document, recorded=True).with_version(version)
        return self._policies[version]
