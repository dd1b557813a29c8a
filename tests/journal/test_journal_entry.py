"""Each journal entry is bounded whatever the client sends (issue 11): every field is masked,
then cut (the body at 2,048 bytes, the handle at 256 characters, any other text at 512), in
both stores. The journal's total size is bounded by its stores."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENDPOINT
from starlette.testclient import TestClient

from mock_server.journal.entry import FIELD_CHARS, HANDLE_CHARS, JOURNAL_BODY_BYTES
from mock_server.server.secrets import mask
from mock_server.settings import ApiKey

KEY = "sk_journal_" + secrets.token_hex(12)  # made at run time


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


@pytest.mark.parametrize("in_file", [False, True], ids=["memory", "state-file"])
def test_every_field_of_an_entry_is_capped_after_masking(
    make_client: Callable[..., TestClient], tmp_path: Path, in_file: bool
) -> None:
    client = make_client(api_keys=(ApiKey(KEY, 10**6),), state=tmp_path / "state.sqlite3" if in_file else None)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    long_handle = "h" * 60_000
    bodies = [
        {"handle": long_handle},  # a 60 KB handle: the documented 404, and a violation quoting it
        {"handle": "stoolpresidente", "requestSource": "x" * 60_000},
        {"handle": "x" * (HANDLE_CHARS - 2) + KEY},  # the key across the handle's cut
    ]
    for body in bodies:
        client.post(ENDPOINT, content=orjson.dumps(body), headers=headers)
    entries = client.get("/__admin/requests", params={"limit": 10}).json()["requests"]
    assert len(entries) == 3
    for entry in entries:
        assert len(entry["body"].encode()) <= JOURNAL_BODY_BYTES
        assert len(entry["handle"]) <= HANDLE_CHARS + 1  # + the '…' that says it was cut
        assert all(len(s) <= max(FIELD_CHARS + 1, JOURNAL_BODY_BYTES) for s in strings(entry))
        assert len(orjson.dumps(entry)) < 8 * 1024
    assert entries[0]["handle"] == "h" * HANDLE_CHARS + "…"
    assert entries[2]["handle"] == "x" * (HANDLE_CHARS - 2) + mask(KEY)[:2] + "…"  # masked first, then cut
    assert KEY not in orjson.dumps(entries).decode()
