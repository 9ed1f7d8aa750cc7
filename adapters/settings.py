"""Settings: everything DeskLedger reads from flags and the environment, read in one place.

A flag wins over its environment variable, which wins over the default:

====================  ===========================  =========================================
setting               environment                  default
====================  ===========================  =========================================
store                 ``DESKLEDGER_STORE``         ``sqlite:///deskledger.db``
nats_url              ``DESKLEDGER_NATS_URL``      none (the demo starts an embedded server;
                                                   ``relay`` uses ``nats://127.0.0.1:4222``)
nats_server_binary    ``DESKLEDGER_NATS_SERVER``   ``nats-server`` next to Python, or on PATH
actor                 ``DESKLEDGER_ACTOR``         none (commands need ``--as``)
log_level             ``DESKLEDGER_LOG_LEVEL``     ``WARNING``
log_file              ``DESKLEDGER_LOG_FILE``      none (logs go to stderr)
====================  ===========================  =========================================

:func:`adapters.bootstrap.open_desk` and the NATS adapters take a :class:`Settings`; nothing
else looks at the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Self

DEFAULT_STORE = "sqlite:///deskledger.db"
DEFAULT_LOG_LEVEL = "WARNING"

_VARIABLES = {
    "store": "DESKLEDGER_STORE",
    "nats_url": "DESKLEDGER_NATS_URL",
    "nats_server_binary": "DESKLEDGER_NATS_SERVER",
    "actor": "DESKLEDGER_ACTOR",
    "log_level": "DESKLEDGER_LOG_LEVEL",
    "log_file": "DESKLEDGER_LOG_FILE",
}


@dataclass(frozen=True)
class Settings:
    """Where the store and NATS are, who is acting, and how to log."""

    store: str = DEFAULT_STORE
    nats_url: str | None = None
    nats_server_binary: str | None = None
    actor: str | None = None
    log_level: str = DEFAULT_LOG_LEVEL
    log_file: str | None = None

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **flags: str | None) -> Self:
        """Defaults, overridden by the environment, overridden by the flags that were given
        (``None`` means the flag was not given)."""
        source = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name, variable in _VARIABLES.items():
            given = flags.get(name)
            if given is not None and given != "":
                values[name] = given
            elif source.get(variable):
                values[name] = source[variable]
        unknown = set(flags) - set(_VARIABLES)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values)

    def with_store(self, store: str) -> Self:
        return replace(self, store=store)
