"""HTTP/1.1 limits uvicorn's httptools protocol does not have: a cap on the size and number of a
request's headers, and a deadline for receiving them (slow-header clients). uvicorn only times
out a connection that is idle AFTER a response; a client that connects and trickles its headers
would hold a connection (and, with a huge header, memory) forever.

Refusals happen before any route runs, so they cannot use an operation's documented examples;
they still answer in the contract's error shape, `{"error": "..."}`, and close the connection:

    431  request line + headers over MAX_HEADER_BYTES, or more than MAX_HEADERS header fields
    408  headers not complete within the client timeout (`--client-timeout`, default 10 s)
    400  not HTTP/1.x at all (uvicorn's "Invalid HTTP request received.")

A connection that sends nothing at all is closed silently at the deadline (as on keep-alive).

Per connection, memory stays bounded whatever the client does (a client that pipelines requests
and never reads its responses cannot grow the server or starve other clients):

- at most MAX_PIPELINED requests are parsed and queued behind the one being answered; bytes past
  them wait unparsed (one socket read at most) and reading pauses until the queue moves;
- unsent output pauses the connection at WRITE_HIGH_WATER bytes (uvicorn waits for the buffer to
  drain before the next response, so the queue does not move either).

A response sent before its request's body has fully arrived (a body over `--max-body-bytes`, or
not received within `--client-timeout`) carries `Connection: close`, and the connection closes
the way nginx's lingering close does: the answer is sent and the write side shut, then what the
client still sends is read and discarded for up to `--client-timeout` (or until it closes), so a
client that sends its whole body before reading (http.client) reads the answer instead of a reset,
and leftover body bytes are never parsed as another request. The refusals above close the same way.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import orjson
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

MAX_HEADER_BYTES = 16 * 1024  # request line + header names and values (h11's default limit)
MAX_HEADERS = 100  # header fields per request (Apache's LimitRequestFields)
MAX_PIPELINED = 16  # requests queued per connection behind the one being answered
FEED_BYTES = 4096  # the parser gets received bytes a slice at a time, so the queue limit holds
WRITE_HIGH_WATER = 64 * 1024  # unsent response bytes per connection before it stops answering


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; the refusal is in `_refusal`."""


class _Cycle(RequestResponseCycle):
    """uvicorn's request/response cycle, except that a response that starts before the request's
    body has fully arrived says `Connection: close`, and the protocol closes lingering once it is
    sent. (Swapping the class back once the body is complete made keep-alive requests ~2x slower.)"""

    closes_early = False

    async def send(self, message: Any) -> None:
        if self.more_body and not self.response_started and message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await super().send(message)
            self.keep_alive = True  # not closed abruptly by uvicorn: on_response_complete lingers
            self.closes_early = True
            return
        await super().send(message)


class _Flow(FlowControl):
    """uvicorn's flow control, except that reading stays paused while received bytes wait unparsed."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedHttpToolsProtocol) -> None:
        super().__init__(transport)
        self.protocol = protocol

    def resume_reading(self) -> None:
        if not self.protocol._held:
            super().resume_reading()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus header limits, a header deadline, bounded pipelining and
    output, and lingering close."""

    def __init__(self, *args: Any, header_timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self._header_timer: asyncio.TimerHandle | None = None
        self._waiting_bytes = 0  # bytes received while waiting for a request's headers
        self._header_bytes = 0  # exact size of the current request's line and headers
        self._header_count = 0
        self._refusal: tuple[int, str] | None = None
        self._held = b""  # received, not yet parsed: the pipelined queue is full
        self._paused_for_held = False
        self._linger_timer: asyncio.TimerHandle | None = None

    # --- the deadline: armed while waiting for headers, disarmed when they are complete ------------
    def _arm(self) -> None:
        self._disarm()
        self._waiting_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._waiting_bytes == 0:
            self.transport.close()  # an idle connection: nothing to answer
            return
        self._refuse(408, f"request headers not received within {self.header_timeout_s:g} s")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.flow = _Flow(transport, self)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        self._held = b""
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.__class__ = _Cycle  # same object, one method more (see _Cycle)

    def on_response_complete(self) -> None:
        cycle = self.cycle
        early = (
            cycle is not None and cycle.response_complete and (cycle.more_body or getattr(cycle, "closes_early", False))
        )
        if early and not self.transport.is_closing():
            self.server_state.total_requests += 1
            self._linger()  # answered before its body arrived: what follows is that body, not a request
            return
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self._arm()  # nothing pipelined is running: the next bytes are a new request's headers
        if self._held:
            self._feed(b"")

    # --- lingering close -----------------------------------------------------------------------------
    def _linger(self) -> None:
        """Shut the write side once the answer is out; read and discard until the client closes or
        the client timeout ends (nginx's lingering close), then close."""
        self._disarm()
        self._held = b""
        if self.transport.is_closing() or self._linger_timer is not None:
            return
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._linger_timer = self.loop.call_later(self.header_timeout_s, self.transport.close)
        self.flow.resume_reading()

    # --- the size limits ---------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._linger_timer is not None:
            return  # lingering: discarded
        if self._held or len(data) > FEED_BYTES:
            self._feed(data)
        else:
            self._parse(data)

    def _feed(self, data: bytes) -> None:
        """Parse a slice at a time while the pipelined queue has room; hold the rest, unread."""
        held = self._held + data if self._held else data
        offset = 0
        while offset < len(held) and len(self.pipeline) < MAX_PIPELINED:
            if self.transport.is_closing() or self._linger_timer is not None:
                self._held = b""
                return
            self._parse(held[offset : offset + FEED_BYTES])
            offset += FEED_BYTES
        if self.transport.is_closing() or self._linger_timer is not None:
            self._held = b""  # refused meanwhile: the rest is discarded, not held
            return
        self._held = held[offset:]
        if self._held:
            self.flow.pause_reading()
            self._paused_for_held = True
        elif self._paused_for_held:  # uvicorn's own pauses (a large body) stay as they are
            self._paused_for_held = False
            self.flow.resume_reading()

    def _parse(self, data: bytes) -> None:
        waiting = self._header_timer is not None
        if waiting:
            self._waiting_bytes += len(data)
        super().data_received(data)
        # Still waiting after this chunk: everything received so far is request line and headers,
        # which httptools buffers whole; stop before that buffer outgrows the limit.
        if waiting and self._header_timer is not None and self._waiting_bytes > MAX_HEADER_BYTES:
            self._refuse(431, _too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._header_count = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), 1)
        super().on_header(name, value)

    def _count(self, size: int, fields: int) -> None:
        self._header_bytes += size
        self._header_count += fields
        if self._header_bytes > MAX_HEADER_BYTES or self._header_count > MAX_HEADERS:
            self._refusal = (431, _too_large())
            raise _Refused  # httptools turns it into a parser error: uvicorn calls send_400_response

    # --- answers -------------------------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        status, message = self._refusal or (400, msg)
        self._refuse(status, message)

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        self.logger.warning("refused a request: %s %s", status, message)
        body = orjson.dumps({"error": message})
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\ncontent-length: ",
            str(len(body)).encode(),
            b"\r\nconnection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self._linger()


def _too_large() -> str:
    return f"request headers too large: more than {MAX_HEADER_BYTES} bytes or {MAX_HEADERS} fields"


def protocol(header_timeout_s: float) -> Any:
    """What `uvicorn.run(http=...)` takes; a partial of a module-level class pickles to workers."""
    return functools.partial(GuardedHttpToolsProtocol, header_timeout_s=header_timeout_s)
