"""Exact values of contract_tests/budget.py, in-process: the request budget counts every request
and refuses exactly the one past `--max-requests`, per-test shares stop a test at its line, the
rate limit (`--rate-limit`) actually spaces requests, and the in-process mock is counted like a
remote target (README "Contract kit": the cap is exact). A loopback server stands in for a
target."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from contract_tests.budget import Budget, BudgetAdapter, BudgetSpent, ShareSpent, counted_app, counted_session
from contract_tests.limits import Limits, RunOutOfTime
from mock_server.settings import RateLimit


def test_no_cap_counts_but_never_spends() -> None:
    budget = Budget(None)
    for _ in range(5):
        budget.take()
    assert (budget.used, budget.left, budget.spent, budget.line) == (5, None, False, None)


def test_cap_refuses_exactly_the_request_past_it() -> None:
    budget = Budget(3)
    assert (budget.used, budget.left, budget.spent) == (0, 3, False)
    budget.take()
    budget.take()
    assert (budget.used, budget.left, budget.spent) == (2, 1, False)
    budget.take()
    assert (budget.used, budget.left, budget.spent) == (3, 0, True)
    with pytest.raises(BudgetSpent) as caught:
        budget.take()
    assert str(caught.value) == "the request budget of 3 requests is spent"
    assert budget.used == 3  # the refused request is not counted


def test_zero_cap_is_spent_at_once() -> None:
    assert Budget(0).spent is True


def test_skips_are_pytest_skips() -> None:
    assert issubclass(BudgetSpent, pytest.skip.Exception) and issubclass(ShareSpent, pytest.skip.Exception)


def test_share_is_a_fraction_of_what_is_left() -> None:
    budget = Budget(100)
    for _ in range(20):
        budget.take()
    budget.share(0.25)  # 80 left -> 20 more
    assert budget.line == 40
    for _ in range(19):
        budget.take()
    assert budget.within_share() is True
    budget.take()
    assert (budget.used, budget.within_share()) == (40, False)
    budget.end_share()
    assert (budget.line, budget.within_share()) == (None, True)


def test_share_has_a_minimum_and_none_without_a_cap() -> None:
    budget = Budget(10)
    budget.share(0.01)  # int(10 * 0.01) == 0: the minimum, 1
    assert budget.line == 1
    budget.share(0.01, minimum=3)
    assert budget.line == 3
    budget.share(0.5, minimum=1)
    assert budget.line == 5
    unlimited = Budget(None)
    unlimited.share(0.5)
    assert (unlimited.line, unlimited.within_share()) == (None, True)


def test_rate_limit_spaces_requests() -> None:
    """2 requests per second: the third waits for the next second (a lower bound only: a loaded
    machine may be slower, never faster)."""
    budget = Budget(None, RateLimit(2, 1))
    started = time.monotonic()
    budget.take()
    budget.take()
    two = time.monotonic() - started
    budget.take()
    three = time.monotonic() - started
    assert budget.used == 3
    assert three >= 0.9
    assert three - two >= 0.5


def test_no_rate_limit_does_not_wait() -> None:
    budget = Budget(None)
    started = time.monotonic()
    for _ in range(50):
        budget.take()
    assert time.monotonic() - started < 0.5


class _Handler(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/final")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def target() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_session_counts_every_request_and_sends_none_past_the_cap(target: tuple[str, list[str]]) -> None:
    url, seen = target
    budget = Budget(3)
    session = counted_session(budget, Limits(timeout_s=5, max_time_s=None))
    assert session.get(url + "/a").text == "hello"
    response = session.get(url + "/redirect")  # the redirect is a second request, counted
    assert (response.status_code, response.text) == (200, "hello")
    assert budget.used == 3
    with pytest.raises(BudgetSpent):
        session.get(url + "/b")
    assert seen == ["/a", "/redirect", "/final"]
    assert budget.used == 3


def test_session_past_max_time_sends_nothing(target: tuple[str, list[str]]) -> None:
    url, seen = target
    budget = Budget(10)
    session = counted_session(budget, Limits(timeout_s=5, max_time_s=0.001))
    time.sleep(0.01)
    with pytest.raises(RunOutOfTime) as caught:
        session.get(url + "/a")
    assert str(caught.value) == "the run reached --max-time 0.001 s"
    assert (seen, budget.used) == ([], 0)


def test_session_cuts_a_body_over_the_cap(target: tuple[str, list[str]]) -> None:
    url, _ = target
    budget = Budget(None)
    session = counted_session(budget, Limits(timeout_s=5, max_time_s=None, max_bytes=3))
    assert session.get(url + "/a").content == b"hel"
    assert budget.used == 1


def test_counted_app_counts_http_and_answers_the_lifespan_itself() -> None:
    calls: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope["type"])
        if scope["type"] == "http":  # the mock gets the server's own receive and send
            await send({"type": "http.response.start", "from": await receive()})

    budget = Budget(1)
    wrapped = counted_app(app, budget)
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}, {"type": "http.request"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await wrapped({"type": "lifespan"}, receive, send)
        await wrapped({"type": "http"}, receive, send)
        await wrapped({"type": "websocket"}, receive, send)
        with pytest.raises(BudgetSpent):
            await wrapped({"type": "http"}, receive, send)

    asyncio.run(run())
    assert sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
        {"type": "http.response.start", "from": {"type": "http.request"}},
    ]
    assert calls == ["http", "websocket"]  # the lifespan never reaches the mock
    assert budget.used == 1


def test_session_counts_https_too() -> None:
    """Both schemes go through the counting adapter (no TLS target here: the adapter is asked for)."""
    budget = Budget(1)
    session = counted_session(budget, Limits(timeout_s=5, max_time_s=None))
    for url in ("https://target.test/x", "http://target.test/x"):
        adapter = session.get_adapter(url)
        assert isinstance(adapter, BudgetAdapter) and adapter.budget is budget


def test_session_never_retries_behind_the_budget() -> None:
    """A connection the target drops is one counted request and one connection: a hidden retry
    would be a request sent and not counted."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(5)
    accepted: list[int] = []

    def drop() -> None:
        try:
            while True:
                conn, _ = listener.accept()
                accepted.append(1)
                conn.recv(65536)
                conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    budget = Budget(10)
    session = counted_session(budget, Limits(timeout_s=5, max_time_s=None))
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
        time.sleep(0.2)
    finally:
        listener.close()
    assert (budget.used, len(accepted)) == (1, 1)


def test_session_passes_the_timeout_on_outside_the_main_thread() -> None:
    """Off the main thread the run's timer cannot fire: requests' own timeout is the bound."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    held: list[socket.socket] = []

    def hold() -> None:
        conn, _ = listener.accept()
        held.append(conn)  # never answers; closed by the test

    threading.Thread(target=hold, daemon=True).start()
    session = counted_session(Budget(None), Limits(timeout_s=30, max_time_s=None))
    caught: list[BaseException] = []

    def call() -> None:
        try:
            session.get(f"http://127.0.0.1:{listener.getsockname()[1]}/", timeout=0.3)
        except BaseException as exc:  # noqa: BLE001 - the test looks at which one
            caught.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    worker.join(10)
    for conn in held:
        conn.close()
    listener.close()
    worker.join(5)
    assert len(caught) == 1 and isinstance(caught[0], requests.exceptions.ReadTimeout), caught
