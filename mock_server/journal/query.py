"""Queries over the request journal: the filters of `GET /__admin/requests`, `/count` and
`POST /__admin/requests/verify`, and of the Python API's `MockServer.requests()`.

One parser for the query string, so that every endpoint rejects the same unknown or bad
parameters with the same message. Pages are ascending from `since`, and `next` is the `since` of
the following call: a poller that always passes it back sees every entry exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mock_server.exceptions import QueryError
from mock_server.ledger.base import Store
from mock_server.server.secrets import mask

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
FILTERS = ("handle", "status", "key", "operation", "since")


@dataclass(frozen=True)
class JournalQuery:
    handle: str | None = None
    status: int | None = None
    key: str | None = None  # the masked form, as the journal shows it (a plain key is masked first)
    operation: str | None = None
    since: int = 0
    limit: int = DEFAULT_LIMIT

    def matches(self, entry: Mapping[str, Any]) -> bool:
        if self.handle is not None and entry.get("handle") != self.handle:
            return False
        if self.status is not None and entry.get("status") != self.status:
            return False
        if self.key is not None and entry.get("key") not in (self.key, mask(self.key)):
            return False
        return self.operation is None or entry.get("operation") == self.operation


def parse_query(items: Iterable[tuple[str, str]], allowed: Sequence[str] = (*FILTERS, "limit")) -> JournalQuery:
    """A query string's (name, value) pairs -> JournalQuery; QueryError names the bad parameter."""
    seen: dict[str, str] = {}
    for name, value in items:
        if name not in allowed:
            raise QueryError(f"unknown query parameter {name!r} (known: {', '.join(allowed)})")
        if name in seen:
            raise QueryError(f"query parameter {name!r} is given twice")
        seen[name] = value
    fields: dict[str, Any] = {}
    for name in ("handle", "key", "operation"):
        if name in seen:
            if not seen[name]:
                raise QueryError(f"{name} must not be empty")
            fields[name] = seen[name]
    if "status" in seen:
        fields["status"] = _whole(seen["status"], "status", 100, 599)
    if "since" in seen:
        fields["since"] = _whole(seen["since"], "since", 0, 2**63 - 1)
    if "limit" in seen:
        fields["limit"] = _whole(seen["limit"], "limit", 1, MAX_LIMIT)
    return JournalQuery(**fields)


def _whole(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit() or len(text) > 19 or not low <= int(text) <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high} (got {text!r})")
    return int(text)


def _after(store: Store, since: int, journal_limit: int) -> list[dict[str, Any]]:
    """Every entry kept after `since`, oldest first (the journal holds at most `journal_limit`)."""
    return store.journal(since, journal_limit)


def select(store: Store, query: JournalQuery, journal_limit: int) -> tuple[list[dict[str, Any]], int, bool]:
    """(matching entries, oldest first, at most `limit`; the `since` of the next call; whether
    more matching entries are kept now)."""
    found: list[dict[str, Any]] = []
    last_seen = query.since
    for entry in _after(store, query.since, journal_limit):
        if not query.matches(entry):
            last_seen = entry["id"]
            continue
        if len(found) == query.limit:
            return found, found[-1]["id"], True
        found.append(entry)
        last_seen = entry["id"]
    return found, last_seen, False


def everything(store: Store, query: JournalQuery, journal_limit: int) -> list[dict[str, Any]]:
    """Every matching entry kept (count, verify): `limit` does not apply."""
    return [entry for entry in _after(store, query.since, journal_limit) if query.matches(entry)]
