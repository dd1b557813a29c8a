"""Tests only: a hostile target for the contract kit and hostile upstream for the proxy, on a
loopback port. The first path segment picks the behaviour (`http://127.0.0.1:PORT/<mode>` is the
base URL), so one server serves every test:

* `echo401`, `echo403`: the documented status, with a body that echoes the caller's key as is,
  JSON-escaped and percent-encoded;
* `echo200`: a 200 whose fields are the key (the proxy's violations then quote it);
  `echo_body`: a 200 whose fields are the request body, as text;
* `redirect`: 302 to `/<mode>/landing?api_key=<key, percent-encoded>`; the landing page answers a
  200 that breaks the contract (so findings quote the request URL);
* `redirect_away`: 302 to a closed port, with the key in the URL (the connection error quotes it);
* `huge`: a 200 with a 64 MiB Content-Length body; `endless`: a chunked body that never ends;
* `gzip_bomb`: 64 MiB of zeros, gzip-compressed (64 KiB on the wire); `gzip_endless`: gzip
  members of 16 MiB of zeros, one after the other, forever;
* `trickle`: a 200 whose body arrives one byte every 0.2 s, forever.

"Endless" bodies stop after `ENDLESS_BYTES` (16 times the 8 MiB cap, after decompression) and a
trickle after `TRICKLE_FOR_S`, so that a regression fails a test instead of eating the machine.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRICKLE_EVERY_S = 0.2
TRICKLE_FOR_S = 60.0
ENDLESS_BYTES = 128 * 1024 * 1024


@functools.cache
def gzip_of_zeros(mebibytes: int) -> bytes:
    return gzip.compress(b"\0" * (mebibytes * 1024 * 1024), compresslevel=9)


def percent_all(text: str) -> str:
    """Every character percent-encoded, even those a URL could carry as is."""
    return "".join(f"%{b:02X}" for b in text.encode())


def json_escaped(text: str) -> str:
    """Every character as a JSON \\u escape."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


class HostileTarget:
    def __init__(self) -> None:
        self.stopping = threading.Event()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                target.answer(self)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}"

    def start(self) -> HostileTarget:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    # --- behaviours ---------------------------------------------------------------------------
    def answer(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        sent = h.rfile.read(length).decode("utf-8", "replace") if length else ""
        mode, _, rest = h.path.lstrip("/").partition("/")
        key = (h.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        try:
            if mode in ("echo401", "echo403"):
                error = f"Invalid API key {key} ({json_escaped(key)}, {percent_all(key)})"
                self.send(h, int(mode[-3:]), json.dumps({"error": error}).encode())
            elif mode == "echo200":
                self.send(
                    h,
                    200,
                    json.dumps(
                        {"aweme_list": key, "has_more": key, "max_cursor": json_escaped(key), key: key}
                    ).encode(),
                )
            elif mode == "echo_body":
                self.send(h, 200, json.dumps({"aweme_list": sent, "has_more": sent, sent: 1}).encode())
            elif mode == "redirect" and not rest.startswith("landing"):
                self.send(h, 302, b"", [("Location", f"/{mode}/landing?api_key={percent_all(key)}")])
            elif mode == "redirect":
                self.send(h, 200, b'{"aweme_list": "not a list"}')
            elif mode == "redirect_away":
                with socket.socket() as closed:
                    closed.bind(("127.0.0.1", 0))
                    port = closed.getsockname()[1]
                self.send(
                    h, 302, b"", [("Location", f"http://127.0.0.1:{port}/landing?api_key={percent_all(key)}&k={key}")]
                )
            elif mode == "huge":
                self.stream(
                    h, [("Content-Length", str(64 * 1024 * 1024))], (b"[" + b"0," * 32767 + b"0]" for _ in range(1024))
                )
            elif mode == "endless":
                self.stream(
                    h,
                    [("Transfer-Encoding", "chunked")],
                    self.chunked(b"0," * 32768 for _ in range(ENDLESS_BYTES // 65536)),
                )
            elif mode == "gzip_bomb":
                self.send(h, 200, gzip_of_zeros(64), [("Content-Encoding", "gzip")])
            elif mode == "gzip_endless":
                member = gzip_of_zeros(16)
                self.stream(
                    h,
                    [("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")],
                    self.chunked(member for _ in range(ENDLESS_BYTES // (16 * 1024 * 1024))),
                )
            elif mode == "trickle":
                self.stream(h, [("Transfer-Encoding", "chunked")], self.chunked(self.trickled()))
            else:
                self.send(h, 404, b'{"error": "unknown mode"}')
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def send(
        self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        for name, value in headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def stream(self, h: BaseHTTPRequestHandler, headers: Sequence[tuple[str, str]], chunks: Iterable[bytes]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        for name, value in headers:
            h.send_header(name, value)
        h.end_headers()
        h.close_connection = True
        for chunk in chunks:
            if self.stopping.is_set():
                return
            h.wfile.write(chunk)
            h.wfile.flush()

    def chunked(self, parts: Iterable[bytes]) -> Iterator[bytes]:
        for part in parts:
            yield b"%x\r\n%s\r\n" % (len(part), part)
        yield b"0\r\n\r\n"

    def trickled(self) -> Iterator[bytes]:
        ends = time.monotonic() + TRICKLE_FOR_S
        while not self.stopping.is_set() and time.monotonic() < ends:
            yield b"{"
            time.sleep(TRICKLE_EVERY_S)
