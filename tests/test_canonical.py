"""RFC 8785 canonical JSON (engine.canonical): the RFC's own examples, the restrictions we
chose (no floats, integers within ±(2**53 - 1)), and properties over random JSON values."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.canonical import MAX_SAFE_INTEGER, canonical_json
from engine.canonical import _encode as _general

# --- RFC 8785's examples, written down from the RFC text ---------------------------------

#: §3.2.2: the sample object, as JSON text (escapes and all); its "numbers" member is below.
RFC_SAMPLE_WITHOUT_NUMBERS = r"""{
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_SAMPLE_NUMBERS = r"[333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001]"


def test_rfc_sample_strings_and_literals_come_out_as_the_rfc_prints_them() -> None:
    """§3.2.2: members sorted, no whitespace, escapes minimal: "\\u000f", "\\n", '\\"',
    "\\\\", and the euro sign, "B" and "/" written as themselves."""
    value = json.loads(RFC_SAMPLE_WITHOUT_NUMBERS)
    expected = r"""{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"""
    assert expected.encode("utf-8") == canonical_json(value)


def test_rfc_sample_numbers_are_rejected_because_we_hash_no_floats() -> None:
    """§3.2.2's numbers are floats; this encoder refuses them with a ValueError that says so
    (DeskLedger events carry none, and auditors then need no number formatter)."""
    with pytest.raises(ValueError, match="floating-point number"):
        canonical_json({"numbers": json.loads(RFC_SAMPLE_NUMBERS)})


def test_rfc_sorting_example_orders_members_by_utf16_code_units() -> None:
    """§3.2.3: the emoji U+1F600 (surrogates D83D DE00) sorts before U+FB33, although its
    code point is larger; the other members sort as their code points do."""
    text = r"""{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"""
    expected_order = [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]
    output = canonical_json(json.loads(text))
    assert expected_order == list(json.loads(output).values())
    assert output.startswith(b'{"\\r":"Carriage Return","1":"One","\xc2\x80":"Control"')


def test_rfc_utf8_example_keeps_unnormalized_unicode_as_is() -> None:
    """§3.2.4: "A" followed by a combining ring is not normalized to "Å"; the output is UTF-8."""
    value = json.loads(r'{"Unnormalized Unicode":"A\u030a"}')
    expected = bytes.fromhex(
        "7b 22 55 6e 6e 6f 72 6d 61 6c 69 7a 65 64 20 55 6e 69 63 6f 64 65 22 3a 22 41 cc 8a 22 7d"
    )
    assert expected == canonical_json(value)


# --- the scalar rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, b"0"),
        (-1, b"-1"),
        (MAX_SAFE_INTEGER, b"9007199254740991"),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
        (None, b"null"),
        (True, b"true"),
        (False, b"false"),
        ("", b'""'),
        ([], b"[]"),
        ({}, b"{}"),
        ((1, "a"), b'[1,"a"]'),
        ([{"b": 1, "a": [2, {"d": None, "c": True}]}], b'[{"a":[2,{"c":true,"d":null}],"b":1}]'),
    ],
)
def test_scalars_and_containers_encode_as_jcs_prescribes(value: Any, expected: bytes) -> None:
    """Integers in decimal, literals lower case, tuples as arrays, members sorted at every
    depth, array order kept."""
    assert expected == canonical_json(value)


def test_negative_zero_from_json_text_is_plain_zero() -> None:
    """JSON text "-0" parses to the integer 0, which is written "0"."""
    assert b"0" == canonical_json(json.loads("-0"))


@pytest.mark.parametrize("value", [MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 10**30])
def test_integers_beyond_2_pow_53_are_rejected(value: int) -> None:
    """An integer a double cannot hold exactly raises ValueError instead of being rounded."""
    with pytest.raises(ValueError, match="outside"):
        canonical_json({"n": value})


@pytest.mark.parametrize("value", [0.5, 1.0, float("nan"), float("inf")])
def test_floats_are_rejected_with_a_message_saying_so(value: float) -> None:
    """Every float, integral or not finite, raises ValueError naming the problem."""
    with pytest.raises(ValueError, match="floating-point number"):
        canonical_json([value])


def test_control_characters_use_short_escapes_or_lowercase_u00xx() -> None:
    """U+0000..U+001F are escaped (\\b \\t \\n \\f \\r short, the rest as \\u00xx in lower case);
    DEL, U+2028 and everything above are written as themselves."""
    short = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}
    for code in range(0x20):
        expected = '"' + short.get(code, f"\\u{code:04x}") + '"'
        assert expected.encode() == canonical_json(chr(code)), hex(code)
    for char in ["\x7f", "\u2028", "\u2029", "/", "<", "\U0001f600", "\ufeff"]:
        assert f'"{char}"'.encode() == canonical_json(char)
    assert b'"\\"\\\\"' == canonical_json('"\\')


