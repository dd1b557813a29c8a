"""What the journal may keep of one request: every string masked (the client's key, wherever it
put it: any body field, a field name, JSON- or percent-encoded), THEN cut, so the per-entry size
is bounded whatever the client sends and a key straddling a cut is never left half shown.

Both stores (memory, SQLite) receive entries built here; the state file holds nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
