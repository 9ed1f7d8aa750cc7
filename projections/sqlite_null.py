"""None bound to SQLite by the sqlite3 module's quick path, not its adaptation protocol.

Python's sqlite3 binds an int, float, str or bytearray as it is; any other value, None
included, first goes through the module's adaptation protocol: a look-up in its adapters that
misses, then a search for ``__adapt__`` on the protocol and ``__conform__`` on the value, and
only then is it bound as NULL. That costs about a microsecond per None. A ticket version binds
some twenty of them (the fields a ticket has no value for yet), so a rebuild spent more time
binding Nones than storing the rows (measured: 27 µs a version row as it was, 14 µs with the
adapter below).

An adapter registered for ``NoneType`` makes the first look-up find it; it returns the None it
is given, which is bound as NULL as before. The sqlite3 module keeps its adapters for the whole
process: this one changes no stored value (None was NULL and stays NULL), only how fast it is
bound, for every connection.
"""

from __future__ import annotations

import sqlite3


def _null(value: None) -> None:
    return value


def bind_none_directly() -> None:
    """Register the adapter (once; an adapter for None registered by others is kept)."""
    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _null)
