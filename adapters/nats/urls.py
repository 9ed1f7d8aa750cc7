"""Which NATS server to use, and whether its URL can work at all (checked before connecting).

``--nats-url``, else ``DESKLEDGER_NATS_URL`` (read by :class:`adapters.settings.Settings`),
else the caller's default (the relay's is
``nats://127.0.0.1:4222``; the demo starts an embedded server instead). A URL is one server
or several separated by commas, each ``nats://``, ``tls://``, ``ws://`` or ``wss://`` with a
host and an optional numeric port (a bare ``host:port`` means ``nats://host:port``). A URL
that breaks these rules is a :class:`NatsUrlError` at once, never 30 seconds of retries.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from adapters.nats.errors import NatsUrlError

NATS_URL_VARIABLE = "DESKLEDGER_NATS_URL"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
SCHEMES = ("nats", "tls", "ws", "wss")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)$")


def validate_nats_url(url: str) -> str:
    """Return ``url`` if every server in it is well formed; else raise :class:`NatsUrlError`."""
    servers = [part.strip() for part in url.split(",")]
    if not url.strip() or not all(servers):
        raise NatsUrlError(url, "empty server address (expected nats://host:port)")
    for server in servers:
        problem = _problem(server)
        if problem is not None:
            raise NatsUrlError(url, f"{problem} (expected nats://host:port)")
    websocket = {server.startswith(("ws://", "wss://")) for server in servers}
    if len(websocket) > 1:
        raise NatsUrlError(url, "mixes websocket and plain servers")
    return url


def server_list(url: str) -> list[str]:
    """The servers of a (validated) URL, as nats-py's ``connect(servers=...)`` takes them."""
    return [part.strip() for part in validate_nats_url(url).split(",")]


def _problem(server: str) -> str | None:
    if "://" not in server:
        server = f"nats://{server}"
    parts = urlsplit(server)
    if parts.scheme not in SCHEMES:
        return f"scheme {parts.scheme!r} is not one of {', '.join(s + '://' for s in SCHEMES)}"
    netloc = parts.netloc.rpartition("@")[2]
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"unexpected path or query {server[len(parts.scheme) + 3 + len(parts.netloc) :]!r}"
    if netloc.startswith("["):
        bracketed, _, rest = netloc.partition("]")
        host, port, has_port = bracketed + "]", rest[1:], rest.startswith(":")
    else:
        host, colon, port = netloc.partition(":")
        has_port = bool(colon)
    if not host:
        return "no host"
    if not _HOST.match(host):
        return f"host {host!r} is not a host name or address"
    if has_port and not port:
        return "empty port"
    if has_port and (not port.isdigit() or not 0 < int(port) < 65536):
        return f"port {port!r} is not a number from 1 to 65535"
    return None


def relay_nats_url(configured: str | None = None) -> str:
    """The relay's server: the configured one, else :data:`DEFAULT_NATS_URL`; validated."""
    return validate_nats_url(configured or DEFAULT_NATS_URL)
