"""Exact values of the ledger's rule (mock_server/ledger/base.py), from the README ("Keys, credits and
rate limits"): past the rate limit a 503 that costs nothing; a success that costs more than the
balance a 403 that costs nothing; any other success pays its cost; an error response is free."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.ledger import open_store
from mock_server.ledger.base import decide, window_count
from mock_server.settings import ApiKey, RateLimit


@pytest.mark.parametrize(
    ("window", "counted_window", "used", "count"),
    [(7, 7, 0, 1), (7, 7, 4, 5), (8, 7, 4, 1), (6, 7, 4, 1)],
)
def test_window_count(window: int, counted_window: int, used: int, count: int) -> None:
    assert window_count(window, counted_window, used) == count


@pytest.mark.parametrize(
    ("candidate", "cost", "credits", "used", "limit", "decision"),
    [
        (200, 10, 100, 5, 5, (200, 10)),  # the limit-th request still passes
        (200, 10, 100, 6, 5, (503, 0)),  # the one past it does not, and is free
        (404, 10, 100, 6, 5, (503, 0)),  # an error past the limit too
        (200, 10, 10, 1, 5, (200, 10)),  # exactly the cost left
        (200, 10, 9, 1, 5, (403, 0)),
        (200, 10, None, 1, 5, (403, 0)),  # no balance known: no success
        (201, 10, 0, 1, 5, (403, 0)),
        (299, 10, 10, 1, 5, (299, 10)),
        (300, 10, 0, 1, 5, (300, 0)),  # not a success: free, whatever the balance
        (199, 10, 0, 1, 5, (199, 0)),
        (404, 10, 100, 1, 5, (404, 0)),
        (200, 0, None, 1, 5, (200, 0)),  # a free operation needs no balance
    ],
)
def test_decide(
    candidate: int, cost: int, credits: int | None, used: int, limit: int, decision: tuple[int, int]
) -> None:
    assert decide(candidate, cost, credits, used, limit) == decision


def test_open_store_picks_memory_or_sqlite(tmp_path: Path) -> None:
    keys = [ApiKey("sk_test_0123456789abcdef", 30)]
    memory = open_store(None, keys, RateLimit(5, 60), 10, journal_max_bytes=4096)
    sqlite = open_store(tmp_path / "state.db", keys, RateLimit(5, 60), 10, journal_max_bytes=4096)
    try:
        assert type(memory).__name__ == "MemoryStore"
        assert type(sqlite).__name__ == "SqliteStore"
        assert (tmp_path / "state.db").exists()
        for store in (memory, sqlite):
            assert store.credits("sk_test_0123456789abcdef") == 30
            assert store.journal_max_bytes == 4096  # `--journal-max-bytes` reaches either store
    finally:
        memory.close()
        sqlite.close()