def test_every_code_point_is_escaped_exactly_as_the_rfc_says() -> None:
    """All 1,112,064 Unicode scalar values, checked against the rule written out by hand."""

    def by_the_rule(char: str) -> str:
        code = ord(char)
        if char in '"\\':
            return "\\" + char
        if code in (0x08, 0x09, 0x0A, 0x0C, 0x0D):
            return {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}[code]
        return f"\\u{code:04x}" if code < 0x20 else char

    wrong = [
        code
        for code in range(0x110000)
        if not 0xD800 <= code < 0xE000
        and canonical_json(chr(code)) != ('"' + by_the_rule(chr(code)) + '"').encode("utf-8")
    ]
    assert [] == wrong


def test_a_lone_surrogate_is_rejected_as_invalid_unicode() -> None:
    """JSON text "\\ud800" parses to a lone surrogate; it has no UTF-8 form, so ValueError."""
    with pytest.raises(ValueError, match="lone surrogate"):
        canonical_json({"text": json.loads(r'"\ud800"')})
    with pytest.raises(ValueError, match="lone surrogate"):
        canonical_json({json.loads(r'"\udc00"'): 1})


def test_non_string_keys_and_other_types_raise_type_error() -> None:
    """Object keys must be strings (no silent str() as json.dumps does); sets, bytes and other
    types are not JSON."""
    with pytest.raises(TypeError, match="object key 1 is a int"):
        canonical_json({1: "one"})
    for value in [{1, 2}, b"bytes", object()]:
        with pytest.raises(TypeError, match="is not a JSON type"):
            canonical_json(value)


def test_subclasses_of_json_types_encode_as_their_values() -> None:
    """A str or int subclass (an enum member, say) is written as its underlying value."""

    class Name(str):
        def __str__(self) -> str:
            return "not this"

    class Count(int):
        pass

    assert b'{"Name":7}' == canonical_json({Name("Name"): Count(7)})


# --- properties --------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)


@given(json_values)
def test_output_parses_back_to_the_same_value(value: Any) -> None:
    """Canonical JSON is JSON: json.loads gives back the value that was encoded."""
    assert value == json.loads(canonical_json(value))


@given(json_values)
def test_canonicalizing_canonical_output_changes_nothing(value: Any) -> None:
    """Idempotent: encoding the parsed output again yields the same bytes."""
    once = canonical_json(value)
    assert once == canonical_json(json.loads(once))


@given(st.dictionaries(st.text(), json_values, max_size=8), st.randoms(use_true_random=False))
def test_member_order_of_the_input_does_not_matter(members: dict[str, Any], rnd: Any) -> None:
    """The same members inserted in any order give the same bytes."""
    items = list(members.items())
    rnd.shuffle(items)
    assert canonical_json(members) == canonical_json(dict(items))


@given(st.dictionaries(st.text(), st.integers(0, 9), max_size=12))
def test_members_come_out_in_utf16_code_unit_order(members: dict[str, int]) -> None:
    """The written member names are sorted by their UTF-16 code units."""
    written = list(json.loads(canonical_json(members), object_pairs_hook=lambda pairs: pairs))
    names = [name for name, _ in written]
    assert sorted(names, key=lambda name: name.encode("utf-16-be")) == names


@given(json_values)
def test_without_astral_keys_output_equals_sorted_compact_json_dumps(value: Any) -> None:
    """Cross-check with the standard library: where code point and UTF-16 order agree (no key
    beyond U+FFFF), JCS is json.dumps with sorted keys, no spaces and UTF-8 output."""

    def astral_keys(item: Any) -> bool:
        if isinstance(item, dict):
            return any(
                max(key, default="\0") > "\uffff" or astral_keys(v) for key, v in item.items()
            )
        return isinstance(item, list) and any(astral_keys(v) for v in item)

    if not astral_keys(value):
        expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert expected.encode("utf-8") == canonical_json(value)


@given(json_values)
def test_the_fast_path_writes_what_the_general_encoder_writes(value: Any) -> None:
    """Plain values go through json's C encoder; every value written either way is the
    byte-for-byte output of the member-by-member encoder (or the same error)."""
    try:
        expected: bytes | type[Exception] = _general(value).encode("utf-8")
    except UnicodeEncodeError:
        expected = ValueError
    if isinstance(expected, bytes):
        assert expected == canonical_json(value)
    else:
        with pytest.raises(expected):
            canonical_json(value)
