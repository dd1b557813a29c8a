"""The journal is bounded in bytes as well as entries (`--journal-max-bytes`), in both stores: many
requests with large handles cannot grow the process or the state file past the cap."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from mock_server.exceptions import SettingsError
from mock_server.ledger import Store, open_store
from mock_server.settings import ApiKey, RateLimit, resolve

KEY = "sk_test_journal_bytes"
CAP = 256 * 1024
HANDLE_BYTES = 60_000  # the 60 KB handles


@pytest.fixture(params=["memory", "state-file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "state.sqlite3" if request.param == "state-file" else None
    opened = open_store(path, [ApiKey(KEY, 10**9)], RateLimit(10**9, 60), 10_000, CAP)
    yield opened
    opened.close()


def stored_bytes(store: Store) -> int:
    """The entries' serialized size, as the store keeps them (without the id and time it adds)."""
    entries = store.journal(limit=10_000)
    return sum(len(orjson.dumps({k: v for k, v in e.items() if k not in ("id", "at")})) for e in entries)


def test_many_requests_with_large_handles_stay_under_the_byte_cap(store: Store, tmp_path: Path) -> None:
    key = store.find_key(KEY)
    ids = [store.settle(key, 200, 10, {"handle": f"{i:06d}" + "h" * HANDLE_BYTES}).journal_id for i in range(200)]
    kept = store.journal(limit=10_000)
    assert 0 < stored_bytes(store) <= CAP
    assert len(kept) >= (CAP * 9 // 10) // (HANDLE_BYTES + 100)  # trimmed to nine tenths at the least
    assert [e["id"] for e in kept] == ids[-len(kept) :]  # the newest stay, in order
    assert kept[-1]["handle"].startswith("000199")
    if (tmp_path / "state.sqlite3").exists():
        with sqlite3.connect(tmp_path / "state.sqlite3") as db:
            (total,) = db.execute("SELECT SUM(length(entry)) FROM journal").fetchone()
        assert total <= CAP


def test_an_amended_entry_counts_its_new_size(store: Store) -> None:
    key = store.find_key(KEY)
    for i in range(3):
        journal_id = store.settle(key, 200, 10, {"i": i, "handle": "h" * 1000}).journal_id
        assert journal_id is not None
        store.amend_journal(journal_id, response_violations=["v" * 100_000])
    assert stored_bytes(store) <= CAP
    kept = store.journal()
    assert kept[-1]["i"] == 2 and len(kept) == 2  # three amended entries do not fit in 256 KiB


def test_clearing_the_journal_frees_its_budget(store: Store) -> None:
    key = store.find_key(KEY)
    for _ in range(10):
        store.settle(key, 200, 10, {"handle": "h" * HANDLE_BYTES})
    store.clear_journal()
    for i in range(4):
        store.settle(key, 200, 10, {"i": i, "handle": "h" * HANDLE_BYTES})
    assert [e["i"] for e in store.journal()] == [0, 1, 2, 3]  # 4 x 60 KB fit again


@pytest.mark.parametrize(
    "text, expected", [("65536", 65536), ("64KB", 65536), ("32MB", 32 * 2**20), ("2 GiB", 2 * 2**30), ("1g", 2**30)]
)
def test_journal_max_bytes_takes_bytes_or_a_unit(text: str, expected: int) -> None:
    assert resolve({"journal_max_bytes": text}, {}).journal_max_bytes == expected


@pytest.mark.parametrize("text", ["12QB", "-5MB", "1000", "65GB", "1.5MB"])
def test_a_bad_journal_max_bytes_is_one_line_naming_the_flag(text: str) -> None:
    with pytest.raises(SettingsError) as error:
        resolve({"journal_max_bytes": text}, {})
    message = str(error.value)
    assert message.startswith("--journal-max-bytes: must be a size") and "\n" not in message and repr(text) in message
