"""ISO-8601 text of UTC instants, remembered: each event's two instants are written out twice.

An event's ``occurred_at`` and ``recorded_at`` are written as text once for its hash and
again when the store encodes it; the rows of an import share many ``occurred_at`` values.
``datetime.isoformat`` of an aware instant is among the dearest calls of writing an event
(it formats the offset through the time zone), so the text of a UTC instant is kept.

Only an exact ``datetime`` whose time zone is :data:`datetime.UTC` is remembered: two such
instants that compare equal have the same fields, so the same text. Instants in other zones
compare equal across offsets (``10:00+00:00 == 11:00+01:00``) and are written out each time.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: How many texts are kept before starting over (an import keeps two per event until it
#: commits; a bound keeps a long-lived process from holding every instant it ever wrote).
KEPT = 65536

_TEXTS: dict[datetime, str] = {}


def iso_text(moment: datetime) -> str:
    """``moment.isoformat()``, looked up for a UTC instant written out before."""
    if type(moment) is not datetime or moment.tzinfo is not UTC:
        return moment.isoformat()
    text = _TEXTS.get(moment)
    if text is None:
        if len(_TEXTS) >= KEPT:
            _TEXTS.clear()
        text = _TEXTS[moment] = moment.isoformat()
    return text
