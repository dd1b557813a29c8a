"""Exact accounting under concurrency: 1,000 simultaneous requests against a key that can pay for
exactly 500 of them. Exactly 500 succeed, the other 500 get the documented 403, the balance ends at
0 and is never seen below 0 - with one uvicorn worker and with two workers sharing one ledger.

The 1,000 requests are truly simultaneous: 1,000 threads each open a keep-alive connection, wait
at a barrier, then all send at once (stdlib http.client: ~1 ms a request here, where
httpx.AsyncClient spends ~10 ms of client CPU on each, which made this test take over a minute).
"""

from __future__ import annotations

import http.client
import resource
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from conftest import ENDPOINT, LiveMock

from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.server.secrets import mask

CONTRACT = load_contract()
OP = CONTRACT.operation("POST", ENDPOINT)
VALIDATOR = ContractValidator(CONTRACT)
COST = OP.credit_cost
REQUESTS = 1000
AFFORDABLE = 500
KEY = "sk_test_concurrency_0123456789"
BODY = b'{"handle": "videos-0"}'  # a cheap success: an empty page still costs the full price


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


@pytest.fixture(autouse=True)
def enough_file_descriptors() -> None:
    """2 x REQUESTS sockets (client and mock, which inherits the limit): more than a common 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * REQUESTS if hard == resource.RLIM_INFINITY else min(hard, 4 * REQUESTS)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def fire(port: int) -> list[Reply]:
    """REQUESTS requests over REQUESTS connections, released at once by a barrier."""
    barrier = threading.Barrier(REQUESTS)
    replies: list[Reply | BaseException | None] = [None] * REQUESTS

    def one(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.connect()
            barrier.wait(timeout=60)
            conn.request(
                "POST",
                ENDPOINT,
                body=BODY,
                headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            replies[index] = Reply(response.status, dict(response.getheaders()), response.read())
        except BaseException as exc:  # reported below, with the others
            replies[index] = exc
        finally:
            conn.close()

    previous = threading.stack_size(256 * 1024)  # 1,000 threads need little stack each
    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(REQUESTS)]
        for thread in threads:
            thread.start()
    finally:
        threading.stack_size(previous)
    for thread in threads:
        thread.join()
    failures = [r for r in replies if not isinstance(r, Reply)]
    assert not failures, failures[:3]
    return [r for r in replies if isinstance(r, Reply)]


def watch_balance(base_url: str, stop: threading.Event, seen: list[int]) -> None:
    """Poll the admin API's balance for KEY while the burst runs."""
    with httpx.Client(base_url=base_url, timeout=60) as admin:
        while not stop.is_set():
            seen.append(balance(admin.get("/__admin/keys").json()))
            stop.wait(0.005)


def balance(keys: dict[str, Any]) -> int:
    (row,) = [k for k in keys["keys"] if k["key"] == mask(KEY)]
    return int(row["credits"])


def workers_of(mock: LiveMock) -> list[int]:
    assert mock.proc is not None
    children = Path(f"/proc/{mock.proc.pid}/task/{mock.proc.pid}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_exactly_the_paid_for_requests_succeed(live_mock: Callable[..., LiveMock], workers: int) -> None:
    mock = live_mock(
        "--api-key", f"{KEY}:{AFFORDABLE * COST}", "--rate-limit", "1000000/minute", "--workers", str(workers)
    )
    pids = workers_of(mock) if workers > 1 else []
    assert len(pids) == (workers if workers > 1 else 0)
    before = {pid: cpu_ticks(pid) for pid in pids}

    seen: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=watch_balance, args=(mock.base_url, stop, seen))
    watcher.start()
    try:
        replies = fire(mock.port)
    finally:
        stop.set()
        watcher.join()

    statuses = [r.status for r in replies]
    assert statuses.count(200) == AFFORDABLE
    assert statuses.count(403) == REQUESTS - AFFORDABLE
    for reply in replies:
        assert not VALIDATOR.response(OP, reply.status, reply.headers, reply.body)
        if reply.status == 403:
            assert orjson.loads(reply.body) == OP.examples(403)["insufficient_credits"]
    assert seen and min(seen) >= 0 and seen == sorted(seen, reverse=True)  # never negative, never refunded
    assert balance(httpx.get(mock.base_url + "/__admin/keys").json()) == 0
    journal = httpx.get(mock.base_url + "/__admin/requests", params={"limit": 10_000}).json()["requests"]
    assert len(journal) == REQUESTS
    assert [e["status"] for e in journal].count(200) == AFFORDABLE
    for pid in pids:  # both workers took part in the burst
        assert cpu_ticks(pid) - before[pid] >= 5, "a worker served nothing"
