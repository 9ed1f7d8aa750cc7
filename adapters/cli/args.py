"""Reading command-line values: instants, durations, files, log levels — each a clear error."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adapters.cli.errors import UsageError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def instant(text: str, option: str) -> datetime:
    """An ISO-8601 instant with an offset, or a date (``2016-03-01`` = 00:00 UTC)."""
    value = text.strip()
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as error:
            raise UsageError(f"{option}: {text!r} is not a valid date ({error})") from None
        if not 1900 <= day.year <= 9000:
            raise UsageError(f"{option}: {text!r} is outside the years 1900 to 9000")
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not an ISO-8601 instant "
            "(e.g. 2026-03-02T09:00:00+00:00) or a date (2026-03-02)"
        ) from None
    if parsed.tzinfo is None:
        raise UsageError(f"{option}: {text!r} needs a UTC offset (e.g. +00:00 or Z)")
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        raise UsageError(f"{option}: {text!r} is out of range") from None
    if not 1900 <= moment.year <= 9000:
        raise UsageError(f"{option}: {text!r} is outside the years 1900 to 9000")
    return parsed


def optional_instant(text: str | None, option: str) -> datetime | None:
    return None if text is None else instant(text, option)


def log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise UsageError(f"--log-level: {text!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def read_text(path: str, what: str) -> str:
    """A text file's content; UsageError naming the file and what is wrong."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{what} {path}: is a directory, not a file") from None
    except OSError as error:
        raise UsageError(f"{what} {path}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{what} {path}: not UTF-8 text (byte {error.start}: {data[error.start]:#04x})"
        ) from None


def read_yaml(path: str, what: str) -> Any:
    """A YAML file's content (policy, scenario); UsageError on unreadable or invalid YAML."""
    import yaml  # noqa: PLC0415 - only commands that read YAML pay for it

    content = read_text(path, what)
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise UsageError(f"{what} {path}: invalid YAML: {problem}") from None
