"""Run the relay in a background thread, for synchronous programs (the demo).

``with RelayThread(desk, url) as relay: ...; relay.wait_for(position)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from types import TracebackType
from typing import Any, Self

from adapters.nats.relay import Relay
from adapters.nats.subjects import DEFAULT_STREAM
from engine.application import Desk


class RelayThread:
    """:meth:`Relay.run_forever` in a daemon thread with its own event loop.

    A failure that stops the relay (an unreadable event, a wrong stream) is kept in
    ``error`` for the owner to inspect; :meth:`wait_for` then returns False at once.
    """

    def __init__(self, desk: Desk, nats_url: str, stream: str = DEFAULT_STREAM, **options: Any):
        self.relay = Relay(desk, nats_url, stream, **options)
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._main, name="deskledger-relay", daemon=True)
        self._thread.start()
        self._ready.wait()
        return self

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self.relay.run_forever(self._stop)

        try:
            asyncio.run(main())
        except BaseException as error:  # noqa: BLE001 - kept for the owner thread to inspect
            self.error = error
            self._ready.set()

    def wait_for(self, position: int, timeout: float = 30.0) -> bool:
        """Wait until the stream holds every event up to ``position``; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.relay.stats.position < position:
            if self.error is not None or time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
