"""Per-connection bounds below the routes (mock_server/server/http_limits.py), on a live server over raw
sockets: a pipelining client that never reads cannot grow the server or starve others; a refused
body is answered and the connection closed the way nginx's lingering close does; bodies (API and
admin) get the `--client-timeout` deadline, and the connection ends with the answer."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO_KEY, ENDPOINT, LiveMock

TIMEOUT_S = 2.0  # --client-timeout of the mock under test
MAX_BODY = 65536  # the default --max-body-bytes


@pytest.fixture(scope="module")
def mock() -> Iterator[LiveMock]:
    started = LiveMock(["--client-timeout", str(TIMEOUT_S)]).start()
    yield started
    started.stop()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def read_until_eof(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it shuts its side, and when that happened."""
    started = time.monotonic()
    sock.settimeout(limit_s)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, time.monotonic() - started
        data += chunk


def post_head(length: int, path: str = ENDPOINT, method: str = "POST") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {DEMO_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_pipelining_client_that_never_reads_neither_grows_the_server_nor_starves_others(mock: LiveMock) -> None:
    assert mock.proc is not None
    before = rss_mb(mock.proc.pid)
    request = b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n"
    chunk = request * (65536 // len(request))
    flood = socket.create_connection(("127.0.0.1", mock.port))
    flood.settimeout(0.25)
    sent, started = 0, time.monotonic()
    try:
        while sent < 8_000_000 and time.monotonic() - started < 3:  # ~190,000 requests, never read
            try:
                sent += flood.send(chunk)
            except TimeoutError:
                pass
        other_started = time.monotonic()
        other = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=5)
        other.request("GET", "/__admin/health")
        response = other.getresponse()
        assert response.status == 200 and b'"ok"' in response.read()
        assert time.monotonic() - other_started < 2.0  # served at once, not after the flood
        grown = rss_mb(mock.proc.pid) - before
    finally:
        flood.close()
    assert sent > 500_000  # the flood did reach the server (bounded by socket buffers)
    assert grown < 30, f"the server grew by {grown:.0f} MB"  # unbounded: ~350 MB for these 8 MB


def test_http_client_sending_a_whole_oversize_body_reads_the_documented_400(mock: LiveMock) -> None:
    body = b'{"handle": "' + b"x" * 4_000_000 + b'"}'
    connection = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=10)
    connection.request(
        "POST", ENDPOINT, body=body, headers={"Authorization": f"Bearer {DEMO_KEY}", "Content-Type": "application/json"}
    )
    response = connection.getresponse()
    assert response.status == 400
    assert response.read() == b'{"error":"Invalid JSON in request body"}'
    assert response.getheader("connection") == "close"


def test_a_refused_body_is_discarded_then_the_connection_closes(mock: LiveMock) -> None:
    body = b"x" * 1_000_000  # sent whole before reading, as http.client does
    with socket.create_connection(("127.0.0.1", mock.port)) as sock:
        sock.sendall(post_head(len(body)) + body)
        data, _ = read_until_eof(sock, 10)
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 ") and b"connection: close" in head.lower()
        assert rest == b'{"error":"Invalid JSON in request body"}'  # one answer: no 431 for leftover body bytes
        # The server reads and discards for at most --client-timeout, then closes.
        started = time.monotonic()
        with pytest.raises(OSError):
            while time.monotonic() - started < TIMEOUT_S + 3:
                sock.sendall(b"y" * 1024)
                time.sleep(0.05)
        assert time.monotonic() - started < TIMEOUT_S + 2


@pytest.mark.parametrize(
    "head, partial",
    [(post_head(40), b'{"handle"'), (post_head(60, "/__admin/keys", "PUT"), b'{"key": "sk_slow_0001", ')],
    ids=["api", "admin"],
)
def test_an_unfinished_body_is_answered_at_the_client_timeout_and_the_connection_ends(
    mock: LiveMock, head: bytes, partial: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", mock.port)) as sock:
        sock.sendall(head + partial)
        data, elapsed = read_until_eof(sock, TIMEOUT_S * 4)
    status, _, rest = data.partition(b"\r\n")
    assert status == b"HTTP/1.1 400 Bad Request"
    assert f"not received within {TIMEOUT_S:g} s".encode() in rest or b"Invalid JSON in request body" in rest
    assert TIMEOUT_S - 0.2 <= elapsed < TIMEOUT_S * 1.75, elapsed  # not twice the timeout


def test_a_pipelining_client_that_reads_gets_every_answer_in_order(mock: LiveMock) -> None:
    body = b'{"handle": "videos-2"}'
    post = post_head(len(body)) + body
    health = b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n"
    requests = [post if i % 3 == 0 else health for i in range(120)]  # far past the queue of 16
    with socket.create_connection(("127.0.0.1", mock.port)) as sock:
        sock.sendall(b"".join(requests) + b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, _ = read_until_eof(sock, 20)
    assert data.count(b"HTTP/1.1 ") == data.count(b"HTTP/1.1 200 OK\r\n") == 121
    answers = [b"aweme_list" if b'"aweme_list"' in part else b"ok" for part in data.split(b"HTTP/1.1 200 OK\r\n")[1:]]
    assert answers == [b"aweme_list" if i % 3 == 0 else b"ok" for i in range(120)] + [b"ok"]  # in order
