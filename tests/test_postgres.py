"""PostgreSQL stores (issue 10): saves of any size, many processes on one schema, clear errors.

Every test here but the URL checks needs a reachable PostgreSQL (conftest: skipped without one,
failed under ``CI=true``); each gets schemas of its own.
"""

from __future__ import annotations

import pytest

from adapters.cli import main
from adapters.stores import StoreURLError, store_env

# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("port", "reason"),
    [("99999", "port 99999"), ("abc", "port 'abc'"), ("0", "port 0")],
)
def test_a_store_url_with_an_invalid_port_is_bad_input(
    port: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port that is not 1..65535 is a StoreURLError naming it, and exit 2 with one line."""
    url = f"postgresql://postgres@127.0.0.1:{port}/test"
    with pytest.raises(StoreURLError, match=reason):
        store_env(url)
    assert main(["--store", url, "show", "INC1"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("deskledger: error: store ")
    assert reason in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_password_never_appears_in_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Store errors name the URL with its password masked."""
    assert main(["--store", "postgresql://ann:s3cret@127.0.0.1:99999/test", "show", "INC1"]) == 2
    stderr = capsys.readouterr().err
    assert "s3cret" not in stderr
    assert "ann:***@127.0.0.1" in stderr
