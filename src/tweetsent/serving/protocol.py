"""uvicorn's h11 protocol with a deadline for each request's headers.

uvicorn times out idle keep-alive connections (``timeout_keep_alive``) but has no limit on how
long a client may take to send a request's headers, nor on a connection that sends nothing at
all: a client writing its headers a byte every few seconds holds a connection (and its socket)
for as long as it likes, and a few hundred such clients exhaust the server ("slowloris"). h11
has no such timer either, so this small subclass adds one at the product's edge: from the moment
a connection opens, or a new request's first byte arrives, its headers must be complete within
``header_timeout`` seconds, or the server answers 408 and closes the connection. The request
body has its own deadline in the application (``read_body``).
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: 51\r\n\r\n"
    b'{"detail": "request headers not received in time"}\n'
)


class HeaderTimeoutH11Protocol(H11Protocol):
    """``H11Protocol`` that closes a connection whose request headers are late."""

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is covered too

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # (part of) a request line or headers so far
            self._arm()
        else:  # headers complete: the body and the response have their own limits
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None and not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response is still being sent (pipelining): not idle
        logger.debug(
            "%s: request headers not received in %g s; closed", self.client, self.header_timeout
        )
        self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def protocol_class(header_timeout: float) -> type[HeaderTimeoutH11Protocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``, with this deadline."""
    return type(
        "HeaderTimeoutH11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout": header_timeout}
    )
