"""Output: text a user typed is printed as text, tables are readable, JSON is JSON.

Every value that came from a user or a file goes through :func:`safe`: rich never interprets
it as markup (``[/g]`` is printed as ``[/g]``), and control characters (ESC, BEL, bidi
overrides...) are shown as escapes (``\\x1b``) instead of reaching the terminal. Consoles are
built when first used, never at import time; when stdout is not a terminal, output is plain
(no colour, no box drawing that depends on the terminal's width).
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

_VISIBLE_WHITESPACE = {"\n", "\t"}
#: The width of the plain console (stdout not a terminal): see :func:`stdout`.
PLAIN_WIDTH = 140


def safe(value: object) -> str:
    """``value`` as text with every control or format character made visible."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or char in _VISIBLE_WHITESPACE or char == " ":
            out.append(char)
        elif unicodedata.category(char) in {"Zs", "Zl", "Zp"}:
            out.append(" ")
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def text(value: object, style: str = "") -> Text:
    """A rich Text holding ``value`` literally (never parsed as markup)."""
    from rich.text import Text  # noqa: PLC0415 - rich only where output is drawn

    return Text(safe(value), style=style)


@cache
def stdout() -> Console:
    from rich.console import Console  # noqa: PLC0415

    class PipedConsole(Console):
        """Rich exits 1 when the reader goes away (``deskledger report | head``); the CLI
        treats that as the reader's choice, as it does for every other command: exit 0."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    plain = not sys.stdout.isatty()
    return PipedConsole(
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
        width=PLAIN_WIDTH if plain else None,
        no_color=plain,
    )


@cache
def stderr() -> Console:
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True, markup=False, emoji=False, highlight=False)


def table(title: object, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """A table whose every cell is literal text."""
    from rich.table import Table  # noqa: PLC0415

    result = Table(title=text(title), title_justify="left", box=_box())
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*(text("" if cell is None else cell) for cell in row))
    return result


def pairs(title: object, items: Iterable[tuple[str, object]]) -> Table:
    """A two-column key/value table."""
    from rich.table import Table  # noqa: PLC0415

    result = Table(title=text(title), title_justify="left", show_header=False, box=_box())
    for key, value in items:
        result.add_row(text(key), text("" if value is None else value))
    return result


def show_pairs(title: object, items: Iterable[tuple[str, object]]) -> None:
    """:func:`pairs` on stdout. When stdout is not a terminal and every cell is plain ASCII
    that fits on its line, the table is written directly, as rich writes it (tested against
    rich): ``show`` and scripts then need not import rich at all."""
    rows = list(items)
    if not sys.stdout.isatty():
        written = plain_pairs(title, rows)
        if written is not None:
            sys.stdout.write(written)
            return
    show(pairs(title, rows))


def plain_pairs(title: object, items: Sequence[tuple[str, object]]) -> str | None:
    """The text rich prints for ``pairs(title, items)`` on the plain console, when the
    layout is the simple one (no cell wraps, every character one column wide); else None."""
    heading = safe(title)
    cells = [(safe(key), safe("" if value is None else value)) for key, value in items]
    if not cells or not _one_column_each(heading) or heading == "":
        return None
    if not all(_one_column_each(key) and _one_column_each(value) for key, value in cells):
        return None
    keys = max(len(key) for key, _ in cells)
    values = max(len(value) for _, value in cells)
    width = keys + values + 7  # "| " + key + " | " + value + " |"
    if width > PLAIN_WIDTH or len(heading) > width:
        return None
    rule = "+" + "-" * (width - 2) + "+"
    body = [f"| {key.ljust(keys)} | {value.ljust(values)} |" for key, value in cells]
    return "\n".join([heading.ljust(width), rule, *body, rule, ""])


def _one_column_each(text: str) -> bool:
    """Printable ASCII only (each character one column wide), without leading or trailing
    spaces (which rich's layout may treat differently)."""
    return text.isascii() and text.isprintable() and text == text.strip()


def line(message: object, style: str = "") -> None:
    """One line of literal text on stdout (never wrapped: scripts read it whole). When stdout
    is not a terminal and the line is plain, it is written directly, as rich writes it
    (tested against rich): a command that prints one line then need not import rich."""
    if not sys.stdout.isatty():
        written = plain_line(message)
        if written is not None:
            sys.stdout.write(written)
            return
    stdout().print(text(message, style), soft_wrap=True)


def plain_line(message: object) -> str | None:
    """The text rich prints for ``line(message)`` on the plain console when the line is
    printable ASCII without leading or trailing spaces; else None."""
    literal = safe(message)
    return literal + "\n" if literal and _one_column_each(literal) else None


def show(renderable: object) -> None:
    stdout().print(renderable)


def emit_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (datetimes and the like as strings)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def emit_json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")


def _box() -> Any:
    """Box drawing on a terminal; plain ASCII when the output goes to a file or a pipe."""
    from rich import box  # noqa: PLC0415

    return box.HEAVY_HEAD if sys.stdout.isatty() else box.ASCII
