"""docs/hash-format.md is right: its worked example hashes as it says, and its OpenSSL
recipes, run as printed, accept a genuinely signed checkpoint statement and refuse a forged
one (signed with OpenSSL itself, and the way DeskLedger signs, with ``cryptography``)."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.canonical import canonical_json
from engine.hashformat import GENESIS, chain_step, hashed_content, line_hash

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "hash-format.md").read_text(encoding="utf-8")


def block(marker: str) -> str:
    """The fenced block that follows ``<!-- marker -->`` in the document."""
    found = re.search(rf"<!-- {re.escape(marker)} -->\n```\w*\n(.*?)```", DOC, re.DOTALL)
    assert found, f"no block marked {marker!r} in docs/hash-format.md"
    return found[1]


def test_the_documented_example_line_hashes_as_documented() -> None:
    """The example line's canonical form and hash are the ones printed, and so is the global
    chain head over it."""
    line = json.loads(block("example: line"))
    assert block("example: canonical").strip().encode("utf-8") == canonical_json(
        hashed_content(line)
    )
    assert block("example: hash").strip() == line["hash"] == line_hash(line)
    assert "42:" + chain_step(GENESIS, 42, line["hash"]) in DOC


def statement() -> dict[str, Any]:
    return {
        "format": 1,
        "store_id": "5f0c4d2e-7a43-5d0b-9a1e-0d3b8e6c2a11",
        "position": 1_000_000,
        "head": "8a6ff97d0067fdb4b6c92f891d62d0d2c6480887cb4c6e9816c9eb9fe9f4a205",
        "taken_at": "2026-03-02T12:00:00+00:00",
        "public_key": None,
        "signature": None,
    }


Signer = tuple[str, Callable[[bytes], str]]  # (raw public key hex, sign(message) -> hex)


def openssl_signer(workdir: Path) -> Signer:
    """An Ed25519 key OpenSSL generates, and signing with OpenSSL."""
    key = workdir / "signing-key.pem"
    openssl("genpkey", "-algorithm", "ed25519", "-out", str(key))
    spki = subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout

    def sign(message: bytes) -> str:
        (workdir / "to-sign.bin").write_bytes(message)
        openssl("pkeyutl", "-sign", "-inkey", str(key), "-rawin", "-in",
                str(workdir / "to-sign.bin"), "-out", str(workdir / "signed.bin"))  # fmt: skip
        return (workdir / "signed.bin").read_bytes().hex()

    return spki[-32:].hex(), sign  # the raw key: the last 32 bytes of its SubjectPublicKeyInfo


def cryptography_signer(workdir: Path) -> Signer:
    """sign(message) with the ``cryptography`` package, as DeskLedger makes its statements."""
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = ed25519.Ed25519PrivateKey.generate()
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    return key.public_key().public_bytes(*raw).hex(), lambda message: key.sign(message).hex()


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], capture_output=True, check=True)


def run_recipe(marker: str, workdir: Path, signed: dict[str, Any]) -> Any:
    (workdir / "statement.json").write_text(json.dumps(signed) + "\n", encoding="utf-8")
    return subprocess.run(
        ["bash", "-c", block(marker)], cwd=workdir, capture_output=True, text=True, check=False
    )


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@needs_openssl
@pytest.mark.parametrize("signer", [openssl_signer, cryptography_signer])
@pytest.mark.parametrize("marker", ["recipe: openssl", "recipe: openssl-jq"])
def test_openssl_recipe_accepts_a_signed_statement_and_refuses_a_forged_one(
    tmp_path: Path, signer: Callable[[Path], Signer], marker: str
) -> None:
    """The statement is signed over JCS(statement minus "signature"); the documented commands
    print "Signature Verified Successfully" for it and fail once its position is changed."""
    if marker.endswith("jq") and not (shutil.which("jq") and shutil.which("xxd")):
        pytest.skip("the jq recipe needs jq and xxd")
    public_key, sign = signer(tmp_path)
    signed = {**statement(), "public_key": public_key}
    unsigned = {key: value for key, value in signed.items() if key != "signature"}
    signed["signature"] = sign(canonical_json(unsigned))

    genuine = run_recipe(marker, tmp_path, signed)
    assert (0, "Signature Verified Successfully") == (genuine.returncode, genuine.stdout.strip())

    forged = run_recipe(marker, tmp_path, {**signed, "position": 999_999})
    assert 0 != forged.returncode
    assert "Signature Verification Failure" in forged.stdout + forged.stderr
