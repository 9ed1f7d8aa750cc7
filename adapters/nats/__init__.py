"""DeskLedger on NATS JetStream (docs/nats.md): relay, checkpoints, subscribers, embedded server.

Modules, one job each::

    subjects        subjects, headers, reserved subject names        (no nats-py)
    errors          the error tree                                     (no nats-py)
    urls            which server, and is its URL well formed           (no nats-py)
    codec           stored notification → Envelope → message, and back (no nats-py)
    checkpoint      the chain-head checkpoint message                  (no nats-py)
    stream          ensure_stream, stream_head, last_checkpoint
    acks            the ack ledger
    resume          where a restarted relay continues, and the chain head there
    relay           Relay: publish, checkpoint, retry
    run             relay_once / relay_until_stopped → RelaySummary (what the CLI calls)
    thread          RelayThread (for synchronous programs)
    subscriber      subscribe, EventSubscriber, Delivery, StreamMessage
    replica_log     a replica's received envelopes (SQLite) and ReplicaWorld (no nats-py)
    replica         Replica: the store's projections and queries, fed over NATS
    delivery_check  check_delivery, SubscriberThread: what a replica received vs the log
    anchors         read_anchored_heads, CheckpointRecorder
    server          EmbeddedNatsServer, nats_server

Importing this package imports no module above and not nats-py: commands that do not use
NATS do not pay for it. Each public name is loaded on first access
(``adapters.nats.Relay``), or import the submodule directly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.nats.anchors import (
        AnchoredHead,
        CheckpointRecorder,
        fetch_anchored_heads,
        read_anchored_heads,
        read_recorded_heads,
    )
    from adapters.nats.checkpoint import (
        Checkpoint,
    )
    from adapters.nats.codec import (
        LogReader,
        Outgoing,
        decode,
        encode,
    )
    from adapters.nats.delivery_check import (
        DeliveryReport,
        SubscriberThread,
        check_delivery,
    )
    from adapters.nats.errors import (
        NatsUnavailableError,
        NatsUrlError,
        RelayInterruptedError,
        RelayStreamError,
        SubscriberConfigError,
        UnpublishableEventError,
    )
    from adapters.nats.relay import (
        Relay,
        RelayStats,
    )
    from adapters.nats.replica import (
        Replica,
        ReplicaProblem,
    )
    from adapters.nats.replica_log import (
        ReplicaWorld,
    )
    from adapters.nats.run import (
        RelaySummary,
        relay_once,
        relay_until_stopped,
    )
    from adapters.nats.server import (
        EmbeddedNatsServer,
        check_reachable,
        find_binary,
        nats_server,
    )
    from adapters.nats.stream import (
        StreamHead,
        ensure_stream,
        last_checkpoint,
        stream_head,
    )
    from adapters.nats.subjects import (
        DEFAULT_STREAM,
        EVENT_SUBJECTS,
        checkpoint_subject,
        subject_for,
    )
    from adapters.nats.subscriber import (
        Delivery,
        EventSubscriber,
        StreamMessage,
        filter_subjects,
        subscribe,
    )
    from adapters.nats.thread import (
        RelayThread,
    )
    from adapters.nats.urls import (
        DEFAULT_NATS_URL,
        relay_nats_url,
        validate_nats_url,
    )

_EXPORTS: dict[str, str] = {
    "NatsUnavailableError": "errors",
    "NatsUrlError": "errors",
    "RelayInterruptedError": "errors",
    "RelayStreamError": "errors",
    "SubscriberConfigError": "errors",
    "UnpublishableEventError": "errors",
    "DEFAULT_STREAM": "subjects",
    "EVENT_SUBJECTS": "subjects",
    "checkpoint_subject": "subjects",
    "subject_for": "subjects",
    "DEFAULT_NATS_URL": "urls",
    "relay_nats_url": "urls",
    "validate_nats_url": "urls",
    "LogReader": "codec",
    "Outgoing": "codec",
    "decode": "codec",
    "encode": "codec",
    "Checkpoint": "checkpoint",
    "StreamHead": "stream",
    "ensure_stream": "stream",
    "last_checkpoint": "stream",
    "stream_head": "stream",
    "Relay": "relay",
    "RelayStats": "relay",
    "RelaySummary": "run",
    "relay_once": "run",
    "relay_until_stopped": "run",
    "RelayThread": "thread",
    "Delivery": "subscriber",
    "EventSubscriber": "subscriber",
    "StreamMessage": "subscriber",
    "filter_subjects": "subscriber",
    "subscribe": "subscriber",
    "Replica": "replica",
    "ReplicaProblem": "replica",
    "ReplicaWorld": "replica_log",
    "EmbeddedNatsServer": "server",
    "check_reachable": "server",
    "find_binary": "server",
    "nats_server": "server",
    "AnchoredHead": "anchors",
    "CheckpointRecorder": "anchors",
    "fetch_anchored_heads": "anchors",
    "read_anchored_heads": "anchors",
    "read_recorded_heads": "anchors",
    "DeliveryReport": "delivery_check",
    "SubscriberThread": "delivery_check",
    "check_delivery": "delivery_check",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "DEFAULT_NATS_URL",
    "DEFAULT_STREAM",
    "EVENT_SUBJECTS",
    "AnchoredHead",
    "Checkpoint",
    "CheckpointRecorder",
    "Delivery",
    "DeliveryReport",
    "EmbeddedNatsServer",
    "EventSubscriber",
    "LogReader",
    "NatsUnavailableError",
    "NatsUrlError",
    "Outgoing",
    "Relay",
    "RelayInterruptedError",
    "RelayStats",
    "RelayStreamError",
    "RelaySummary",
    "RelayThread",
    "Replica",
    "ReplicaProblem",
    "ReplicaWorld",
    "StreamHead",
    "StreamMessage",
    "SubscriberConfigError",
    "SubscriberThread",
    "UnpublishableEventError",
    "check_delivery",
    "check_reachable",
    "checkpoint_subject",
    "decode",
    "encode",
    "ensure_stream",
    "fetch_anchored_heads",
    "filter_subjects",
    "find_binary",
    "last_checkpoint",
    "nats_server",
    "read_anchored_heads",
    "read_recorded_heads",
    "relay_nats_url",
    "relay_once",
    "relay_until_stopped",
    "stream_head",
    "subject_for",
    "subscribe",
    "validate_nats_url",
]
