"""THE one place of mutable state: keys and credits, rate-limit windows, the request journal and
injected faults. Two stores keep it, with the same interface (`Store`) and the same rule
(`decide`):

- `memory.MemoryStore`, the default: plain Python objects in the one server process. A
  request's settlement costs a few dictionary operations.
- `sqlite.SqliteStore`, with `--state FILE` or `--workers N`: SQLite in WAL mode, so that
  several uvicorn workers (and restarts) share one exact ledger.

Every request is settled at once (`settle`): rate-limit window, credit debit and journal entry,
before the response is sent. A debit that is recorded is a response that was sent; an error
response costs nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from mock_server.settings import ApiKey, Settings

JOURNAL_MAX_BYTES = Settings.journal_max_bytes  # the journal's total size (serialized entries), `--journal-max-bytes`
# The largest journal id (SQLite's 64-bit integer), the bound of `since` in openapi/admin.yaml. The
# admin API validates credits and fault counts against admin.yaml's bounds too, before either store
# sees them, so both stores accept and refuse the same values.
MAX_JOURNAL_ID = 2**63 - 1

KEY_FIELDS = ("credits", "active")  # what `PUT /__admin/keys` may set on an existing key


@dataclass(frozen=True)
class KeyInfo:
    """A key as found when the request arrived (its balance is `settle`'s business)."""

    digest: bytes
    masked: str
    active: bool


class Settlement(NamedTuple):  # a tuple: built once per request, a frozen dataclass costs 5x more
    """What the ledger decided for one request."""

    status: int  # the status to send: the candidate's, or 503 (rate limit) / 403 (credits)
    limit: int | None = None  # X-RateLimit-Limit, None when the request was not authenticated
    remaining: int | None = None
    journal_id: int | None = None


def window_count(window: int, counted_window: int, used: int) -> int:
    """Requests counted in the current fixed window, this one included."""
    return used + 1 if counted_window == window else 1


def decide(candidate_status: int, cost: int, credits: int | None, used: int, limit: int) -> tuple[int, int]:
    """The ledger's rule: (status to send, credits to debit). Past the rate limit -> 503 (free);
    a success that costs more than the balance -> 403 (free); any other success pays its cost."""
    if used > limit:
        return 503, 0
    if 200 <= candidate_status < 300 and cost:
        if credits is None or credits < cost:
            return 403, 0
        return candidate_status, cost
    return candidate_status, 0


class Store(Protocol):
    def find_key(self, presented: str) -> KeyInfo | None: ...
    def keys(self) -> list[dict[str, Any]]: ...
    def put_key(self, key: ApiKey, fields: Collection[str] = KEY_FIELDS) -> dict[str, Any]:
        """Create the key with all of `key`'s values, or set only `fields` of an existing one."""
        ...

    def credits(self, presented: str) -> int | None: ...
    def settle(self, key: KeyInfo | None, candidate_status: int, cost: int, entry: dict[str, Any]) -> Settlement: ...
    def amend_journal(self, journal_id: int, **fields: Any) -> None: ...
    def journal(self, since_id: int = 0, limit: int = 100) -> list[dict[str, Any]]: ...
    def clear_journal(self) -> None: ...
    def add_fault(self, spec: dict[str, Any], count: int | None) -> int: ...
    def faults(self) -> list[dict[str, Any]]: ...
    def take_fault(self, fault_id: int) -> int: ...
    def clear_faults(self) -> None: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...
