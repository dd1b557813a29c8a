"""The journal over HTTP: filters, the ascending `since`/`next` cursor, `/count`, `/verify`, and
entries that name what was actually sent for a 403 (credits) or 503 (rate limit). Every admin
response is checked against openapi/admin.yaml."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from conftest import ENDPOINT, auth
from starlette.testclient import TestClient

from mock_server.admin.routes import load_admin_contract
from mock_server.contract.validator import ContractValidator
from mock_server.server.secrets import mask
from mock_server.settings import ApiKey, RateLimit

ADMIN = load_admin_contract()
ADMIN_VALIDATOR = ContractValidator(ADMIN)
ALPHA, BETA = "alpha_key_0001", "zz_beta_key_0002"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(api_keys=(ApiKey(ALPHA, 1000), ApiKey(BETA, 15)))


def admin(client: TestClient, method: str, path: str, **params: Any) -> httpx.Response:
    response = client.request(method, path, params=params)
    op = ADMIN.operation(method, path)
    assert op is not None, path
    assert not ADMIN_VALIDATOR.response(op, response.status_code, dict(response.headers), response.content), (
        response.text
    )
    return response


def post(client: TestClient, body: dict[str, Any], key: str = ALPHA) -> httpx.Response:
    return client.post(ENDPOINT, content=orjson.dumps(body), headers=auth(key))


def listed(client: TestClient, **params: Any) -> dict[str, Any]:
    response = admin(client, "GET", "/__admin/requests", **params)
    assert response.status_code == 200, response.text
    return response.json()


def test_filters_select_by_handle_status_key_and_operation(client: TestClient) -> None:
    post(client, {"handle": "alice"})
    post(client, {"handle": "bob"}, key=BETA)
    post(client, {"handle": ""})
    post(client, {"handle": "alice"}, key=BETA)  # 15 credits: the second success costs more than is left
    handles = lambda **params: [(e["handle"], e["status"]) for e in listed(client, **params)["requests"]]  # noqa: E731
    assert handles(handle="alice") == [("alice", 200), ("alice", 403)]
    assert handles(status=400) == [("", 400)]
    assert handles(key=mask(BETA)) == [("bob", 200), ("alice", 403)]
    assert handles(operation="listTikTokProfileVideos", status=200) == [("alice", 200), ("bob", 200)]
    assert handles(operation="other") == []
    assert handles(handle="alice", status=200, key=mask(ALPHA)) == [("alice", 200)]


def test_pages_ascend_from_since_and_next_misses_nothing(client: TestClient) -> None:
    for index in range(7):
        post(client, {"handle": f"h{index}"})
    seen: list[str] = []
    since, calls = 0, 0
    while True:
        page = listed(client, since=since, limit=3)
        seen += [e["handle"] for e in page["requests"]]
        since, calls = page["next"], calls + 1
        if not page["has_more"]:
            break
    assert (seen, calls) == ([f"h{i}" for i in range(7)], 3)
    post(client, {"handle": "late"})
    assert [e["handle"] for e in listed(client, since=since)["requests"]] == ["late"], "a poller sees new entries once"
    assert listed(client, since=since + 1) == {"requests": [], "next": since + 1, "has_more": False}


def test_next_skips_entries_the_filter_does_not_want(client: TestClient) -> None:
    post(client, {"handle": "alice"})
    post(client, {"handle": "bob"})
    post(client, {"handle": "bob"})
    page = listed(client, handle="alice")
    ids = [e["id"] for e in listed(client)["requests"]]
    assert ([e["id"] for e in page["requests"]], page["next"], page["has_more"]) == ([ids[0]], ids[2], False)


def test_default_limit_is_100(client: TestClient) -> None:
    for _ in range(101):
        post(client, {"handle": ""})
    page = listed(client)
    assert (len(page["requests"]), page["has_more"]) == (100, True)
    assert page["next"] == page["requests"][-1]["id"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hande": "alice"}, "unknown query parameter 'hande' (known: handle, status, key, operation, since, limit)"),
        ({"status": "5xx"}, "status must be a whole number from 100 to 599 (got '5xx')"),
        ({"since": "-1"}, "since must be a whole number from 0 to 9223372036854775807 (got '-1')"),
        ({"limit": "0"}, "limit must be a whole number from 1 to 10000 (got '0')"),
        ({"handle": ""}, "handle must not be empty"),
    ],
)
def test_bad_query_parameters_are_a_400(client: TestClient, params: dict[str, str], message: str) -> None:
    response = admin(client, "GET", "/__admin/requests", **params)
    assert (response.status_code, response.json()) == (400, {"error": message})


def test_a_parameter_given_twice_is_a_400(client: TestClient) -> None:
    response = client.get("/__admin/requests?status=200&status=400")
    assert (response.status_code, response.json()) == (400, {"error": "query parameter 'status' is given twice"})


def test_count_takes_the_same_filters_but_no_limit(client: TestClient) -> None:
    for handle in ("alice", "alice", "bob", ""):
        post(client, {"handle": handle})
    assert admin(client, "GET", "/__admin/requests/count").json() == {"count": 4}
    assert admin(client, "GET", "/__admin/requests/count", handle="alice", status=200).json() == {"count": 2}
    refused = admin(client, "GET", "/__admin/requests/count", limit=1)
    assert refused.status_code == 400 and "unknown query parameter 'limit'" in refused.json()["error"]


def test_verify_returns_the_client_findings_as_json(client: TestClient) -> None:
    post(client, {"handle": "videos-25"})
    post(client, {"handle": "@alice", "requestSource": "CLI"})
    verdict = admin(client, "POST", "/__admin/requests/verify").json()
    assert verdict["ok"] is False
    assert verdict["summary"] == {"requests": 2, "violations": 1, "warnings": 2}
    assert [[(f["rule"], f["severity"]) for f in r["findings"]] for r in verdict["requests"]] == [
        [("stopped-early", "warning")],
        [("unknown-value", "violation"), ("handle-at", "warning")],
    ]
    assert verdict["requests"][1]["findings"][0]["message"].startswith(
        "requestSource 'CLI' is not one of the contract's values: API,"
    )
    assert set(verdict["rules"]) == {"stopped-early", "unknown-value", "handle-at"}
    only = admin(client, "POST", "/__admin/requests/verify", handle="videos-25").json()
    assert (only["ok"], only["summary"]) == (True, {"requests": 1, "violations": 0, "warnings": 1})
    assert admin(client, "POST", "/__admin/requests/verify", bogus=1).status_code == 400


def test_a_403_for_credits_names_the_example_and_reason_sent(client: TestClient) -> None:
    assert post(client, {"handle": "alice"}, key=BETA).status_code == 200
    assert post(client, {"handle": "alice", "maxCursor": "0"}, key=BETA).status_code == 403
    entry = listed(client, status=403)["requests"][0]
    assert (entry["example"], entry["reason"], entry["response"]) == (
        "insufficient_credits",
        "fewer credits left than this request costs",
        None,
    )


def test_a_503_for_the_rate_limit_names_the_example_and_reason_sent(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=(ApiKey(ALPHA, 1000),), rate_limit=RateLimit(1, 86_400))
    assert [post(client, {"handle": "videos-25"}).status_code for _ in range(2)] == [200, 503]
    entry = listed(client, status=503)["requests"][0]
    assert (entry["example"], entry["reason"], entry["response"]) == (
        "rate_limited",
        "rate limit exceeded for this key",
        None,
    )
    assert listed(client, status=200)["requests"][0]["response"]["has_more"] == 1, (
        "a page that was sent keeps its summary"
    )
