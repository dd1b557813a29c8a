"""The ledger in a SQLite file (WAL mode), for `--state FILE` and `--workers N`: every worker
process opens the same file, and one transaction per request (`settle`) keeps credits and rate
limits exact across them and across restarts. The rule itself is `base.decide`.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, cast

import orjson

from mock_server.exceptions import StateError
from mock_server.ledger.base import JOURNAL_MAX_BYTES, KEY_FIELDS, KeyInfo, Settlement, decide, window_count
from mock_server.server.secrets import digest, mask, same_key
from mock_server.settings import ApiKey, RateLimit

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    digest BLOB PRIMARY KEY, masked TEXT NOT NULL, credits INTEGER NOT NULL CHECK (credits >= 0),
    active INTEGER NOT NULL, win INTEGER NOT NULL DEFAULT -1, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, entry BLOB NOT NULL, total INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, spec BLOB NOT NULL, remaining INTEGER);
"""
# A key's rate-limit window (`win`, `used`) lives in its row: a request's transaction then writes
# one page for the ledger instead of two (each page written costs ~40 us). State files made before
# that kept windows in a table of their own; they get the two columns added on open.
WINDOW_COLUMNS = (("win", "INTEGER NOT NULL DEFAULT -1"), ("used", "INTEGER NOT NULL DEFAULT 0"))
# `journal.total` is the running size of the journal's entries up to and including this row (bytes
# of serialized JSON, in id order), so the journal's size is one subtraction between its newest and
# oldest rows, and trimming it to `journal_max_bytes` is a range delete on the primary key.
JOURNAL_COLUMNS = (("total", "INTEGER NOT NULL DEFAULT 0"),)


