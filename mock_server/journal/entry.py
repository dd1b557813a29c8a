"""What the journal may keep of one request: every string masked (the client's key, wherever it
put it: any body field, a field name, JSON- or percent-encoded), THEN cut, so the per-entry size
is bounded whatever the client sends and a key straddling a cut is never left half shown.

Both stores (memory, SQLite) receive entries built here; the state file holds nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from mock_server.server.secrets import mask_bytes_excerpt, mask_data, plain

JOURNAL_BODY_BYTES = 2048  # the journal keeps this much of a body (verify/rules.py knows longer ones are cut)
FIELD_CHARS = 512  # any other string of an entry (handle, reason, violation messages), in characters
HANDLE_CHARS = 256  # a TikTok handle is at most 24; a longer one is kept only this far


def bounded(entry: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """`entry` masked with `keys` then cut: the body to JOURNAL_BODY_BYTES (verify/rules.py knows a
    body that long was cut), the handle to HANDLE_CHARS, every other string to FIELD_CHARS."""
    secrets = tuple(k for k in keys if k)
    kept: dict[str, Any] = {}
    for name, value in entry.items():
        if name == "body":
            kept[name] = mask_bytes_excerpt(str(value or ""), secrets, JOURNAL_BODY_BYTES)
            continue
        limit = HANDLE_CHARS if name == "handle" else FIELD_CHARS
        if (
            value is None
            or isinstance(value, (int, float))
            or (isinstance(value, str) and len(value) <= limit and plain(value, secrets))
        ):
            kept[name] = value  # most fields: nothing to mask or cut
        else:
            kept[name] = mask_data(value, secrets, limit)
    return kept


def new_entry(
    *,
    method: str,
    path: str,
    operation: str | None,
    key: str,
    content_type: str,
    body: str,
    handle: str,
    example: str | None,
    reason: str,
    warnings: list[str],
    violations: list[dict[str, Any]],
    forced: str | None,
    replayed: str | None,
    response: dict[str, Any] | None,
    fault: str,
    secrets: Iterable[str],
) -> dict[str, Any]:
    """One request as the journal keeps it (openapi/admin.yaml `JournalEntry`; the ledger adds
    `id`, `at` and `status` when it settles), masked and cut by `bounded`."""
    entry: dict[str, Any] = {
        "method": method,
        "path": path,
        "operation": operation,
        "key": key,  # masked already
        "content_type": content_type,
        "body": body,
        "handle": handle,
        "example": example,
        "reason": reason,
        "warnings": warnings,
        "violations": violations,
        "forced": forced,  # how the response was forced ("Prefer header", "fault N", ...), else None
        "replayed": replayed,  # the recording the body came from (serve --replay), else None
        "response": response,  # journal/summary.py: what the client rules read back
    }
    if fault:  # a fault below HTTP: journaled with the status it puts on the wire (0: none)
        entry["fault"] = fault
    return bounded(entry, secrets)


@dataclass(frozen=True)
class JournalEntry:
    """One request as the mock's journal keeps it (keys masked). `raw` has every field, including
    any this version does not name."""

    id: int
    at: float  # unix time, seconds
    method: str
    path: str
    operation: str | None
    status: int
    key: str  # masked
    handle: str
    body: str  # the request body as received (first 2 KiB), keys masked
    example: str | None  # the contract's named example the response was, if any
    reason: str  # why an error was answered (also the X-Mock-Reason header)
    forced: str | None  # "Prefer header", "fault N", "reserved handle": how the response was forced
    warnings: tuple[str, ...]
    violations: tuple[dict[str, Any], ...]  # request departures from the contract
    raw: dict[str, Any] = field(repr=False, compare=False)
    replayed: str | None = None  # "FILE.har#N": the recorded answer it got (replay=), else None

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> JournalEntry:
        return cls(
            id=int(entry["id"]),
            at=float(entry["at"]),
            method=str(entry.get("method", "")),
            path=str(entry.get("path", "")),
            operation=entry.get("operation"),
            status=int(entry.get("status") or 0),
            key=str(entry.get("key") or ""),
            handle=str(entry.get("handle") or ""),
            body=str(entry.get("body") or ""),
            example=entry.get("example"),
            reason=str(entry.get("reason") or ""),
            forced=entry.get("forced"),
            warnings=tuple(entry.get("warnings") or ()),
            violations=tuple(entry.get("violations") or ()),
            raw=dict(entry),
            replayed=entry.get("replayed"),
        )

    def json(self) -> Any:
        """The request body, parsed (the journal keeps the first 2 KiB of it).

        >>> entry.json()["handle"]  # doctest: +SKIP
        'alice'
        """
        return orjson.loads(self.body)
