"""The library's JSON transcoder, writing the same bytes with its encoder built once.

``json.JSONEncoder.encode`` builds its C encoder again on every call; eventsourcing's
:class:`~eventsourcing.persistence.JSONTranscoder` calls it once per stored event, so an
import of thousands of events paid for as many encoders. :class:`PrebuiltJSONTranscoder`
builds the C encoder with the library's own settings (its ``default`` hook, compact
separators, raw UTF-8, circular-reference check) once, and builds it again only after an
encoding failed (a failure can leave the circular-reference markers half full). Decoding is
the library's. A UTC instant's text is looked up (:mod:`engine.isotext`) rather than
written out again: the same text the library's ``datetime_iso`` transcoding writes.
"""

from __future__ import annotations

import json.encoder
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder

from engine.isotext import iso_text


class PrebuiltJSONTranscoder(JSONTranscoder):
    """:class:`JSONTranscoder` whose ``encode`` gives the same bytes, with one C encoder."""

    def __init__(self) -> None:
        super().__init__()
        self._make: Callable[..., Any] | None = getattr(json.encoder, "c_make_encoder", None)
        self._encoder = self._build()

    def _build(self) -> Callable[[Any, int], Any] | None:
        library = self.encoder
        if self._make is None or library.indent is not None:  # pragma: no cover - CPython
            return None
        return self._make(
            {} if library.check_circular else None,
            self._default,
            json.encoder.encode_basestring_ascii
            if library.ensure_ascii
            else json.encoder.encode_basestring,
            library.indent,
            library.key_separator,
            library.item_separator,
            library.sort_keys,
            library.skipkeys,
            library.allow_nan,
        )

    def _default(self, value: Any) -> dict[str, Any]:
        """The library's hook for values JSON has no form for, with the text of a UTC instant
        looked up (:mod:`engine.isotext`): every event stores two instants, already written
        out for its hash. The same object the library's ``datetime_iso`` transcoding gives."""
        if type(value) is datetime:
            transcoding = self.types.get(datetime)
            if type(transcoding) is DatetimeAsISO:
                return {"_type_": transcoding.name, "_data_": iso_text(value)}
        return self.encoder.default(value)  # type: ignore[no-any-return]

    def encode(self, obj: Any) -> bytes:
        encoder = self._encoder
        if encoder is None or type(obj) is not dict:  # pragma: no cover - not an event's state
            return super().encode(obj)
        try:
            return "".join(encoder(obj, 0)).encode("utf8")
        except BaseException:
            self._encoder = self._build()
            raise
