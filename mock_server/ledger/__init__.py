"""The ledger, THE one place of mutable state: keys and credits, rate-limit windows, the request
journal and injected faults. `base` holds the interface (`Store`) and the one rule (`decide`);
`memory` and `sqlite` implement it and import `base`, never the other way round (httpx's
`_transports/` layout). `open_store` picks one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mock_server.ledger.base import JOURNAL_MAX_BYTES, Store
from mock_server.ledger.memory import MemoryStore
from mock_server.ledger.sqlite import SqliteStore
from mock_server.settings import ApiKey, RateLimit

__all__ = ["Store", "open_store"]


def open_store(
    path: Path | None,
    keys: Iterable[ApiKey],
    rate_limit: RateLimit,
    journal_limit: int,
    journal_max_bytes: int = JOURNAL_MAX_BYTES,
) -> Store:
    """A state file (shared by workers, kept across restarts) -> SQLite; none -> process memory."""
    if path is None:
        return MemoryStore(keys, rate_limit, journal_limit, journal_max_bytes)
    return SqliteStore(path, keys, rate_limit, journal_limit, journal_max_bytes)
