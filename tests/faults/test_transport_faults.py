"""Faults below HTTP (mock_server/faults/transport.py), observed by a raw socket client: what the
bytes on the wire are, how the connection ends, and what the journal and the ledger recorded.
The mock runs with its own uvicorn protocol in a thread (verify_client.running), as `serve` does.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import ENDPOINT

from mock_server.app.factory import create_app
from mock_server.faults.transport import MALFORMED_HEAD, garbage
from mock_server.settings import Settings
from mock_server.testing.verify_client import running

BODY = json.dumps({"handle": "videos-25"}).encode()
REQUEST = (
    f"POST {ENDPOINT} HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer sk_mock_demo\r\n"
    f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
).encode() + BODY
STALL_MS = 400


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running(create_app(Settings(seed=9)), "warning") as url:
        yield url


def exchange(base_url: str, read_s: float = 5.0) -> tuple[bytes, str, float]:
    """Send one request on a fresh socket and read until the server ends the connection:
    (bytes received, how it ended: 'eof' or 'reset', seconds until then)."""
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=read_s) as sock:
        sock.sendall(REQUEST)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return received, "reset", time.monotonic() - started
    return received, "eof", time.monotonic() - started


def test_each_connection_fault_happens_on_the_socket_and_in_the_journal(base_url: str) -> None:
    admin = httpx.Client(base_url=base_url, trust_env=False)
    credits = admin.get("/__admin/keys").json()["keys"]
    admin.delete("/__admin/requests")
    steps = ["reset", "EMPTY_RESPONSE", "malformed", "RANDOM_DATA_THEN_CLOSE", {"kind": "stall", "stall_ms": STALL_MS}]
    assert admin.post("/__admin/faults", json={"steps": steps}).status_code == 200

    reset = exchange(base_url)
    assert reset[:2] == (b"", "reset"), "RST: ECONNRESET, not an orderly close"
    assert exchange(base_url)[:2] == (b"", "eof"), "closed without a byte"
    malformed, how, _ = exchange(base_url)
    assert how == "eof" and malformed == MALFORMED_HEAD + b"zz\r\n" + garbage(9) + b"\r\n"
    assert exchange(base_url)[:2] == (garbage(9), "eof")
    stalled, how, seconds = exchange(base_url)
    head, _, body = stalled.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")).split(b":")[1]
    )
    assert head.startswith(b"HTTP/1.1 200 OK") and how == "eof"
    assert len(body) == length // 2, "half the body, then silence"
    assert seconds >= STALL_MS / 1000 * 0.9

    entries = admin.get("/__admin/requests").json()["requests"]
    assert [(e["status"], e.get("fault"), e["forced"]) for e in entries] == [
        (0, "CONNECTION_RESET_BY_PEER", "fault 1 step 1 of 5"),
        (0, "EMPTY_RESPONSE", "fault 1 step 2 of 5"),
        (200, "MALFORMED_RESPONSE_CHUNK", "fault 1 step 3 of 5"),
        (0, "RANDOM_DATA_THEN_CLOSE", "fault 1 step 4 of 5"),
        (200, "STALLED_BODY", "fault 1 step 5 of 5"),
    ]
    assert admin.get("/__admin/keys").json()["keys"] == credits, "a broken connection costs nothing"
    normal = httpx.post(
        base_url + ENDPOINT,
        content=BODY,
        headers={"Authorization": "Bearer sk_mock_demo", "Content-Type": "application/json"},
    )
    assert normal.status_code == 200, "after the last step: normal service"
    assert normal.headers["x-ratelimit-remaining"] == str(1000 - 6), "broken connections count in the rate-limit window"


def test_serve_takes_the_same_fault_from_its_flag_and_resets_for_real(live_mock: Any) -> None:
    mock = live_mock("--fault", "{steps: [reset, 503], match: {handle: videos-25, page: 1}}", "--retry-after", "2")
    assert exchange(mock.base_url)[:2] == (b"", "reset")
    again = httpx.post(
        mock.base_url + ENDPOINT,
        content=BODY,
        headers={"Authorization": "Bearer sk_mock_demo", "Content-Type": "application/json"},
    )
    assert again.status_code == 503 and again.headers["retry-after"] == "2"
    entries = httpx.get(mock.base_url + "/__admin/requests").json()["requests"]
    assert [(e["status"], e.get("fault")) for e in entries] == [(0, "CONNECTION_RESET_BY_PEER"), (503, None)]


def test_a_stalled_response_ends_when_the_client_leaves() -> None:
    """The default stall is 30 s; a client that gives up frees the server at once (otherwise the
    server's shutdown would wait its 5 s grace period for the stalled response)."""
    with running(create_app(Settings()), "warning") as url:
        host, port = url.removeprefix("http://").split(":")
        httpx.post(url + "/__admin/faults", json={"steps": ["stall"]})
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(REQUEST)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        time.sleep(0.2)
        leaving = time.monotonic()
    assert time.monotonic() - leaving < 4
