"""The README's embedding example is executed exactly as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_has_one_embedding_example_of_about_twenty_lines() -> None:
    """The README shows one Python embedding example, short enough to read at a glance."""
    blocks = _python_blocks()
    assert len(blocks) == 1
    assert len(blocks[0].strip().splitlines()) <= 25


def test_readme_embedding_example_runs() -> None:
    """The embedding example runs and its own assertions hold."""
    namespace: dict[str, object] = {}
    exec(compile(_python_blocks()[0], str(README), "exec"), namespace)
    assert namespace["ticket"] is not None
