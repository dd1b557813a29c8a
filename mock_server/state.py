"""THE one place of mutable state: keys and credits, rate-limit windows, the request journal and
injected faults, kept in SQLite so that several uvicorn workers (and restarts, with `--state`)
share one exact ledger.

Every request is settled in ONE transaction (`settle`): rate-limit window, credit debit and journal
row commit together, before the response is sent. A debit that commits is a response that was
sent; an error response costs nothing.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import orjson

from mock_server.secrets import digest, mask, same_key
from mock_server.settings import ApiKey, RateLimit

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    digest BLOB PRIMARY KEY, masked TEXT NOT NULL, credits INTEGER NOT NULL CHECK (credits >= 0),
    active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS windows (
    digest BLOB PRIMARY KEY, win INTEGER NOT NULL, used INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, spec BLOB NOT NULL, remaining INTEGER);
"""


class StateError(RuntimeError):
    """The state file cannot be opened or is not a dumpling-mock state file."""


@dataclass(frozen=True)
class KeyInfo:
    digest: bytes
    masked: str
    credits: int
    active: bool


@dataclass(frozen=True)
class Settlement:
    """What the ledger decided for one request."""

    status: int  # the status to send: the candidate's, or 503 (rate limit) / 403 (credits)
    limit: int | None = None  # X-RateLimit-Limit, None when the request was not authenticated
    remaining: int | None = None
    credits_left: int | None = None
    journal_id: int | None = None


