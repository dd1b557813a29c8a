"""The caches that make the mock fast (issue 6) never change an answer and never grow unbounded:
rendered pages, remembered response verdicts, and the keys and faults the ledger remembers
between requests (forgotten when another worker writes)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import threading
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from mock_server.app.factory import SETTINGS_ENV, create_app_from_env
from mock_server.cli.main import settings_to_json
from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.data import tiktok
from mock_server.data.pages import Pages
from mock_server.ledger import Store, open_store
from mock_server.server import logs
from mock_server.server.logs import AccessLog
from mock_server.server.memo import BodyMemo
from mock_server.settings import ApiKey, RateLimit, Settings

ENDPOINT = "/api/v1/get-tiktok-profile-videos"


def test_a_cached_page_is_the_page() -> None:
    settings = Settings(seed=7, page_size=5, handles={"pinned": 42})
    pages = Pages(settings)
    for handle, cursor, trim in (
        ("pinned", None, False),
        ("stoolpresidente", None, True),
        ("videos-300", "1736000000000", False),
    ):
        profile = tiktok.Profile(7, handle, tiktok.video_count(7, handle, settings.handles), 5)
        fresh = orjson.dumps(tiktok.page(profile, cursor, trim))
        first = pages.get(handle, cursor, trim)
        assert first == fresh
        assert pages.get(handle, cursor, trim) is first  # served from the cache
    assert pages.get("pinned", None, True) != pages.get("pinned", None, False)  # trim is part of the key


def test_the_page_cache_is_bounded_by_bytes() -> None:
    pages = Pages(Settings(), max_bytes=256 * 1024)
    sizes = [len(pages.get(f"user_{i}", None, False)) for i in range(300)]
    assert sum(sizes) > 4 * pages.max_bytes  # far more was served than may be kept
    assert pages._cache.currsize <= pages.max_bytes
    assert 10 < len(pages) < 300


def test_a_body_memo_computes_once_per_body_and_stays_bounded() -> None:
    memo: BodyMemo[int] = BodyMemo(max_bytes=16 * 1024)
    calls: list[bytes] = []

    def length(body: bytes) -> int:
        calls.append(body)
        return len(body)

    bodies = [bytes([i]) * 500 for i in range(100)]
    for body in bodies + bodies[-3:]:
        assert memo.get(("k", body), body, lambda body=body: length(body)) == 500
    assert len(calls) == 100  # the last three were remembered
    assert memo._cache.currsize <= memo.max_bytes
    huge = b"x" * 8192  # more than max_bytes / 16: computed every time, never evicts the rest
    memo.get(("k", huge), huge, lambda: length(huge))
    memo.get(("k", huge), huge, lambda: length(huge))
    assert calls[-2:] == [huge, huge]


def test_a_remembered_verdict_is_the_verdict() -> None:
    contract = load_contract()
    op = contract.operation("POST", ENDPOINT)
    assert op is not None
    validator = ContractValidator(contract)
    headers = {"content-type": "application/json", "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9"}
    good = orjson.dumps(tiktok.page(tiktok.Profile(1, "someone", 3), None))
    bad = orjson.dumps({"aweme_list": "not a list", "max_cursor": 5})
    for _ in range(3):  # the second and third answers come from the memo
        assert validator.response(op, 200, headers, good) == []
        found = validator.response(op, 200, headers, bad)
        assert found and all(v.where == "response.body" for v in found)
        # headers are checked every time, whatever the memo holds for the body
        assert [v.pointer for v in validator.response(op, 200, {**headers, "X-RateLimit-Limit": "ten"}, good)] == [
            "/X-RateLimit-Limit"
        ]
    undocumented = orjson.dumps({"error": "something the page never says"})
    assert [v.kind for v in validator.response(op, 404, {"content-type": "application/json"}, undocumented)] == [
        "documentation"
    ]
    assert [v.kind for v in validator.response(op, 404, {"content-type": "application/json"}, undocumented)] == [
        "documentation"
    ]


def stores(path: Path, credits: int = 1_000_000) -> tuple[Store, Store]:
    """Two ledgers on one state file: what two workers see."""
    keys = [ApiKey("sk_perf_0123456789", credits)]
    return open_store(path, keys, RateLimit(1_000_000, 60), 1000), open_store(
        path, keys, RateLimit(1_000_000, 60), 1000
    )


def test_what_a_worker_remembers_is_forgotten_when_another_writes(tmp_path: Path) -> None:
    one, two = stores(tmp_path / "state.sqlite3")
    try:
        assert one.find_key("sk_perf_0123456789").active  # type: ignore[union-attr]
        assert one.faults() == []
        two.put_key(ApiKey("sk_perf_0123456789", 5, active=False))
        two.add_fault({"status": 503}, 1)
        assert not one.find_key("sk_perf_0123456789").active  # type: ignore[union-attr]
        assert [f["status"] for f in one.faults()] == [503]
        one.put_key(ApiKey("sk_perf_0123456789", 5, active=True))  # and its own writes too
        assert one.find_key("sk_perf_0123456789").active  # type: ignore[union-attr]
        assert one.find_key("sk_unknown_0123456") is None
    finally:
        one.close()
        two.close()


def test_a_memory_ledger_forgets_on_its_own_writes() -> None:
    store = open_store(None, [ApiKey("sk_perf_0123456789", 10)], RateLimit(100, 60), 100)
    assert store.find_key("sk_perf_0123456789").active  # type: ignore[union-attr]
    store.put_key(ApiKey("sk_perf_0123456789", 10, active=False))
    assert not store.find_key("sk_perf_0123456789").active  # type: ignore[union-attr]
    store.add_fault({"status": 500}, None)
    assert len(store.faults()) == 1
    store.reset()
    assert store.find_key("sk_perf_0123456789").active and store.faults() == []  # type: ignore[union-attr]


def test_two_workers_on_one_state_file_debit_exactly(tmp_path: Path) -> None:
    """The state file's flock queues the workers; the ledger stays exact."""
    one, two = stores(tmp_path / "state.sqlite3", credits=10 * 300)
    statuses: list[int] = []

    def spend(store: Store) -> None:
        key = store.find_key("sk_perf_0123456789")
        for _ in range(250):
            statuses.append(store.settle(key, 200, 10, {"tag": "perf"}).status)

    try:
        threads = [threading.Thread(target=spend, args=(store,)) for store in (one, two)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(set(statuses)) == [200, 403]
        assert statuses.count(200) == 300 and statuses.count(403) == 200
        assert one.keys()[0]["credits"] == 0
    finally:
        one.close()
        two.close()


def test_settings_changes_reach_a_new_page_cache() -> None:
    """A page cache belongs to one Settings: another seed renders other bytes."""
    base = Settings()
    assert Pages(base).get("someone", None, False) != Pages(dataclasses.replace(base, seed=2)).get(
        "someone", None, False
    )


def test_a_remembered_request_verdict_depends_on_the_content_type_too(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    body = b'{"handle": "stoolpresidente"}'
    auth = {"Authorization": "Bearer sk_mock_demo"}
    for _ in range(3):
        assert (
            client.post(ENDPOINT, content=body, headers={**auth, "Content-Type": "application/json"}).status_code == 200
        )
    assert len(ctx.verdicts) == 1, "the same bytes are checked once"
    refused = client.post(ENDPOINT, content=body, headers={**auth, "Content-Type": "text/plain"})
    assert refused.status_code == 400 and "Content-Type" in refused.headers["X-Mock-Reason"]
    bad = client.post(ENDPOINT, content=b'{"handle": ""}', headers={**auth, "Content-Type": "application/json"})
    assert bad.status_code == 400 and len(ctx.verdicts) == 3
    again = client.post(ENDPOINT, content=b'{"handle": ""}', headers={**auth, "Content-Type": "application/json"})
    assert (again.status_code, again.json()) == (400, bad.json()) and again.headers["X-Mock-Reason"] == bad.headers[
        "X-Mock-Reason"
    ]


def test_a_server_process_freezes_what_start_up_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full garbage collection must not walk the contract and Faker's data on every pass."""
    monkeypatch.setenv(SETTINGS_ENV, settings_to_json(Settings()))
    gc.unfreeze()
    try:
        create_app_from_env()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_access_lines_are_written_once_per_turn_of_the_event_loop(capsys: pytest.CaptureFixture[str]) -> None:
    log = AccessLog()
    logs.ACCESS.setLevel("INFO")

    async def serve_three() -> str:
        for n in range(3):
            log.write({"n": n})
        before = capsys.readouterr().err  # nothing yet: the batch waits for the loop
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return before

    assert asyncio.run(serve_three()) == ""
    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["n"] for line in lines] == [0, 1, 2] and {line["msg"] for line in lines} == {"request"}

    async def busy() -> int:
        for n in range(logs.MAX_PENDING + 1):  # the loop never turns: a full batch is written anyway
            log.write({"n": n})
        written = len(capsys.readouterr().err.splitlines())
        log.flush()  # what shutdown does
        return written

    assert asyncio.run(busy()) == logs.MAX_PENDING
    assert len(capsys.readouterr().err.splitlines()) == 1
    log.write({"n": "outside"})  # no event loop at all: written at once
    assert '"n":"outside"' in capsys.readouterr().err
