"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) for the values DeskLedger hashes.

:func:`canonical_json` turns a JSON value into the one byte string every conforming JCS
implementation produces for it: no whitespace, object members sorted by their names compared
as UTF-16 code units, strings with the minimal ECMAScript escapes, UTF-8 output.

It accepts the JSON types as Python builds them: ``dict`` (string keys), ``list``/``tuple``,
``str``, ``int``, ``bool`` and ``None``. Two restrictions keep the hashed bytes the same
whatever language an auditor verifies them in:

* **No floating-point numbers.** A ``float`` raises :class:`ValueError`. DeskLedger's events
  carry none (times are ISO strings, durations integer seconds), and ECMAScript number
  formatting is the part of JCS where independent implementations most often disagree.
  Without floats, an auditor's verifier needs no JCS number formatter at all.
* **Integers within ±(2**53 - 1)**, the range an IEEE-754 double holds exactly (I-JSON,
  RFC 7493); a larger one raises :class:`ValueError` instead of being silently rounded.

Strings must be valid Unicode: a lone surrogate (which ``json.loads`` can produce from
``"\\ud800"``) raises :class:`ValueError`. A key that is not a string, or a value of any other
type, raises :class:`TypeError`. Standard library only, and fast enough for a million events:
strings are escaped by the C escaper of :mod:`json`, whose escapes are exactly JCS's.

Speed: a value made only of the exact JSON types (``dict`` with ASCII string keys, ``list``,
``tuple``, ``str``, ``int`` within range, ``bool``, ``None``) is encoded by :mod:`json`'s C
encoder with sorted keys, which then writes exactly JCS's bytes: the same string escaper,
``int.__repr__`` for integers, and ASCII keys sort alike as code points and UTF-16 code units.
Anything else (a float, a non-ASCII key, a subclass, another type) takes the encoder below,
which gives JCS's bytes for subclasses and the errors described above.
"""

from __future__ import annotations

import json.encoder
from collections.abc import Callable
from json import JSONEncoder
from json.encoder import encode_basestring as _quote
from typing import Any

#: The largest integer an IEEE-754 double (a JSON number in JCS) represents exactly.
MAX_SAFE_INTEGER = 2**53 - 1


def _sorted_compact() -> Callable[[Any], str]:
    """json's encoder with sorted keys, no whitespace and raw UTF-8: the C encoder, built
    once (``JSONEncoder.encode`` builds it again on every call), where it exists."""
    make = getattr(json.encoder, "c_make_encoder", None)  # not in the typing stubs
    if make is None:  # pragma: no cover - CPython has it
        return JSONEncoder(
            ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
        ).encode
    encoder = make(None, None, _quote, None, ":", ",", True, False, True)
    return lambda value: "".join(encoder(value, 0))


#: The encoder for values :func:`_plain` accepts.
_plain_json = _sorted_compact()
_LEAVES = frozenset({str, bool, type(None)})


def canonical_json(value: object) -> bytes:
    """The RFC 8785 canonical form of ``value`` as UTF-8 bytes (see the module docstring)."""
    text = _plain_json(value) if _plain(value) else _encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start : error.end]
        raise ValueError(
            f"string contains a lone surrogate ({bad!a}): not valid Unicode, so it has "
            "no canonical JSON form"
        ) from None


def quoted(value: str | None) -> str:
    """A JSON string or ``null`` in canonical form; TypeError for anything else."""
    if type(value) is str:
        return _quote(value)
    if value is None:
        return "null"
    raise TypeError(f"{type(value).__name__} is not text")


def plain_json(value: object) -> str:
    """The canonical JSON text of a value made only of plain JSON types (see the module
    docstring); TypeError for any other value (:func:`canonical_json` handles those)."""
    if not _plain(value):
        raise TypeError("not a plain JSON value")
    return _plain_json(value)


def unchecked_plain_json(value: Any) -> str:
    """:func:`plain_json` of a value its caller built of plain JSON types only, checked on
    the way (a second walk to check it would cost as much as the encoding)."""
    return _plain_json(value)


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only exact JSON types, ASCII keys and safe integers (so that
    :mod:`json`'s encoder writes its canonical form)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            item_kind = type(item)
            if item_kind in _LEAVES:
                continue
            if item_kind is int:  # the other common member, checked here: no call per number
                if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    return False
            elif not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) in _LEAVES or _plain(item) for item in value)
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    return kind in _LEAVES


def _encode(value: Any) -> str:
    kind = type(value)
    # Exact types first (the common case, and cheaper than isinstance); subclasses below.
    if kind is str:
        return _quote(value)
    if kind is dict:
        return _object(value)
    if kind is int:
        return _integer(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is list or kind is tuple:
        return "[" + ",".join([_encode(item) for item in value]) + "]"
    return _encode_subclass(value)


def _encode_subclass(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # A float is a JSON number whose value we decline to hash: a ValueError, by contract.
        raise ValueError(  # noqa: TRY004
            f"floating-point number {value!r}: hashed content carries no floats "
            "(use an integer, or a string)"
        )
    if isinstance(value, int):
        return _integer(value)
    if isinstance(value, str):
        return _quote(value)  # the string's own characters, whatever its __str__ says
    if isinstance(value, dict):
        return _object(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join([_encode(item) for item in value]) + "]"
    raise TypeError(f"{type(value).__name__} is not a JSON type: {value!r}")


def _integer(value: int) -> str:
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return int.__repr__(value)
    raise ValueError(
        f"integer {value} is outside ±(2**53 - 1), the range JSON numbers hold exactly "
        "(send it as a string)"
    )


def _object(members: dict[Any, Any]) -> str:
    keys = list(members)
    try:
        ascii_only = all(map(str.isascii, keys))
    except TypeError:
        bad = next(key for key in keys if not isinstance(key, str))
        raise TypeError(
            f"object key {bad!r} is a {type(bad).__name__}; JSON object keys are strings"
        ) from None
    if ascii_only:
        keys.sort()  # code points and UTF-16 code units order ASCII alike
    else:
        keys.sort(key=_utf16)
    return "{" + ",".join([_quote(key) + ":" + _encode(members[key]) for key in keys]) + "}"


def _utf16(key: str) -> bytes:
    """Sort key: the UTF-16 code units of ``key`` (big-endian bytes compare like the units)."""
    return key.encode("utf-16-be", "surrogatepass")
