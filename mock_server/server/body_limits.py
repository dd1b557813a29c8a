"""A response body read under a size cap, decompressed under the same cap: what the proxy reads
from an upstream and the contract kit from a target. A hostile peer (an endless body, a gzip bomb)
costs at most the cap, never the memory of the process.

The cap counts bytes after decompression; `gzip`, `x-gzip` and `deflate` (zlib or raw) are
decoded here, chunk by chunk, never producing more than the cap allows. Any other encoding is kept
as received (`decoded` is False), under the same cap.
"""

from __future__ import annotations

import zlib

from mock_server.exceptions import BodyTooLarge

MAX_RESPONSE_BYTES = 8 * 1024 * 1024  # a real page is under 100 KiB
DECODED = frozenset({"gzip", "x-gzip", "deflate"})


class CappedBody:
    """Feed the body as it arrives; `feed` raises BodyTooLarge past the cap, `finish` gives the body."""

    def __init__(self, content_encoding: str | None, cap: int = MAX_RESPONSE_BYTES) -> None:
        self.cap = cap
        self.encoding = (content_encoding or "").strip().lower()
        self.decoded = self.encoding in DECODED or self.encoding in ("", "identity")
        self._decoder: zlib._Decompress | None = None
        self._chunks: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.encoding not in DECODED:
            self._keep(chunk)
            return
        data = chunk
        while data:
            decoder = self._decoder or self._new_decoder(data)
            out = decoder.decompress(data, self.cap - self._size + 1)  # never more than the cap allows
            self._keep(out)
            data = decoder.unconsumed_tail
            if decoder.eof:  # a gzip body may hold several members, one after the other
                data = decoder.unused_data + data
                self._decoder = None

    def finish(self) -> bytes:
        if self._decoder is not None:
            self._keep(self._decoder.flush(self.cap - self._size + 1))
        return b"".join(self._chunks)

    def _new_decoder(self, first: bytes) -> zlib._Decompress:
        if self.encoding == "deflate" and not _zlib_header(first):
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
        else:
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, by its header
        return self._decoder

    def _keep(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        if self._size > self.cap:
            self._chunks.append(data)
            raise BodyTooLarge(self.cap, b"".join(self._chunks)[: self.cap])
        self._chunks.append(data)


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
