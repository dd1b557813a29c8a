"""Faults below HTTP, done on the real socket: what a flaky network or a crashing upstream does to
a client, which an HTTP status cannot show (WireMock's `Fault` names, faults.spec.TRANSPORT_KINDS).

    CONNECTION_RESET_BY_PEER   SO_LINGER 0, then close: the kernel sends RST (ECONNRESET)
    EMPTY_RESPONSE             close without sending a byte
    MALFORMED_RESPONSE_CHUNK   a 200 status line and a chunked header, then a chunk that is not one, close
    RANDOM_DATA_THEN_CLOSE     bytes that are not HTTP at all, then close
    STALLED_BODY               the status, headers (the full Content-Length) and half the body, then
                               silence until the client leaves or `stall_ms` passes, then close

The route stage decides (and journals) the fault; this module only acts. It needs the socket, which
ASGI does not give an app: `FaultingProtocol`, the mock's own uvicorn protocol (`serve`,
`verify-client`), hands the transport over in the request scope's extensions.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import socket
import struct
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mock_server.server import logs
from mock_server.server.http_limits import GuardedHttpToolsProtocol

EXTENSION = "dumpling.transport"
RESET = "CONNECTION_RESET_BY_PEER"
EMPTY = "EMPTY_RESPONSE"
MALFORMED = "MALFORMED_RESPONSE_CHUNK"
RANDOM = "RANDOM_DATA_THEN_CLOSE"
STALLED = "STALLED_BODY"
MALFORMED_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"


class FaultingProtocol(GuardedHttpToolsProtocol):
    """The guarded httptools protocol, plus the transport in `scope["extensions"]`."""

    def on_headers_complete(self) -> None:
        self.scope.setdefault("extensions", {})[EXTENSION] = {"transport": self.transport}
        super().on_headers_complete()


def protocol(header_timeout_s: float) -> Any:
    """What `uvicorn.run(http=...)` takes; a partial of a module-level class pickles to workers."""
    return functools.partial(FaultingProtocol, header_timeout_s=header_timeout_s)


def wire_status(kind: str, status: int) -> int:
    """The status a fault puts on the wire, for the journal: the stalled response's own, the
    malformed one's 200 status line, none (0) for the others."""
    return status if kind == STALLED else 200 if kind == MALFORMED else 0


def garbage(seed: int, size: int = 64) -> bytes:
    """Deterministic bytes that no HTTP parser accepts (a NUL first), same seed = same bytes."""
    return b"\x00" + hashlib.blake2b(str(seed).encode(), digest_size=size - 1).digest()


class TransportFault(Response):
    """A 'response' that breaks the connection instead of answering (one of the kinds above)."""

    def __init__(
        self, kind: str, seed: int, status: int, headers: Mapping[str, str], body: bytes, stall_ms: int
    ) -> None:
        super().__init__(body, status_code=status or 200, headers=dict(headers))
        self.kind, self.seed, self.stall_ms = kind, seed, stall_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport: asyncio.Transport | None = (scope.get("extensions") or {}).get(EXTENSION, {}).get("transport")
        if transport is None:
            raise RuntimeError(f"{self.kind} needs the mock's own server (dumpling-mock serve or verify-client)")
        if self.kind == STALLED:
            await self._stall(transport, receive, send)
            return
        if self.kind == RESET:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            if self.kind == RANDOM:
                transport.write(garbage(self.seed))
            elif self.kind == MALFORMED:
                transport.write(MALFORMED_HEAD + b"zz\r\n" + garbage(self.seed) + b"\r\n")
            transport.close()
        await _disconnected(receive)

    async def _stall(self, transport: asyncio.Transport, receive: Receive, send: Send) -> None:
        body = self.body
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": body[: max(1, len(body) // 2)], "more_body": True})
        try:
            await asyncio.wait_for(_disconnected(receive), self.stall_ms / 1000)
        except TimeoutError:
            logs.EVENTS.info("stalled response closed after %d ms", self.stall_ms)
            transport.close()
            await _disconnected(receive)


async def _disconnected(receive: Receive) -> None:
    """Wait until uvicorn has seen the connection go (so it does not try to answer on it)."""
    while (await receive())["type"] != "http.disconnect":
        pass
