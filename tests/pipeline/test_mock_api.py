"""The mocked endpoint through HTTP: realistic data, pagination, auth, credits, rate limit and every
documented error on demand. Statuses, bodies, headers and costs are read from the effective contract.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from conftest import DEMO_KEY, ENDPOINT, auth
from starlette.testclient import TestClient

from mock_server.app.factory import create_app
from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.server.secrets import mask
from mock_server.settings import ApiKey, RateLimit, Settings

CONTRACT = load_contract()
OP = CONTRACT.operation("POST", ENDPOINT)
VALIDATOR = ContractValidator(CONTRACT)
COST = OP.credit_cost  # x-credit-cost
ERROR_STATUSES = [s for s in OP.statuses if s >= 400]
MAX_PAGES = 200
INACTIVE_KEY = "sk_mock_inactive"
LOW_CREDITS_KEY = "sk_mock_low_credits"
KEY = "alpha_key_0001"  # configured keys with distinct prefixes: the admin API shows keys masked


@pytest.fixture(scope="module")
def client() -> Any:
    """One mock for this module (demo keys, no practical rate limit): building one costs ~0.25 s.
    Tests that count credits or requests build their own with make_client."""
    with TestClient(create_app(Settings(rate_limit=RateLimit(10**9, 60))), client=("127.0.0.1", 50000)) as shared:
        yield shared


@pytest.fixture
def keyed(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(api_keys=(ApiKey(KEY, 1_000_000),))


def first_example(status: int) -> Any:
    return next(iter(OP.examples(status).values()))


def post(client: TestClient, body: Any, key: str | None = DEMO_KEY, **headers: str) -> Any:
    sent = {**(auth(key) if key else {"Content-Type": "application/json"}), **headers}
    content = body if isinstance(body, (bytes, str)) else orjson.dumps(body)
    return client.post(ENDPOINT, content=content, headers=sent)


def assert_conforms(response: Any) -> None:
    """The response is what the contract allows for its status (headers, body, documented message)."""
    assert "x-mock-violations" not in response.headers, response.headers["x-mock-violations"]
    assert not VALIDATOR.response(OP, response.status_code, dict(response.headers), response.content)


def documented_pattern(template: str, handle: str) -> re.Pattern[str]:
    """A documented message with `[handle]` = the handle and any other `[placeholder]` = some text."""
    escaped = re.escape(template).replace(re.escape("[handle]"), re.escape(handle))
    return re.compile(re.sub(r"\\\[[^\]]*\\\]", ".+", escaped), re.S)


def assert_documented(response: Any, status: int, name: str | None, handle: str) -> None:
    """`response` is the named example of `status` (the first when name is None), placeholders filled."""
    assert response.status_code == status, response.text
    template = OP.examples(status)[name] if name else first_example(status)
    body = response.json()
    assert set(body) == set(template)
    assert documented_pattern(template["error"], handle).fullmatch(body["error"]), (body, template)
    assert not re.search(r"\[[a-z ]+\]", body["error"]), "a placeholder was left unfilled"
    assert_conforms(response)


def credits(client: TestClient, key: str) -> int:
    """A key's credits, read through the admin API (keys there are masked)."""
    rows = [k for k in client.get("/__admin/keys").json()["keys"] if k["key"] == mask(key)]
    assert len(rows) == 1, rows
    return rows[0]["credits"]


def walk(client: TestClient, handle: str, **extra: Any) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        response = post(client, {"handle": handle, **({"maxCursor": cursor} if cursor else {}), **extra})
        assert response.status_code == 200, response.text
        assert_conforms(response)
        pages.append(response.json())
        if pages[-1]["has_more"] == 0:
            return pages
        cursor = pages[-1]["max_cursor"]
    raise AssertionError(f"{handle}: still has_more after {MAX_PAGES} pages")


