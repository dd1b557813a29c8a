"""The ledger's rules, held by both stores: process memory (the default) and a SQLite state file
(`--state`, `--workers N`). Every test runs against both, so they cannot drift apart."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.ledger import Store, open_store
from mock_server.server.secrets import digest
from mock_server.settings import ApiKey, RateLimit

KEY = "sk_state_0123456789"
OTHER = "sk_state_other_0123"


ROOMY = RateLimit(1000, 60)  # far above what any test here sends


@pytest.fixture(params=["memory", "state-file"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    opened: list[Store] = []

    def make(
        credits: int = 100, rate: RateLimit = ROOMY, journal_limit: int = 50, keys: list[ApiKey] | None = None
    ) -> Store:
        path = tmp_path / f"state{len(opened)}.sqlite3" if request.param == "state-file" else None
        store = open_store(path, keys or [ApiKey(KEY, credits), ApiKey(OTHER, 0, active=False)], rate, journal_limit)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def settle(store: Store, status: int = 200, cost: int = 10, key: str = KEY) -> tuple[int, int | None]:
    settlement = store.settle(store.find_key(key), status, cost, {"tag": "t"})
    return settlement.status, settlement.remaining


def credits(store: Store, masked_prefix: str = KEY[:4]) -> int:
    return next(k["credits"] for k in store.keys() if k["active"])


def test_keys_are_found_by_their_value_only(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    found = store.find_key(KEY)
    assert found is not None and found.active
    inactive = store.find_key(OTHER)
    assert inactive is not None and not inactive.active
    assert store.find_key(KEY + "x") is None and store.find_key("") is None
    assert sorted((k["credits"], k["active"]) for k in store.keys()) == [(0, False), (100, True)]
    assert all("…" in k["key"] and KEY not in k["key"] for k in store.keys())


def test_a_success_pays_its_cost_and_an_error_is_free(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(credits=25)
    assert settle(store)[0] == 200 and credits(store) == 15
    assert settle(store, status=404)[0] == 404 and credits(store) == 15
    assert settle(store, cost=0)[0] == 200 and credits(store) == 15
    assert settle(store)[0] == 200 and credits(store) == 5
    assert settle(store)[0] == 403 and credits(store) == 5, "short of credits: 403, nothing debited"
    assert settle(store, cost=5)[0] == 200 and credits(store) == 0


def test_the_rate_limit_counts_every_request_and_refuses_for_free(make_store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    now = [6000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    store = make_store(credits=1000, rate=RateLimit(3, 60))
    assert [settle(store, status=s) for s in (200, 400, 200)] == [(200, 2), (400, 1), (200, 0)]
    assert settle(store) == (503, 0) and credits(store) == 980, "the 503 costs nothing"
    now[0] += 59.0
    assert settle(store)[0] == 503, "still the same fixed window"
    now[0] += 1.0
    assert settle(store) == (200, 2) and credits(store) == 970, "a new window starts from zero"


def test_each_key_has_its_own_window(make_store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(time, "time", lambda: 6000.0)
    store = make_store(keys=[ApiKey(KEY, 100), ApiKey(OTHER, 100)], rate=RateLimit(1, 60))
    assert settle(store, key=KEY)[0] == 200 and settle(store, key=OTHER)[0] == 200
    assert settle(store, key=KEY)[0] == 503 and settle(store, key=OTHER)[0] == 503


def test_an_unauthenticated_request_is_journaled_without_a_window(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    settlement = store.settle(None, 401, 10, {"tag": "anonymous"})
    assert (settlement.status, settlement.limit, settlement.remaining) == (401, None, None)
    assert store.journal()[-1]["tag"] == "anonymous" and store.journal()[-1]["status"] == 401
    assert credits(store) == 100


def test_the_journal_keeps_the_newest_entries_in_order(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(credits=10**6, journal_limit=50)
    ids = [store.settle(store.find_key(KEY), 200, 10, {"i": i}).journal_id for i in range(120)]
    assert ids == sorted(ids) and len(set(ids)) == 120
    kept = store.journal(limit=1000)
    # bounded by the journal limit, oldest dropped (a state file drops them a tenth at a time)
    assert 45 <= len(kept) <= 50 and [e["i"] for e in kept] == list(range(120 - len(kept), 120))
    assert [e["i"] for e in store.journal(limit=5)] == list(range(115, 120))
    assert [e["i"] for e in store.journal(since_id=ids[117])] == [118, 119]
    assert all(e["status"] == 200 and e["at"] > 0 for e in kept)


def test_a_journal_entry_can_be_amended(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    first = store.settle(store.find_key(KEY), 200, 10, {"i": 1}).journal_id
    store.settle(store.find_key(KEY), 200, 10, {"i": 2})
    assert first is not None
    store.amend_journal(first, response_violations=["late"])
    assert [e.get("response_violations") for e in store.journal()] == [["late"], None]


def test_journal_ids_keep_growing_after_a_clear_and_a_reset(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    before = store.settle(store.find_key(KEY), 200, 10, {}).journal_id
    store.clear_journal()
    assert store.journal() == []
    store.reset()
    after = store.settle(store.find_key(KEY), 200, 10, {}).journal_id
    assert before is not None and after is not None and after > before, "a client polling with since_id misses nothing"


def test_counted_faults_are_used_up(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    counted = store.add_fault({"status": 500}, 2)
    forever = store.add_fault({"latency_ms": 5}, None)
    assert [(f["id"], f["remaining"]) for f in store.faults()] == [(counted, 2), (forever, None)]
    assert store.take_fault(counted) and store.take_fault(counted)
    assert not store.take_fault(counted), "the third request finds it used up"
    assert [f["id"] for f in store.faults()] == [forever]
    store.faults()[0]["latency_ms"] = 999
    assert store.faults()[0]["latency_ms"] == 5, "callers get copies"
    store.clear_faults()
    assert store.faults() == []


def test_reset_restores_the_configured_keys_and_credits(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(credits=30)
    settle(store)
    store.put_key(ApiKey("sk_state_added_01234", 7))
    store.put_key(ApiKey(KEY, 1, active=False))
    assert not store.find_key(KEY).active and store.find_key("sk_state_added_01234") is not None  # type: ignore[union-attr]
    store.add_fault({"status": 503}, None)
    store.reset()
    assert store.find_key("sk_state_added_01234") is None
    assert store.find_key(KEY).active and credits(store) == 30  # type: ignore[union-attr]
    assert store.faults() == [] and store.journal() == []


def test_a_key_removed_by_a_reset_mid_request_pays_nothing(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    store.put_key(ApiKey("sk_state_added_01234", 50))
    found = store.find_key("sk_state_added_01234")
    store.reset()
    assert store.settle(found, 200, 10, {}).status == 403
    assert sorted(k["credits"] for k in store.keys()) == [0, 100]


def test_changing_a_keys_credits_keeps_its_rate_limit_window(make_store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(time, "time", lambda: 6000.0)
    store = make_store(rate=RateLimit(2, 60))
    assert settle(store) == (200, 1)
    store.put_key(ApiKey(KEY, 500))
    assert settle(store) == (200, 0) and settle(store)[0] == 503, "topping up does not reset the rate limit"
    assert credits(store) == 490


def test_a_state_file_from_before_windows_moved_into_keys_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the layout of the first release: windows in their own table
        db.executescript(
            "CREATE TABLE keys (digest BLOB PRIMARY KEY, masked TEXT NOT NULL, credits INTEGER NOT NULL CHECK (credits >= 0), active INTEGER NOT NULL);"
            "CREATE TABLE windows (digest BLOB PRIMARY KEY, win INTEGER NOT NULL, used INTEGER NOT NULL);"
            "CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, entry BLOB NOT NULL);"
            "CREATE TABLE faults (id INTEGER PRIMARY KEY AUTOINCREMENT, spec BLOB NOT NULL, remaining INTEGER);"
        )
        db.execute("INSERT INTO keys VALUES (?, 'sk_s…', 40, 1)", (digest(KEY),))
    store = open_store(path, [ApiKey(KEY, 100)], RateLimit(5, 60), 50)
    try:
        assert settle(store) == (200, 4) and credits(store) == 30, "the balance kept in the file is the one used"
    finally:
        store.close()
