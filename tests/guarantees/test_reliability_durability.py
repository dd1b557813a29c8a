"""Durable state: with `--state PATH` keys, credits and the journal survive `kill -9`, and a debit is
committed (with its journal row, in one transaction) before its response is sent. Without
`--state` the state lives in memory and `reset` restores the start. The journal stays bounded.
"""

from __future__ import annotations

import http.client
import signal
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from conftest import ENDPOINT, LiveMock, auth
from starlette.testclient import TestClient

from mock_server.contract.document import load_contract
from mock_server.ledger import open_store
from mock_server.server.secrets import digest, mask
from mock_server.settings import ApiKey, RateLimit

OP = load_contract().operation("POST", ENDPOINT)
COST = OP.credit_cost
KEY = "sk_test_durability_0123456789"
INITIAL = 1_000_000
CLIENTS = 4  # concurrent keep-alive clients, each with at most one request in flight
TOTAL = 10_000  # responses received across the kill
KILL_AFTER = 4_000  # responses received before the SIGKILL


class Run:
    """What the clients know: the requests answered 200, and those sent but never answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok: set[str] = set()
        self.unanswered: set[str] = set()
        self.other: list[int] = []

    @property
    def answered(self) -> int:
        return len(self.ok) + len(self.other)


def client_loop(port: int, name: str, run: Run, stop: threading.Event, quota: int | None) -> None:
    """Send requests one after another on one keep-alive connection, each tagged with a unique id
    (an extra body field, which the mock journals), until stopped, out of quota, or the server dies."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    sent = 0
    while not stop.is_set() and (quota is None or sent < quota):
        tag = f"{name}-{sent}"
        sent += 1
        try:
            conn.request("POST", ENDPOINT, body=orjson.dumps({"handle": "videos-0", "tag": tag}), headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            with run.lock:
                run.unanswered.add(tag)  # maybe committed, maybe not: the journal will tell
            return
        with run.lock:
            (run.ok.add(tag) if response.status == 200 else run.other.append(response.status))
    conn.close()


def run_clients(port: int, prefix: str, run: Run, quota: int | None = None, kill: LiveMock | None = None) -> None:
    """CLIENTS clients in parallel; with `kill`, SIGKILL that mock once KILL_AFTER answers are in."""
    stop = threading.Event()
    share = None if quota is None else -(-quota // CLIENTS)
    threads = [
        threading.Thread(target=client_loop, args=(port, f"{prefix}{i}", run, stop, share)) for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    if kill is not None:
        while run.answered < KILL_AFTER and any(t.is_alive() for t in threads):
            threading.Event().wait(0.01)
        kill.stop(signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=60)
    stop.set()


def ledger(state: Path) -> tuple[int, dict[str, int]]:
    """(credits of KEY, journal tag -> status) read from the state file of a stopped mock."""
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        (credits,) = db.execute("SELECT credits FROM keys WHERE digest = ?", (digest(KEY),)).fetchone()
        tags = {}
        for (entry,) in db.execute("SELECT entry FROM journal"):
            row = orjson.loads(entry)
            tag = orjson.loads(row["body"]).get("tag") if row.get("body") else None
            if tag:
                tags[tag] = row["status"]
    return credits, tags


@pytest.mark.slow
def test_kill_9_loses_no_debit_and_invents_none(tmp_path: Path) -> None:
    """Exact: after SIGKILL mid-run and a restart, initial - balance = 10 x (200s received + the
    in-flight requests the mock committed but could not deliver). Which in-flight requests were
    committed is read from the journal, written in the debit's own transaction; at most CLIENTS
    requests are in flight at the kill, so the balance is also within 10 x CLIENTS of
    initial - 10 x (200s received)."""
    state = tmp_path / "state.sqlite3"
    args = [
        "--state",
        str(state),
        "--api-key",
        f"{KEY}:{INITIAL}",
        "--rate-limit",
        "1000000/minute",
        "--journal-limit",
        "100000",
    ]
    run = Run()

    first = LiveMock(args).start()
    run_clients(first.port, "a", run, kill=first)
    assert first.proc is not None and first.proc.returncode == -signal.SIGKILL
    killed_at = run.answered
    assert KILL_AFTER <= killed_at < TOTAL and len(run.unanswered) <= CLIENTS

    second = LiveMock(args).start()  # same state file
    run_clients(second.port, "b", run, quota=TOTAL - killed_at)
    keys = httpx.get(second.base_url + "/__admin/keys").json()["keys"]
    assert second.stop() == -signal.SIGTERM  # graceful; uvicorn then re-raises the signal

    assert run.other == [] and run.answered >= TOTAL
    credits, journal = ledger(state)
    committed = {tag for tag, status in journal.items() if status == 200}
    assert run.ok <= committed  # every 200 a client saw was committed before it was sent
    delivered_late = committed - run.ok
    assert delivered_late <= run.unanswered  # anything else committed was in flight at the kill
    assert credits == INITIAL - COST * (len(run.ok) + len(delivered_late))
    assert INITIAL - COST * (len(run.ok) + CLIENTS) <= credits <= INITIAL - COST * len(run.ok)
    assert [k["credits"] for k in keys if k["key"] == mask(KEY)] == [credits]  # the API agrees with the file


def test_keys_credits_and_journal_survive_a_restart(tmp_path: Path, live_mock: Callable[..., LiveMock]) -> None:
    state = tmp_path / "state.sqlite3"
    mock = live_mock("--state", str(state), "--api-key", f"{KEY}:1000")
    added = httpx.put(mock.base_url + "/__admin/keys", json={"key": "sk_test_added_later_0001", "credits": 77}).json()
    assert httpx.post(mock.base_url + ENDPOINT, json={"handle": "videos-1"}, headers=auth(KEY)).status_code == 200
    assert mock.stop() == -signal.SIGTERM

    again = live_mock("--state", str(state), "--api-key", f"{KEY}:1000")
    keys = {k["key"]: k["credits"] for k in httpx.get(again.base_url + "/__admin/keys").json()["keys"]}
    assert keys == {mask(KEY): 1000 - COST, added["key"]: 77}
    journal = httpx.get(again.base_url + "/__admin/requests").json()["requests"]
    assert [(e["handle"], e["status"]) for e in journal] == [("videos-1", 200)]


def test_without_state_reset_restores_the_start(
    make_client: Callable[..., TestClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    client = make_client(api_keys=(ApiKey(KEY, 100),))
    for _ in range(3):
        assert client.post(ENDPOINT, json={"handle": "videos-1"}, headers=auth(KEY)).status_code == 200
    client.put("/__admin/keys", json={"key": "sk_test_added_later_0001", "credits": 5})
    assert client.get("/__admin/keys").json()["keys"] != [{"key": mask(KEY), "credits": 100, "active": True}]

    assert client.post("/__admin/reset").status_code == 200
    assert client.get("/__admin/keys").json()["keys"] == [{"key": mask(KEY), "credits": 100, "active": True}]
    assert client.get("/__admin/requests").json()["requests"] == []
    assert list(tmp_path.iterdir()) == []  # nothing was written to disk


@pytest.mark.parametrize("limit", [1, 7, 10, 95, 250])
def test_the_journal_never_holds_more_than_its_limit(tmp_path: Path, limit: int) -> None:
    store = open_store(tmp_path / "state.sqlite3", [ApiKey(KEY, 10**9)], RateLimit(10**9, 60), journal_limit=limit)
    key = store.find_key(KEY)
    rows = 0
    for i in range(3 * limit + 150):
        store.settle(key, 200, COST, {"handle": f"h{i}"})
        rows = store.db.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
        assert rows <= limit
        assert store.journal(limit=10_000)[-1]["handle"] == f"h{i}"  # the newest is always kept
    assert rows >= limit - max(1, min(100, limit // 10)) + 1  # trimmed in small batches, not emptied
    store.close()


def test_the_journal_limit_holds_through_the_admin_api(make_client: Callable[..., TestClient]) -> None:
    client = make_client(journal_limit=20)
    for i in range(75):
        client.post(ENDPOINT, json={"handle": f"h{i}"}, headers=auth())
    entries: list[dict[str, Any]] = client.get("/__admin/requests", params={"limit": 10_000}).json()["requests"]
    assert 0 < len(entries) <= 20 and entries[-1]["handle"] == "h74"
