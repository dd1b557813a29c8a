"""The ledger in process memory: the default, when one server process owns all the state (no
`--state` file, one worker). Same interface and rule as the SQLite store (`base.Store`,
`base.decide`), at the cost of a few dictionary operations per request instead of a transaction.

Accounts are keyed by digest, as in the state file (a key already found is remembered by its
value, as the process's settings hold it anyway); the journal is a deque of serialized entries,
bounded in entries and in bytes, so its memory stays flat whatever the traffic.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server.ledger.base import JOURNAL_MAX_BYTES, KEY_FIELDS, KeyInfo, Settlement, decide, window_count
from mock_server.server.secrets import digest, mask, same_key
from mock_server.settings import ApiKey, RateLimit


@dataclass
class _Account:
    masked: str
    credits: int
    active: bool
    window: int = -1  # the rate-limit window counted in `used`
    used: int = 0


class MemoryStore:
    """Thread-safe (one lock): the in-process test client serves from another thread."""

    def __init__(
        self,
        keys: Iterable[ApiKey],
        rate_limit: RateLimit,
        journal_limit: int,
        journal_max_bytes: int = JOURNAL_MAX_BYTES,
    ) -> None:
        self.initial_keys = tuple(keys)
        self.rate_limit = rate_limit
        self.journal_limit = journal_limit
        self.journal_max_bytes = journal_max_bytes
        self._journal_bytes = 0  # sum of the serialized entries' sizes
        self._lock = threading.Lock()
        self._accounts: dict[bytes, _Account] = {}
        self._found: dict[str, KeyInfo] = {}  # presented key -> what find_key said, for known keys only
        self._journal: deque[tuple[int, float, str]] = deque()  # bounded by `_trim`
        self._journal_ids = itertools.count(1)  # never reset, as SQLite's AUTOINCREMENT
        self._faults: dict[int, dict[str, Any]] = {}
        self._fault_ids = itertools.count(1)
        self._seed_keys()

    # --- keys ------------------------------------------------------------------------------
    def _seed_keys(self) -> None:
        for key in self.initial_keys:
            self._accounts[digest(key.key)] = _Account(mask(key.key), key.credits, key.active)

    def find_key(self, presented: str) -> KeyInfo | None:
        found = self._found.get(presented)
        if found is not None:
            return found
        wanted = digest(presented)
        account = self._accounts.get(wanted)
        if account is None or not same_key(wanted, presented):
            return None  # not remembered: unknown keys must not grow `_found`
        found = self._found[presented] = KeyInfo(wanted, account.masked, account.active)
        return found

    def keys(self) -> list[dict[str, Any]]:
        with self._lock:
            accounts = sorted(self._accounts.values(), key=lambda a: a.masked)
            return [{"key": a.masked, "credits": a.credits, "active": a.active} for a in accounts]

    def put_key(self, key: ApiKey, fields: Collection[str] = KEY_FIELDS) -> dict[str, Any]:
        with self._lock:
            account = self._accounts.get(digest(key.key))
            if account is None:
                account = self._accounts[digest(key.key)] = _Account(mask(key.key), key.credits, key.active)
            if "credits" in fields:
                account.credits = key.credits  # the rate-limit window stays
            if "active" in fields:
                account.active = key.active
            self._found.clear()
            return {"key": mask(key.key), "credits": account.credits, "active": account.active}

    def credits(self, presented: str) -> int | None:
        """The balance of a plain key (None when unknown): for tests, which know their keys."""
        with self._lock:
            account = self._accounts.get(digest(presented))
            return account.credits if account is not None else None

    # --- the per-request settlement -------------------------------------------------------------
    def settle(self, key: KeyInfo | None, candidate_status: int, cost: int, entry: dict[str, Any]) -> Settlement:
        """Count the request in its key's rate-limit window, debit `cost` if the candidate is a
        success, and journal it, under one lock. Returns the status to send."""
        now = time.time()
        with self._lock:
            if key is None:
                return Settlement(candidate_status, journal_id=self._append(now, entry, candidate_status))
            account = self._accounts.get(key.digest)
            window = int(now // self.rate_limit.period_s)
            limit = self.rate_limit.requests
            if account is None:  # removed by a reset since the request was authenticated
                status, _ = decide(candidate_status, cost, None, 1, limit)
                return Settlement(status, limit, limit - 1, self._append(now, entry, status))
            account.used = used = window_count(window, account.window, account.used)
            account.window = window
            status, debit = decide(candidate_status, cost, account.credits, used, limit)
            account.credits -= debit
            return Settlement(status, limit, max(0, limit - used), self._append(now, entry, status))

    def _append(self, now: float, entry: dict[str, Any], status: int) -> int:
        journal_id = next(self._journal_ids)
        # str, not orjson's bytes: those keep orjson's whole write buffer (~4 KB) allocated
        serialized = orjson.dumps({**entry, "status": status})
        self._journal.append((journal_id, now, serialized.decode()))
        self._journal_bytes += len(serialized)
        self._trim()
        return journal_id

    def _trim(self) -> None:
        """Drop the oldest entries past `journal_limit` entries or `journal_max_bytes` bytes (the
        newest entry always stays: its fields are capped, so it is small)."""
        journal = self._journal
        while len(journal) > 1 and (len(journal) > self.journal_limit or self._journal_bytes > self.journal_max_bytes):
            self._journal_bytes -= _size(journal.popleft()[2])

    def amend_journal(self, journal_id: int, **fields: Any) -> None:
        """Add what was learned after settling (e.g. response violations) to a journal entry."""
        with self._lock:
            for index in range(len(self._journal) - 1, -1, -1):  # the entry is almost always the last
                found, at, entry = self._journal[index]
                if found == journal_id:
                    amended = orjson.dumps({**orjson.loads(entry), **fields})
                    self._journal[index] = (found, at, amended.decode())
                    self._journal_bytes += len(amended) - _size(entry)
                    self._trim()
                    return
                if found < journal_id:
                    return

    # --- journal ------------------------------------------------------------------------------
    def journal(self, since_id: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """The newest `limit` entries after `since_id`, oldest first."""
        with self._lock:
            newest = list(
                itertools.islice(itertools.takewhile(lambda row: row[0] > since_id, reversed(self._journal)), limit)
            )
        return [{"id": i, "at": at, **orjson.loads(e)} for i, at, e in reversed(newest)]

    def clear_journal(self) -> None:
        with self._lock:
            self._journal.clear()
            self._journal_bytes = 0

    # --- faults -------------------------------------------------------------------------------
    def add_fault(self, spec: dict[str, Any], count: int | None) -> int:
        with self._lock:
            fault_id = next(self._fault_ids)
            self._faults[fault_id] = {"id": fault_id, **spec, "remaining": count}
            return fault_id

    def faults(self) -> list[dict[str, Any]]:
        if not self._faults:
            return []
        with self._lock:
            return [dict(fault) for fault in self._faults.values()]

    def take_fault(self, fault_id: int) -> int:
        """Use one of a counted fault's remaining requests: how many it had before (which step of a
        sequence this request gets), 0 when another request took the last."""
        with self._lock:
            fault = self._faults.get(fault_id)
            if fault is None or not fault["remaining"]:
                return 0
            before = fault["remaining"]
            fault["remaining"] -= 1
            if fault["remaining"] == 0:
                del self._faults[fault_id]
            return int(before)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # --- lifecycle ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the configured start: configured keys and credits, empty journal, no faults."""
        with self._lock:
            self._accounts.clear()
            self._found.clear()
            self._journal.clear()
            self._journal_bytes = 0
            self._faults.clear()
            self._seed_keys()

    def close(self) -> None:
        """Nothing to keep: the state lives and dies with the process."""


def _size(entry: str) -> int:
    """The UTF-8 size of a serialized entry (as counted when it was appended)."""
    return len(entry) if entry.isascii() else len(entry.encode())