class Store:
    """SQLite ledger. One connection per process; used from the event-loop thread only."""

    def __init__(self, path: Path | None, keys: Iterable[ApiKey], rate_limit: RateLimit, journal_limit: int) -> None:
        self.path = path
        self.initial_keys = tuple(keys)
        self.rate_limit = rate_limit
        self.journal_limit = journal_limit
        self._inserts = 0
        target = str(path) if path else ":memory:"
        try:
            self.db = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30)
            self.db.execute("PRAGMA busy_timeout = 30000")
            if path:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across kill -9
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StateError(f"state file {path}: {exc}") from None
        self._seed_keys(replace=False)

    # --- keys ------------------------------------------------------------------------------
    def _seed_keys(self, replace: bool) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self._tx():
            self.db.executemany(
                f"{verb} INTO keys (digest, masked, credits, active) VALUES (?, ?, ?, ?)",
                [(digest(k.key), mask(k.key), k.credits, int(k.active)) for k in self.initial_keys],
            )

    def find_key(self, presented: str) -> KeyInfo | None:
        wanted = digest(presented)
        row = self.db.execute("SELECT digest, masked, credits, active FROM keys WHERE digest = ?", (wanted,)).fetchone()
        if row is None or not same_key(row[0], presented):
            return None
        return KeyInfo(row[0], row[1], row[2], bool(row[3]))

    def keys(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT masked, credits, active FROM keys ORDER BY masked").fetchall()
        return [{"key": m, "credits": c, "active": bool(a)} for m, c, a in rows]

    def put_key(self, key: ApiKey) -> dict[str, Any]:
        with self._tx():
            self.db.execute(
                "INSERT OR REPLACE INTO keys (digest, masked, credits, active) VALUES (?, ?, ?, ?)",
                (digest(key.key), mask(key.key), key.credits, int(key.active)),
            )
        return {"key": mask(key.key), "credits": key.credits, "active": key.active}

    # --- the per-request transaction -----------------------------------------------------------
    def settle(self, key: KeyInfo | None, candidate_status: int, cost: int, entry: dict[str, Any]) -> Settlement:
        """Count the request in its key's rate-limit window, debit `cost` if the candidate is a
        success, and journal it: all or nothing. Returns the status to send."""
        now = time.time()
        with self._tx():
            if key is None:
                journal_id = self._journal(now, entry, candidate_status)
                return Settlement(candidate_status, journal_id=journal_id)
            window = int(now // self.rate_limit.period_s)
            used = self.db.execute(
                "INSERT INTO windows (digest, win, used) VALUES (?, ?, 1) "
                "ON CONFLICT (digest) DO UPDATE SET used = CASE WHEN win = excluded.win THEN used + 1 ELSE 1 END, "
                "win = excluded.win RETURNING used",
                (key.digest, window),
            ).fetchone()[0]
            limit = self.rate_limit.requests
            status = candidate_status
            credits_left: int | None = None
            if used > limit:
                status = 503
            elif 200 <= candidate_status < 300 and cost:
                row = self.db.execute(
                    "UPDATE keys SET credits = credits - ? WHERE digest = ? AND credits >= ? RETURNING credits",
                    (cost, key.digest, cost),
                ).fetchone()
                if row is None:
                    status = 403
                else:
                    credits_left = row[0]
            journal_id = self._journal(now, entry, status)
            return Settlement(status, limit, max(0, limit - used), credits_left, journal_id)

    def _journal(self, now: float, entry: dict[str, Any], status: int) -> int:
        entry = {**entry, "status": status}
        journal_id = self.db.execute(
            "INSERT INTO journal (at, entry) VALUES (?, ?) RETURNING id", (now, orjson.dumps(entry))
        ).fetchone()[0]
        self._inserts += 1
        if self._inserts % 100 == 0:  # keep the journal bounded without a delete per request
            self.db.execute("DELETE FROM journal WHERE id <= ?", (journal_id - self.journal_limit,))
        return journal_id

    def amend_journal(self, journal_id: int, **fields: Any) -> None:
        """Add what was learned after settling (e.g. response violations) to a journal row."""
        row = self.db.execute("SELECT entry FROM journal WHERE id = ?", (journal_id,)).fetchone()
        if row:
            self.db.execute("UPDATE journal SET entry = ? WHERE id = ?", (orjson.dumps({**orjson.loads(row[0]), **fields}), journal_id))

    # --- journal ------------------------------------------------------------------------------
    def journal(self, since_id: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, at, entry FROM (SELECT id, at, entry FROM journal WHERE id > ? ORDER BY id DESC LIMIT ?) ORDER BY id",
            (since_id, limit),
        ).fetchall()
        cutoff = self._journal_floor()
        return [{"id": i, "at": at, **orjson.loads(e)} for i, at, e in rows if i > cutoff]

    def _journal_floor(self) -> int:
        top = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM journal").fetchone()[0]
        return top - self.journal_limit

    def clear_journal(self) -> None:
        with self._tx():
            self.db.execute("DELETE FROM journal")

    # --- faults -------------------------------------------------------------------------------
    def add_fault(self, spec: dict[str, Any], count: int | None) -> int:
        with self._tx():
            return self.db.execute(
                "INSERT INTO faults (spec, remaining) VALUES (?, ?) RETURNING id", (orjson.dumps(spec), count)
            ).fetchone()[0]

    def faults(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, spec, remaining FROM faults ORDER BY id").fetchall()
        return [{"id": i, **orjson.loads(s), "remaining": r} for i, s, r in rows]

    def take_fault(self, fault_id: int) -> bool:
        """Use one of a counted fault's remaining requests; False when another request took the last."""
        with self._tx():
            row = self.db.execute(
                "UPDATE faults SET remaining = remaining - 1 WHERE id = ? AND remaining > 0 RETURNING remaining",
                (fault_id,),
            ).fetchone()
            if row is not None and row[0] == 0:
                self.db.execute("DELETE FROM faults WHERE id = ?", (fault_id,))
            return row is not None

    def clear_faults(self) -> None:
        with self._tx():
            self.db.execute("DELETE FROM faults")

    # --- lifecycle ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the configured start: configured keys and credits, empty journal, no faults."""
        with self._tx():
            for table in ("keys", "windows", "journal", "faults"):
                self.db.execute(f"DELETE FROM {table}")
        self._seed_keys(replace=True)

    def close(self) -> None:
        try:
            if self.path:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()

    def _tx(self) -> "_Transaction":
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front, so workers never deadlock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
