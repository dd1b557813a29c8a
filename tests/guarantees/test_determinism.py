"""Same seed + handle -> byte-identical bodies: across requests, across apps, across a restart of a
real `dumpling-mock serve` process. Another seed -> other data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
from conftest import DEMO_KEY, ENDPOINT, LiveMock, auth
from starlette.testclient import TestClient

HANDLES = ["stoolpresidente", "khaby.lame", "videos-25", "zachking"]


def requests_for(handle: str, second_cursor: str | None) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = [{"handle": handle}, {"handle": handle, "trim": True}]
    if second_cursor:
        bodies.append({"handle": handle, "maxCursor": second_cursor})
    return bodies


def collect(send: Callable[[dict[str, Any]], bytes]) -> dict[str, bytes]:
    """Body bytes of the first page, the trimmed first page and the second page of each handle."""
    seen: dict[str, bytes] = {}
    for handle in HANDLES:
        first = send({"handle": handle})
        cursor = orjson.loads(first)["max_cursor"] if orjson.loads(first)["has_more"] else None
        for body in requests_for(handle, cursor):
            seen[orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()] = send(body)
    return seen


def in_process(client: TestClient) -> Callable[[dict[str, Any]], bytes]:
    def send(body: dict[str, Any]) -> bytes:
        response = client.post(ENDPOINT, json=body, headers=auth(DEMO_KEY))
        assert response.status_code == 200, response.text
        return response.content

    return send


def live(mock: LiveMock) -> Callable[[dict[str, Any]], bytes]:
    def send(body: dict[str, Any]) -> bytes:
        response = httpx.post(mock.base_url + ENDPOINT, json=body, headers=auth(DEMO_KEY), timeout=10)
        assert response.status_code == 200, response.text
        return response.content

    return send


def test_same_seed_same_bytes_across_requests_and_apps(make_client: Callable[..., TestClient]) -> None:
    client = make_client(seed=7)
    once = collect(in_process(client))
    assert collect(in_process(client)) == once, "a second round of the same requests"
    assert collect(in_process(make_client(seed=7))) == once, "another app with the same seed"


def test_another_seed_gives_other_data(make_client: Callable[..., TestClient]) -> None:
    seven = collect(in_process(make_client(seed=7)))
    eight = collect(in_process(make_client(seed=8)))
    cursorless = [request for request in seven if "maxCursor" not in request]
    assert len(cursorless) == 2 * len(HANDLES)
    for request in cursorless:
        assert eight[request] != seven[request], request
    ids = {v["aweme_id"] for body in seven.values() for v in orjson.loads(body)["aweme_list"]}
    other_ids = {v["aweme_id"] for body in eight.values() for v in orjson.loads(body)["aweme_list"]}
    assert not ids & other_ids
    # The reserved handle keeps its count whatever the seed.
    assert (
        orjson.loads(seven['{"handle":"videos-25"}'])["has_more"]
        == orjson.loads(eight['{"handle":"videos-25"}'])["has_more"]
        == 1
    )


def test_byte_identical_across_a_restart_of_a_live_mock(
    live_mock: Callable[..., LiveMock], make_client: Callable[..., TestClient]
) -> None:
    first = live_mock("--seed", "7")
    before = collect(live(first))
    first.stop()
    second = live_mock("--seed", "7")  # a new process (on a fresh port: the old one may be taken meanwhile)
    assert second.proc is not None and first.proc is not None and second.proc.pid != first.proc.pid
    after = collect(live(second))
    assert after == before
    assert collect(in_process(make_client(seed=7))) == before, "in-process and served bodies are the same bytes"