# --- realistic data ---------------------------------------------------------------------------
@pytest.mark.parametrize("handle", ["stoolpresidente", "khaby.lame", "videos-25"])
def test_videos_have_realistic_fields(client: TestClient, handle: str) -> None:
    documented_counters = set(first_example(200)["aweme_list"][0]["statistics"])
    pages = walk(client, handle)[:3]
    videos = [v for p in pages for v in p["aweme_list"]]
    assert videos
    ids = [v["aweme_id"] for v in videos]
    assert len(set(ids)) == len(ids)
    nicknames = set()
    for page in pages:
        now_ms = page["extra"]["now"]
        assert isinstance(now_ms, int) and len(str(now_ms)) == 13  # milliseconds
        for video in page["aweme_list"]:
            assert isinstance(video["aweme_id"], str) and re.fullmatch(r"[1-9]\d{18}", video["aweme_id"])
            assert re.search(r"#\w+", video["desc"]), video["desc"]
            created = video["create_time"]
            assert isinstance(created, int) and len(str(created)) == 10 and created * 1000 <= now_ms  # seconds
            stats = video["statistics"]
            assert set(stats) == documented_counters
            assert all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in stats.values())
            assert isinstance(video["video"]["duration"], int) and video["video"]["duration"] > 0
            urls = video["video"]["cover"]["url_list"]
            assert urls and all(re.fullmatch(r"https://[a-z0-9.-]+\.[a-z]{2,}/\S+", u) for u in urls)
            assert video["author"]["unique_id"] == handle
            nicknames.add(video["author"]["nickname"])
    assert len(nicknames) == 1 and nicknames.pop().strip()
    again = post(client, {"handle": handle}).json()["aweme_list"][0]["author"]["nickname"]
    assert again == pages[0]["aweme_list"][0]["author"]["nickname"]