class SqliteStore:
    """SQLite ledger. One connection per process; used from the event-loop thread only."""

    def __init__(
        self,
        path: Path,
        keys: Iterable[ApiKey],
        rate_limit: RateLimit,
        journal_limit: int,
        journal_max_bytes: int = JOURNAL_MAX_BYTES,
    ) -> None:
        self.path = path
        self.initial_keys = tuple(keys)
        self.rate_limit = rate_limit
        self.journal_limit = journal_limit
        self.journal_max_bytes = journal_max_bytes
        if path.is_dir():
            raise StateError(f"state file {path}: is a directory, not a file (the state file is created if missing)")
        if not path.parent.is_dir():
            raise StateError(f"state file {path}: its directory {path.parent} does not exist")
        self._memo: dict[Any, Any] = {}
        self._memo_version = -1
        self._lock_fd: int | None = None  # set below for a state file, before the first transaction
        try:
            self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
            self.db.execute("PRAGMA busy_timeout = 30000")
            self.db.execute(
                "PRAGMA page_size = 1024"
            )  # new files only: a commit writes ~4 pages, small ones are cheaper
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across kill -9
            self.db.executescript(SCHEMA)
            self._add_window_columns()
            self._lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._seed_keys(replace=False)  # also fails on a database with other tables of these names
        except sqlite3.DatabaseError as exc:
            raise StateError(f"state file {path}: not a usable dumpling-mock state file ({exc})") from None
        except OSError as exc:
            raise StateError(f"state file {path}: cannot create {path}.lock ({exc.strerror})") from None

    def _add_window_columns(self) -> None:
        for table, columns in (("keys", WINDOW_COLUMNS), ("journal", JOURNAL_COLUMNS)):
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for name, declaration in columns:
                if name not in present:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")

    # --- keys ------------------------------------------------------------------------------
    def _seed_keys(self, replace: bool) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self._tx():
            self.db.executemany(
                f"{verb} INTO keys (digest, masked, credits, active) VALUES (?, ?, ?, ?)",
                [(digest(k.key), mask(k.key), k.credits, int(k.active)) for k in self.initial_keys],
            )

    def find_key(self, presented: str) -> KeyInfo | None:
        """The key's row as last read."""
        remembered = self._remembered()
        info: KeyInfo | None = remembered.get(("key", presented))  # the memo holds a KeyInfo under ("key", ...)
        if info is not None:
            return info
        wanted = digest(presented)
        row = self.db.execute("SELECT digest, masked, active FROM keys WHERE digest = ?", (wanted,)).fetchone()
        if row is None or not same_key(row[0], presented):
            return None  # not remembered: unknown keys must not grow the memo
        info = remembered[("key", presented)] = KeyInfo(row[0], row[1], bool(row[2]))
        return info

    def keys(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT masked, credits, active FROM keys ORDER BY masked").fetchall()
        return [{"key": m, "credits": c, "active": bool(a)} for m, c, a in rows]

    def put_key(self, key: ApiKey, fields: Collection[str] = KEY_FIELDS) -> dict[str, Any]:
        updates = "".join(f", {name} = excluded.{name}" for name in KEY_FIELDS if name in fields)
        with self._tx():
            self.db.execute(
                "INSERT INTO keys (digest, masked, credits, active) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE "
                "SET masked = excluded.masked" + updates,  # the window stays
                (digest(key.key), mask(key.key), key.credits, int(key.active)),
            )
            credits, active = self.db.execute(
                "SELECT credits, active FROM keys WHERE digest = ?", (digest(key.key),)
            ).fetchone()
        return {"key": mask(key.key), "credits": credits, "active": bool(active)}

    def credits(self, presented: str) -> int | None:
        """The balance of a plain key (None when unknown): for tests, which know their keys."""
        row = self.db.execute("SELECT credits FROM keys WHERE digest = ?", (digest(presented),)).fetchone()
        return int(row[0]) if row else None

    # --- the per-request transaction -----------------------------------------------------------
    def settle(self, key: KeyInfo | None, candidate_status: int, cost: int, entry: dict[str, Any]) -> Settlement:
        """Count the request in its key's rate-limit window, debit `cost` if the candidate is a
        success, and journal it: all or nothing. Returns the status to send."""
        now = time.time()
        with self._tx(forget=False):  # counts and debits only: what is remembered stays true
            if key is None:
                journal_id = self._journal(now, entry, candidate_status)
                return Settlement(candidate_status, journal_id=journal_id)
            window = int(now // self.rate_limit.period_s)
            limit = self.rate_limit.requests
            row = self.db.execute("SELECT credits, win, used FROM keys WHERE digest = ?", (key.digest,)).fetchone()
            if row is None:  # removed by a reset since the request was authenticated
                status, _ = decide(candidate_status, cost, None, 1, limit)
                return Settlement(status, limit, limit - 1, self._journal(now, entry, status))
            credits, counted, used = row
            used = window_count(window, counted, used)
            status, debit = decide(candidate_status, cost, credits, used, limit)
            self.db.execute(
                "UPDATE keys SET credits = credits - ?, win = ?, used = ? WHERE digest = ?",
                (debit, window, used, key.digest),
            )
            journal_id = self._journal(now, entry, status)
            return Settlement(status, limit, max(0, limit - used), journal_id)

    def _journal(self, now: float, entry: dict[str, Any], status: int) -> int:
        serialized = orjson.dumps({**entry, "status": status})
        journal_id, total = self.db.execute(
            "INSERT INTO journal (at, entry, total) VALUES (?, ?, ? + COALESCE((SELECT total FROM journal ORDER BY id DESC LIMIT 1), 0)) "
            "RETURNING id, total",
            (now, serialized, len(serialized)),
        ).fetchone()
        # Bounded without a delete per request: every `step` ids (shared by all workers), drop the
        # oldest so that the table never holds more than `journal_limit` rows once committed.
        step = max(1, min(100, self.journal_limit // 10))
        if journal_id % step == 0:
            self.db.execute("DELETE FROM journal WHERE id <= ?", (journal_id - self.journal_limit + step - 1,))
        self._trim_bytes(total)
        return int(journal_id)

    def _trim_bytes(self, total: int) -> None:
        """Keep the committed journal within `journal_max_bytes`: when it is over, drop the oldest
        rows down to nine tenths of it (so that trims are rare) but never the newest row."""
        oldest = self.db.execute("SELECT total - length(entry) FROM journal ORDER BY id LIMIT 1").fetchone()
        if oldest is not None and total - oldest[0] > self.journal_max_bytes:
            keep_from = total - self.journal_max_bytes * 9 // 10  # rows that start at or after this stay
            self.db.execute(
                "DELETE FROM journal WHERE total - length(entry) < ? AND id < (SELECT MAX(id) FROM journal)",
                (keep_from,),
            )

    def amend_journal(self, journal_id: int, **fields: Any) -> None:
        """Add what was learned after settling (e.g. response violations) to a journal row."""
        with self._tx(forget=False):
            row = self.db.execute("SELECT entry FROM journal WHERE id = ?", (journal_id,)).fetchone()
            if row:
                amended = orjson.dumps({**orjson.loads(row[0]), **fields})
                self.db.execute("UPDATE journal SET entry = ? WHERE id = ?", (amended, journal_id))
                grown = len(amended) - len(row[0])  # the running totals from this row on grow with it
                total = self.db.execute(
                    "UPDATE journal SET total = total + ? WHERE id >= ? RETURNING total", (grown, journal_id)
                ).fetchall()
                self._trim_bytes(max(t for (t,) in total))

    # --- journal ------------------------------------------------------------------------------
    def journal(self, since_id: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, at, entry FROM (SELECT id, at, entry FROM journal WHERE id > ? ORDER BY id DESC LIMIT ?) ORDER BY id",
            (since_id, limit),
        ).fetchall()
        cutoff = self._journal_floor()
        return [{"id": i, "at": at, **orjson.loads(e)} for i, at, e in rows if i > cutoff]

    def _journal_floor(self) -> int:
        top = cast(int, self.db.execute("SELECT COALESCE(MAX(id), 0) FROM journal").fetchone()[0])  # an INTEGER column
        return top - self.journal_limit

    def clear_journal(self) -> None:
        with self._tx():
            self.db.execute("DELETE FROM journal")

    # --- faults -------------------------------------------------------------------------------
    def add_fault(self, spec: dict[str, Any], count: int | None) -> int:
        with self._tx():
            row = self.db.execute(
                "INSERT INTO faults (spec, remaining) VALUES (?, ?) RETURNING id", (orjson.dumps(spec), count)
            ).fetchone()
            return cast(int, row[0])  # the INTEGER PRIMARY KEY

    def faults(self) -> list[dict[str, Any]]:
        remembered = self._remembered()
        if "faults" not in remembered:
            rows = self.db.execute("SELECT id, spec, remaining FROM faults ORDER BY id").fetchall()
            remembered["faults"] = [{"id": i, **orjson.loads(s), "remaining": r} for i, s, r in rows]
        return [dict(fault) for fault in remembered["faults"]]

    def take_fault(self, fault_id: int) -> int:
        """Use one of a counted fault's remaining requests: how many it had before (which step of a
        sequence this request gets), 0 when another request took the last."""
        with self._tx():
            row = self.db.execute(
                "UPDATE faults SET remaining = remaining - 1 WHERE id = ? AND remaining > 0 RETURNING remaining",
                (fault_id,),
            ).fetchone()
            if row is not None and row[0] == 0:
                self.db.execute("DELETE FROM faults WHERE id = ?", (fault_id,))
            return 0 if row is None else row[0] + 1

    def clear_faults(self) -> None:
        with self._tx():
            self.db.execute("DELETE FROM faults")

    # --- lifecycle ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the configured start: configured keys and credits, empty journal, no faults."""
        with self._tx():
            for table in ("keys", "journal", "faults"):
                self.db.execute(f"DELETE FROM {table}")
        self._seed_keys(replace=True)

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    # --- what this process remembers between requests ------------------------------------------
    def _remembered(self) -> dict[Any, Any]:
        """Keys and faults as last read, so that a request costs no SELECT for them. Forgotten when
        this process writes anything but a settlement (`_tx`) and when another worker commits
        (SQLite's `PRAGMA data_version` changes, and it costs less than the two SELECTs)."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._memo_version:
            self._memo_version, self._memo = version, {}
        return self._memo

    def _tx(self, forget: bool = True) -> _Transaction:
        if forget:
            self._memo = {}
        return _Transaction(self.db, self._lock_fd)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front, so workers never deadlock.

    With a state file, workers first queue on an flock of `<state>.lock`: the kernel wakes the next
    one the moment the lock is free, where SQLite's busy handler would sleep a millisecond or more
    at every collision (two workers collide all the time, which made them slower than one)."""

    def __init__(self, db: sqlite3.Connection, lock_fd: int | None) -> None:
        self.db = db
        self.lock_fd = lock_fd

    def __enter__(self) -> sqlite3.Connection:
        if self.lock_fd is not None:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._unlock()
            raise
        return self.db

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self.lock_fd is not None:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
