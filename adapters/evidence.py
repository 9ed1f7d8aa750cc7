"""Checkpoints an auditor keeps outside the operator's control, signed with Ed25519.

A checkpoint statement (``docs/hash-format.md`` section 6) says: the log of store S had chain
head H at position P, at time T; signed, it also says who said so. ``deskledger keygen`` makes
a key pair, ``deskledger checkpoint`` makes (and signs) a statement, and ``deskledger verify
--checkpoint FILE`` checks every statement of a file — its signature, its store, and its head
against the log — narrowing a rewrite to the range between the last confirmed and the first
refuted one. The ``cryptography`` package does the Ed25519 arithmetic.

Errors::

    DeskLedgerError
    └── EvidenceError   (ValueError)   an unreadable key or checkpoint file, a bad signature
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.canonical import canonical_json
from engine.errors import DeskLedgerError
from engine.verify import parse_checkpoint

STATEMENT_FORMAT = 1
_KEYS = ("format", "store_id", "position", "head", "taken_at", "public_key", "signature")


class EvidenceError(DeskLedgerError, ValueError):
    """A key or checkpoint file that cannot be used, or a signature that does not verify."""


@dataclass(frozen=True)
class Statement:
    """One checkpoint statement."""

    store_id: str
    position: int
    head: str
    taken_at: str
    public_key: str | None = None
    signature: str | None = None
    source: str = field(default="", compare=False)

    def unsigned(self) -> dict[str, Any]:
        return {
            "format": STATEMENT_FORMAT,
            "store_id": self.store_id,
            "position": self.position,
            "head": self.head,
            "taken_at": self.taken_at,
            "public_key": self.public_key,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.unsigned(), "signature": self.signature}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), separators=(", ", ": "))


def keygen(prefix: Path) -> str:
    """Write ``PREFIX.key`` (private, PEM, readable only by its owner) and ``PREFIX.pub``
    (public, PEM); return the raw public key in hex. Never overwrites a file."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    try:
        private, public = prefix.with_suffix(".key"), prefix.with_suffix(".pub")
    except ValueError:  # "" or "/": nothing to add a suffix to
        raise EvidenceError(f"{str(prefix)!r}: not a file name to write keys to") from None
    key = Ed25519PrivateKey.generate()
    try:
        for path in (private, public):
            if path.exists():
                raise EvidenceError(f"{path}: already exists; choose another --out or move it away")
            if not path.parent.is_dir():
                raise EvidenceError(f"{path}: directory {path.parent} does not exist")
        secret = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secret)
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    except OSError as error:  # a name too long, a folder that is not writable...
        raise EvidenceError(f"{prefix}: cannot write the keys ({error.strerror})") from None
    return _raw_public(key.public_key())


def sign(statement: Statement, key_file: Path) -> Statement:
    """``statement`` signed with the private key in ``key_file`` (PEM)."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise EvidenceError(
            f"{key_file}: not an unencrypted Ed25519 private key ({error})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{key_file}: not an Ed25519 private key")
    public = _raw_public(key.public_key())
    unsigned = Statement(
        statement.store_id, statement.position, statement.head, statement.taken_at, public
    )
    signature = key.sign(canonical_json(unsigned.unsigned())).hex()
    return Statement(
        store_id=unsigned.store_id,
        position=unsigned.position,
        head=unsigned.head,
        taken_at=unsigned.taken_at,
        public_key=public,
        signature=signature,
    )


def trusted_key(path: Path) -> str:
    """The raw public key (hex) of a PEM public key file, or of a file holding the hex."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: PLC0415

    try:
        data = path.read_bytes()
    except OSError as error:
        raise EvidenceError(f"{path}: {error.strerror or error}") from None
    text = data.decode("ascii", "replace").strip()
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as error:
        raise EvidenceError(f"{path}: not an Ed25519 public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(f"{path}: not an Ed25519 public key")
    return _raw_public(key)


def check_signature(statement: Statement, trusted: str | None) -> str | None:
    """Why the statement's signature cannot be accepted (None: it can). Unsigned statements
    are accepted only when no key is required."""
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: PLC0415

    if statement.signature is None:
        return "the statement is not signed" if trusted is not None else None
    if statement.public_key is None:
        return "the statement is signed but names no public key"
    if trusted is not None and statement.public_key.lower() != trusted:
        return "it is signed with another key than the trusted one"
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(statement.public_key))
        key.verify(bytes.fromhex(statement.signature), canonical_json(statement.unsigned()))
    except (ValueError, InvalidSignature):
        return "the signature does not verify (the statement or its signature was changed)"
    return None


def read_statements(path: Path) -> list[Statement]:
    """Every statement of a checkpoint file (JSON Lines); EvidenceError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EvidenceError(f"checkpoint file {path}: cannot read it ({error})") from None
    statements = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"checkpoint file {path}, line {number}"
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise EvidenceError(f"{where}: not JSON ({error})") from None
        statements.append(_statement(body, where))
    if not statements:
        raise EvidenceError(f"checkpoint file {path}: holds no statement")
    return statements


def _statement(body: Any, where: str) -> Statement:
    if not isinstance(body, dict):
        raise EvidenceError(f"{where}: not a JSON object")
    try:
        position, head = parse_checkpoint(f"{body['position']}:{body['head']}")
        return Statement(
            store_id=str(body["store_id"]),
            position=position,
            head=head,
            taken_at=str(body.get("taken_at", "")),
            public_key=body.get("public_key"),
            signature=body.get("signature"),
            source=where,
        )
    except (KeyError, ValueError) as error:
        raise EvidenceError(f"{where}: not a checkpoint statement ({error})") from None


def statement_for(store_id: str, head: str, taken_at: datetime) -> Statement:
    """The statement of a store's head ``<position>:<hash>`` at ``taken_at``."""
    position, digest = parse_checkpoint(head)
    return Statement(store_id, position, digest, taken_at.isoformat())


@dataclass(frozen=True)
class Rejected:
    """A statement refused before its head was compared (signature, store)."""

    statement: Statement
    reason: str


def sort_out(
    statements: Sequence[Statement], store_id: str, trusted: str | None
) -> tuple[list[Statement], list[Rejected]]:
    """The statements whose signature and store check out, and those that do not."""
    usable, rejected = [], []
    for statement in statements:
        why = check_signature(statement, trusted)
        if why is None and statement.store_id != store_id:
            why = f"it is about store {statement.store_id}, not this store ({store_id})"
        if why is None:
            usable.append(statement)
        else:
            rejected.append(Rejected(statement, why))
    return usable, rejected


def _raw_public(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    raw: bytes = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


__all__ = [
    "EvidenceError",
    "Rejected",
    "Statement",
    "check_signature",
    "keygen",
    "read_statements",
    "sign",
    "sort_out",
    "statement_for",
    "trusted_key",
]