def test_play_counts_are_long_tailed(client: TestClient) -> None:
    plays = sorted(v["statistics"]["play_count"] for p in walk(client, "videos-200") for v in p["aweme_list"])
    assert plays[-1] > 10 * plays[len(plays) // 2] > 0  # a few hits far above the median


# --- pagination ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "handle, expected",
    [("videos-0", 0), ("videos-1", 1), ("videos-10", 10), ("videos-11", 11), ("videos-257", 257),
     ("charlidamelio", None), ("khaby.lame", None), ("gordonramsay", None), ("willsmith", None), ("nasa", None)],
)  # fmt: skip
def test_a_full_walk_visits_every_video_once_newest_first(
    client: TestClient, handle: str, expected: int | None
) -> None:
    pages = walk(client, handle)
    videos = [v for p in pages for v in p["aweme_list"]]
    if expected is not None:
        assert len(videos) == expected
        assert len(pages) == max(1, -(-expected // 10))
    ids = [v["aweme_id"] for v in videos]
    assert len(set(ids)) == len(ids), "a video was visited twice"
    times = [v["create_time"] for v in videos]
    assert times == sorted(times, reverse=True)
    assert [p["has_more"] for p in pages] == [1] * (len(pages) - 1) + [0]
    for page in pages:
        assert isinstance(page["extra"]["now"], int)
        assert re.fullmatch(r"\d+", page["min_cursor"]) and re.fullmatch(r"\d+", page["max_cursor"])
        if page["aweme_list"]:
            page_times = [v["create_time"] for v in page["aweme_list"]]
            assert page["max_cursor"] == str(min(page_times) * 1000)  # the oldest item, in ms
            assert page["min_cursor"] == str(max(page_times) * 1000)


def test_the_next_page_is_strictly_older_than_the_cursor(client: TestClient) -> None:
    first = post(client, {"handle": "videos-30"}).json()
    second = post(client, {"handle": "videos-30", "maxCursor": first["max_cursor"]}).json()
    assert all(v["create_time"] * 1000 < int(first["max_cursor"]) for v in second["aweme_list"])
    assert len(second["aweme_list"]) == 10


def test_a_config_file_pins_a_handles_video_count(make_client: Callable[..., TestClient], tmp_path: Any) -> None:
    from mock_server.settings import resolve

    natural = len([v for p in walk(make_client(), "stoolpresidente") for v in p["aweme_list"]])
    pinned = 3 if natural != 3 else 4
    config = tmp_path / "mock.yaml"
    config.write_text(f"handles:\n  stoolpresidente: {pinned}\n", encoding="utf-8")
    settings = resolve({"config": str(config)}, {})
    client = make_client(handles=settings.handles)
    pages = walk(client, "stoolpresidente")
    assert len(pages) == 1 and len(pages[0]["aweme_list"]) == pinned
    assert len(walk(client, "@stoolpresidente")[0]["aweme_list"]) == pinned


@pytest.mark.parametrize(
    "cursor", ["abc", "-1", "1.5", "1e9", " 17", "0x1f", "1" * 20, "١٢٣", 1736092800000, None, True]
)
def test_an_invalid_max_cursor_gets_the_documented_400(keyed: TestClient, cursor: Any) -> None:
    response = post(keyed, {"handle": "stoolpresidente", "maxCursor": cursor}, KEY)
    assert response.status_code == 400
    assert response.json() == OP.examples(400)["service_issue"]
    assert_conforms(response)


def test_trim_returns_a_smaller_schema_valid_payload_of_the_same_videos(client: TestClient) -> None:
    full = post(client, {"handle": "videos-40"})
    trimmed = post(client, {"handle": "videos-40", "trim": True})
    assert trimmed.status_code == 200
    assert_conforms(trimmed)
    assert len(trimmed.content) < len(full.content) / 2
    full_videos, trim_videos = full.json()["aweme_list"], trimmed.json()["aweme_list"]
    assert [v["aweme_id"] for v in trim_videos] == [v["aweme_id"] for v in full_videos]
    for small, big in zip(trim_videos, full_videos, strict=True):
        assert set(small) < set(big)
        assert {k: big[k] for k in small} == small
    assert {k: v for k, v in trimmed.json().items() if k != "aweme_list"} == {
        k: v for k, v in full.json().items() if k != "aweme_list"
    }
    assert post(client, {"handle": "videos-40", "trim": False}).content == full.content


def test_a_handle_with_at_is_served_stripped_and_flagged(client: TestClient) -> None:
    plain = post(client, {"handle": "stoolpresidente"})
    with_at = post(client, {"handle": "@stoolpresidente"})
    assert with_at.status_code == 200
    assert with_at.content == plain.content
    assert with_at.json()["aweme_list"][0]["author"]["unique_id"] == "stoolpresidente"
    plain_entry, at_entry = client.get("/__admin/requests", params={"limit": 10_000}).json()["requests"][-2:]
    assert plain_entry["warnings"] == []
    assert at_entry["handle"] == "stoolpresidente"
    assert any("@" in w for w in at_entry["warnings"]), at_entry


def test_a_handle_of_only_at_is_not_found_rather_than_rejected(client: TestClient) -> None:
    """'@' is schema-valid (non-empty): a schema-valid request is not a 400."""
    response = post(client, {"handle": "@"})
    assert response.status_code == 404
    assert_conforms(response)


def test_header_values_stay_sendable_whatever_the_body_holds(client: TestClient) -> None:
    """uvicorn drops the connection on a control character in a header (X-Mock-Reason echoes input)."""
    response = post(client, {"handle": "x", "requestSource": "a\r\nb\x7f\x00\u00e9\u2028"})
    assert response.status_code == 400
    for name, value in response.headers.items():
        assert re.fullmatch(r"[\x20-\x7e\t]*", value), (name, value)


# --- auth ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "authorization",
    [None, "", "sk_mock_demo", "Token sk_mock_demo", "Bearer", "Bearer ", "Bearer sk mock demo",
     "Basic c2s6bW9jaw==", "Bearer sk_mock_unknown_key", f"Bearer {INACTIVE_KEY}", f"Bearer {DEMO_KEY}x"],
)  # fmt: skip
def test_missing_malformed_unknown_or_inactive_keys_get_the_documented_401(
    client: TestClient, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = client.post(ENDPOINT, content=b'{"handle": "stoolpresidente"}', headers=headers)
    assert response.status_code == 401
    assert response.json() == first_example(401)
    assert_conforms(response)


def test_the_401_comes_before_anything_else(client: TestClient) -> None:
    for body, extra in [
        (b"not json", {}),
        ({"handle": ""}, {}),
        ({"handle": "x"}, {"Prefer": "code=500"}),
        ({"handle": "error-404"}, {}),
    ]:
        response = post(client, body, key="sk_nobody_has_this", **extra)
        assert response.status_code == 401, (body, extra)
        assert response.json() == first_example(401)


# --- credits --------------------------------------------------------------------------------------
def test_credit_arithmetic_across_mixed_requests(make_client: Callable[..., TestClient]) -> None:
    key = "alpha_key_0001"
    client = make_client(api_keys=(ApiKey(key, 1000), ApiKey("bravo_key_0002", 1000)))
    first_page = post(client, {"handle": "videos-30"}, key).json()
    expected = 1000 - COST
    assert credits(client, key) == expected
    sequence: list[tuple[Any, dict[str, str]]] = [
        ({"handle": "videos-30", "maxCursor": first_page["max_cursor"]}, {}),  # next page
        ({"handle": "stoolpresidente", "trim": True}, {}),
        ({"handle": "@stoolpresidente"}, {}),  # warning only
        ({"handle": "stoolpresidente", "unknown_field": 1}, {}),  # warning only
        (b"{not json", {}),
        ({"handle": ""}, {}),
        ({"handle": "stoolpresidente", "maxCursor": "abc"}, {}),
        ({"handle": "stoolpresidente"}, {"Prefer": "code=404"}),
        ({"handle": "stoolpresidente"}, {"Prefer": "code=418"}),
        ({"handle": "stoolpresidente"}, {"Prefer": "code=200"}),  # a documented success is a success
        ({"handle": "error-502"}, {}),
        ({"handle": "error-500-service_not_configured"}, {}),
        ({"handle": "not a handle!"}, {}),
        ({"handle": "stoolpresidente"}, {"Content-Type": "text/plain"}),
    ]
    statuses = []
    for body, headers in sequence:
        response = post(client, body, key, **headers)
        statuses.append(response.status_code)
        if 200 <= response.status_code < 300:
            expected -= COST
        assert credits(client, key) == expected, (body, headers, response.status_code)
    assert statuses.count(200) == 5 and all(s >= 400 for s in statuses if s != 200), statuses
    assert credits(client, "bravo_key_0002") == 1000, "another key's credits moved"


def test_a_key_without_enough_credits_gets_the_documented_403_for_free(make_client: Callable[..., TestClient]) -> None:
    key, poor = "bravo_key_0002", "charlie_key_0003"
    client = make_client(api_keys=(ApiKey(key, 2 * COST + COST // 2), ApiKey(poor, COST - 1)))
    for _ in range(2):
        assert post(client, {"handle": "stoolpresidente"}, key).status_code == 200
    left = COST // 2
    assert credits(client, key) == left
    for who, has in [(key, left), (poor, COST - 1)]:
        response = post(client, {"handle": "stoolpresidente"}, who)
        assert response.status_code == 403
        assert response.json() == first_example(403)
        assert_conforms(response)
        assert credits(client, who) == has
        assert post(client, {"handle": "x"}, who, Prefer="code=404").status_code == 404  # errors need no credits
    client.put("/__admin/keys", json={"key": key, "credits": COST})
    assert post(client, {"handle": "stoolpresidente"}, key).status_code == 200
    assert credits(client, key) == 0
    assert post(client, {"handle": "stoolpresidente"}, key).status_code == 403


def test_the_low_credits_demo_key_gets_the_403(client: TestClient) -> None:
    response = post(client, {"handle": "stoolpresidente"}, LOW_CREDITS_KEY)
    assert response.status_code == 403
    assert response.json() == first_example(403)


def test_configured_keys_replace_the_demo_keys(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=(ApiKey("alpha_key_0001", 100),))
    assert post(client, {"handle": "x"}, "alpha_key_0001").status_code == 200
    for demo in (DEMO_KEY, LOW_CREDITS_KEY):
        assert post(client, {"handle": "x"}, demo).status_code == 401


# --- rate limit ---------------------------------------------------------------------------------
def test_rate_limit_headers_count_down_then_the_documented_503(make_client: Callable[..., TestClient]) -> None:
    limit = 4
    other_key = "bravo_key_0002"
    client = make_client(rate_limit=RateLimit(limit, 86_400), api_keys=(ApiKey(KEY, 1000), ApiKey(other_key, 0)))
    requests: list[tuple[Any, dict[str, str]]] = [  # a success, then errors: all count
        ({"handle": "stoolpresidente"}, {}),
        (b"not json", {}),
        ({"handle": "x"}, {"Prefer": "code=502"}),
        ({"handle": "videos-0"}, {}),
    ]
    for used, (body, headers) in enumerate(requests, start=1):
        response = post(client, body, KEY, **headers)
        assert response.headers["X-RateLimit-Limit"] == str(limit), response.status_code
        assert response.headers["X-RateLimit-Remaining"] == str(limit - used)
        assert_conforms(response)
    for _ in range(2):
        over = post(client, {"handle": "stoolpresidente"}, KEY)
        assert over.status_code == 503
        assert over.json() == first_example(503)
        assert over.headers["X-RateLimit-Remaining"] == "0"
        assert_conforms(over)
    assert credits(client, KEY) == 1000 - 2 * COST  # the two 200s only
    other = post(client, {"handle": "stoolpresidente"}, other_key)  # its own window
    assert other.status_code == 403 and other.headers["X-RateLimit-Remaining"] == str(limit - 1)
    unauthenticated = post(client, {"handle": "x"}, key=None)
    assert unauthenticated.status_code == 401 and "X-RateLimit-Limit" not in unauthenticated.headers
    client.post("/__admin/reset")
    assert post(client, {"handle": "stoolpresidente"}, KEY).headers["X-RateLimit-Remaining"] == str(limit - 1)


# --- every documented response on demand ------------------------------------------------------------
EXAMPLES = [(status, name) for status in OP.statuses for name in OP.examples(status)]


@pytest.mark.parametrize("status, name", EXAMPLES, ids=[f"{s}-{n}" for s, n in EXAMPLES])
def test_every_named_example_on_demand(client: TestClient, status: int, name: str) -> None:
    handle = "stoolpresidente"
    by_header = post(client, {"handle": handle}, Prefer=f"code={status}, example={name}")
    by_handle = post(client, {"handle": f"error-{status}-{name}"})
    if status < 400:
        for response in (by_header, by_handle):
            assert response.status_code == status and response.json() == OP.examples(status)[name]
            assert_conforms(response)
        return
    assert_documented(by_header, status, name, handle)
    assert_documented(by_handle, status, name, f"error-{status}-{name}")


@pytest.mark.parametrize("status", OP.statuses)
def test_a_code_alone_gives_its_first_example(client: TestClient, status: int) -> None:
    by_header = post(client, {"handle": "stoolpresidente"}, Prefer=f"code={status}")
    by_handle = post(client, {"handle": f"error-{status}"})
    if status < 400:
        assert by_header.json() == by_handle.json() == first_example(status)
        return
    assert_documented(by_header, status, None, "stoolpresidente")
    assert_documented(by_handle, status, None, f"error-{status}")


@pytest.mark.parametrize("code", ["418", "201", "599", "abc", "4040"])
def test_an_undocumented_code_gets_a_400_listing_the_documented_ones(client: TestClient, code: str) -> None:
    response = post(client, {"handle": "stoolpresidente"}, Prefer=f"code={code}")
    assert response.status_code == 400
    message = response.json()["error"]
    assert code in message
    assert all(str(status) in message for status in OP.statuses), message


def test_an_unknown_example_name_gets_a_400_listing_the_names(client: TestClient) -> None:
    status = ERROR_STATUSES[0]
    response = post(client, {"handle": "x"}, Prefer=f"code={status}, example=no_such_example")
    assert response.status_code == 400
    assert all(name in response.json()["error"] for name in OP.examples(status))


@pytest.mark.parametrize("handle", ["error-418", "error-404-no_such_example"])
def test_an_undocumented_reserved_handle_gets_the_400_prefer_gets(client: TestClient, handle: str) -> None:
    """Like `Prefer`: a 400 naming what the contract documents (tests/guarantees/test_newcomer.py: the wording)."""
    response = post(client, {"handle": handle})
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"reserved handle {handle!r}: ")


def test_a_bug_in_the_pipeline_answers_the_documented_500_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*_: Any) -> Any:
        raise RuntimeError("secret internals sk_mock_demo")

    with TestClient(create_app(Settings(), responder=broken), raise_server_exceptions=False) as client:
        response = client.post(ENDPOINT, json={"handle": "stoolpresidente"}, headers=auth(DEMO_KEY))
        assert response.status_code == 500 and response.headers["content-type"] == "application/json"
        # The contract's own 500: its first example, with the placeholder its x-placeholders gives.
        documented = load_contract().operations[0].raw["responses"]["500"]["content"]["application/json"]["examples"]
        first = next(iter(documented.values()))
        message = first["value"]["error"].replace(
            "[specific error message]", first["x-placeholders"]["specific error message"]
        )
        assert response.json() == {"error": message}
        assert "Traceback" not in response.text and "secret internals" not in response.text
        logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "dumpling_mock")
        assert "RuntimeError: secret internals" in logged and "Traceback" in logged  # the bug is in the log ...
        assert DEMO_KEY not in logged and mask(DEMO_KEY) in logged  # ... its key masked
        assert (
            ContractValidator(load_contract()).response(
                load_contract().operations[0], 500, response.headers, response.content
            )
            == []
        )
        assert client.post(ENDPOINT, json={"handle": "stoolpresidente"}, headers=auth(DEMO_KEY)).status_code == 500, (
            "still serving"
        )
