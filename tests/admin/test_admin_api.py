"""The admin API (/__admin, WireMock's convention): health, keys and credits, reset, the request
journal and fault injection. Every admin response is checked against openapi/admin.yaml, and the
faults' statuses and bodies against the vendor contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from conftest import ENDPOINT, auth
from starlette.testclient import TestClient

from mock_server.admin.routes import load_admin_contract
from mock_server.app.factory import create_app
from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.server.secrets import mask
from mock_server.settings import ApiKey, Settings

CONTRACT = load_contract()
OP = CONTRACT.operation("POST", ENDPOINT)
COST = OP.credit_cost
ADMIN = load_admin_contract()
ADMIN_VALIDATOR = ContractValidator(ADMIN)
KEY, OTHER = "alpha_key_0001", "bravo_key_0002"
START = 1000


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(api_keys=(ApiKey(KEY, START), ApiKey(OTHER, START)), seed=42)


def admin(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    """An admin call whose response must be what openapi/admin.yaml documents."""
    response = client.request(method, path, **kwargs)
    op = ADMIN.operation(method, path.split("?")[0])
    assert op is not None, path
    assert not ADMIN_VALIDATOR.response(op, response.status_code, dict(response.headers), response.content), (
        response.text
    )
    return response


def post(client: TestClient, body: Any, key: str = KEY, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(ENDPOINT, content=content, headers={**auth(key), **headers})


def credits_of(client: TestClient, key: str) -> int:
    rows = [k for k in admin(client, "GET", "/__admin/keys").json()["keys"] if k["key"] == mask(key)]
    assert len(rows) == 1
    return rows[0]["credits"]


def journal(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    return admin(client, "GET", "/__admin/requests", params=params).json()["requests"]


def faults(client: TestClient) -> list[dict[str, Any]]:
    return admin(client, "GET", "/__admin/faults").json()["faults"]


def add_fault(client: TestClient, **spec: Any) -> dict[str, Any]:
    response = admin(client, "POST", "/__admin/faults", json=spec)
    assert response.status_code == 200, response.text
    return response.json()


# --- health ---------------------------------------------------------------------------------------
def test_health(client: TestClient) -> None:
    body = admin(client, "GET", "/__admin/health").json()
    assert body["status"] == "ok"
    assert body["seed"] == 42
    assert body["operations"] == len(CONTRACT.operations)


def test_only_health_answers_beyond_loopback() -> None:
    with TestClient(create_app(Settings()), client=("203.0.113.7", 40000)) as remote:
        assert remote.get("/__admin/health").status_code == 200
        for method, path in [("GET", "/__admin/keys"), ("GET", "/__admin/requests"), ("POST", "/__admin/reset")]:
            assert remote.request(method, path).status_code == 403


def test_an_admin_token_opens_the_admin_api_to_its_holders() -> None:
    token = "admin-token-123"
    with TestClient(create_app(Settings(admin_token=token)), client=("203.0.113.7", 40000)) as remote:
        assert remote.get("/__admin/keys", headers={"X-Admin-Token": token}).status_code == 200
        assert remote.get("/__admin/keys", headers={"X-Admin-Token": token + "x"}).status_code == 403
        assert remote.get("/__admin/keys").status_code == 403


# --- keys and credits -------------------------------------------------------------------------------
def test_keys_are_listed_masked_with_their_credits(client: TestClient) -> None:
    response = admin(client, "GET", "/__admin/keys")
    assert KEY not in response.text and OTHER not in response.text
    assert {k["key"]: (k["credits"], k["active"]) for k in response.json()["keys"]} == {
        mask(KEY): (START, True),
        mask(OTHER): (START, True),
    }


def test_set_credits_create_and_deactivate_keys(client: TestClient) -> None:
    stored = admin(client, "PUT", "/__admin/keys", json={"key": KEY, "credits": 2 * COST}).json()
    assert stored == {"key": mask(KEY), "credits": 2 * COST, "active": True}
    assert credits_of(client, KEY) == 2 * COST
    assert post(client, {"handle": "x"}).status_code == 200
    assert credits_of(client, KEY) == COST

    new_key = "charlie_key_0003"
    assert post(client, {"handle": "x"}, new_key).status_code == 401
    admin(client, "PUT", "/__admin/keys", json={"key": new_key, "credits": COST})
    assert post(client, {"handle": "x"}, new_key).status_code == 200
    assert credits_of(client, new_key) == 0

    admin(client, "PUT", "/__admin/keys", json={"key": OTHER, "credits": START, "active": False})
    assert post(client, {"handle": "x"}, OTHER).status_code == 401


@pytest.mark.parametrize(
    "body",
    [{"credits": 5}, {"key": KEY, "credits": -1}, {"key": KEY, "credits": "10"},
     {"key": "has space", "credits": 1}, {"key": KEY, "credits": 1, "extra": 1}, [KEY, 1]],
)  # fmt: skip
def test_bad_key_updates_are_refused(client: TestClient, body: Any) -> None:
    response = admin(client, "PUT", "/__admin/keys", json=body)
    assert response.status_code == 400
    assert credits_of(client, KEY) == START


def test_reset_restores_configured_keys_and_empties_everything(client: TestClient) -> None:
    post(client, {"handle": "x"})
    admin(client, "PUT", "/__admin/keys", json={"key": "charlie_key_0003", "credits": 50})
    add_fault(client, status=502, count=5)
    assert journal(client) and faults(client)
    assert admin(client, "POST", "/__admin/reset").status_code == 200
    assert credits_of(client, KEY) == START
    assert journal(client) == []
    assert faults(client) == []
    assert post(client, {"handle": "x"}, "charlie_key_0003").status_code == 401, "a key added at run time is gone"
    fresh = post(client, {"handle": "x"})
    assert fresh.status_code == 200  # the fault is gone
    assert int(fresh.headers["X-RateLimit-Remaining"]) == int(fresh.headers["X-RateLimit-Limit"]) - 1


# --- the request journal -----------------------------------------------------------------------------
def test_the_journal_records_every_request_with_keys_masked(client: TestClient) -> None:
    post(client, {"handle": "stoolpresidente"})
    post(client, {"handle": "@stoolpresidente", "note": f"my key is {KEY}", "colour": "red"})
    post(client, {"handle": "", "maxCursor": "abc"})
    client.post(ENDPOINT, content=b'{"handle": "x"}', headers={"Authorization": "Bearer sk_unknown_secret_1"})
    post(client, {"handle": "x"}, Prefer="code=502, example=upstream_error")
    entries = journal(client)
    assert [e["status"] for e in entries] == [200, 200, 400, 401, 502]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    text = orjson.dumps(entries).decode()
    assert KEY not in text and "sk_unknown_secret_1" not in text
    ok, flagged, invalid, unknown, forced = entries
    for entry in entries:
        assert entry["method"] == "POST" and entry["path"] == ENDPOINT
        assert entry["operation"] == OP.operation_id
    assert ok["key"] == mask(KEY) and unknown["key"] == mask("sk_unknown_secret_1")
    assert orjson.loads(ok["body"]) == {"handle": "stoolpresidente"}
    assert ok["warnings"] == [] and ok["violations"] == []
    assert mask(KEY) in flagged["body"] and orjson.loads(flagged["body"])["colour"] == "red"
    assert any("@" in w for w in flagged["warnings"])
    assert any("note" in w for w in flagged["warnings"]) and any("colour" in w for w in flagged["warnings"])
    pointers = {v["pointer"] for v in invalid["violations"]}
    assert {"/handle", "/maxCursor"} <= pointers
    assert all(v["where"] == "request.body" and v["message"] for v in invalid["violations"])
    assert forced["example"] == "upstream_error"


def test_the_journal_pages_and_clears(client: TestClient) -> None:
    for _ in range(5):
        post(client, {"handle": "x"})
    entries = journal(client)
    assert len(entries) == 5
    assert journal(client, since=entries[1]["id"]) == entries[2:]
    assert journal(client, limit=2) == entries[:2], (
        "ascending from since (tests/journal/test_journal_query.py: the cursor)"
    )
    for bad in ({"since": -1}, {"limit": 0}, {"limit": "many"}):
        assert admin(client, "GET", "/__admin/requests", params=bad).status_code == 400
    admin(client, "DELETE", "/__admin/requests")
    assert journal(client) == []
    assert credits_of(client, KEY) == START - 5 * COST, "clearing the journal does not touch credits"


# --- faults --------------------------------------------------------------------------------------------
def first_example(status: int) -> Any:
    return next(iter(OP.examples(status).values()))


def test_a_fault_for_the_next_n_requests(client: TestClient) -> None:
    status = max(s for s in OP.statuses if 500 <= s < 600 and s != 503)
    fault = add_fault(client, status=status, count=2)
    assert fault["remaining"] == 2
    first = post(client, {"handle": "x"})
    assert first.status_code == status and first.json() == first_example(status)
    assert [f["remaining"] for f in faults(client)] == [1]
    assert post(client, {"handle": "x"}).status_code == status
    assert faults(client) == []
    assert post(client, {"handle": "x"}).status_code == 200
    assert credits_of(client, KEY) == START - COST, "faulted responses cost nothing"
    assert [e["status"] for e in journal(client)] == [status, status, 200]


def test_a_fault_with_a_named_example(client: TestClient) -> None:
    status = 500
    name = list(OP.examples(status))[-1]
    add_fault(client, status=status, example=name, count=1)
    response = post(client, {"handle": "x"})
    assert response.status_code == status and response.json() == OP.examples(status)[name]
    assert journal(client)[-1]["example"] == name


def test_probability_zero_never_fires_and_one_always_does(client: TestClient) -> None:
    never = add_fault(client, status=502, probability=0)
    assert all(post(client, {"handle": "x"}).status_code == 200 for _ in range(20))
    assert [f["id"] for f in faults(client)] == [never["id"]]
    admin(client, "DELETE", "/__admin/faults")
    add_fault(client, status=404, probability=1)
    assert all(post(client, {"handle": f"h{i}"}).status_code == 404 for i in range(10))
    admin(client, "DELETE", "/__admin/faults")
    assert faults(client) == [] and post(client, {"handle": "x"}).status_code == 200


def test_a_fault_for_one_operation_only(client: TestClient) -> None:
    add_fault(client, status=502, operation=OP.operation_id, count=1)
    assert post(client, {"handle": "x"}).status_code == 502
    assert (
        admin(client, "POST", "/__admin/faults", json={"status": 502, "operation": "noSuchOperation"}).status_code
        == 400
    )


def test_added_latency_is_counted_down_without_changing_the_response(client: TestClient) -> None:
    expected = post(client, {"handle": "stoolpresidente"}).content
    fault = add_fault(client, latency_ms=5, count=2)
    assert fault["latency_ms"] == 5 and fault["remaining"] == 2
    assert post(client, {"handle": "stoolpresidente"}).content == expected
    assert [(f["latency_ms"], f["remaining"]) for f in faults(client)] == [(5, 1)]
    assert post(client, {"handle": "stoolpresidente"}).content == expected
    assert faults(client) == []


def test_a_latency_fault_adds_to_a_reserved_handle(client: TestClient) -> None:
    add_fault(client, latency_ms=1, count=1)
    response = post(client, {"handle": "error-404"})
    assert response.status_code == 404
    assert faults(client) == []


@pytest.mark.parametrize(
    "spec",
    [{}, {"status": 418}, {"status": 404, "example": "no_such_example"}, {"status": 500, "probability": 2},
     {"status": 500, "count": 0}, {"latency_ms": -1}, {"status": 500, "colour": "red"}, {"status": "500"}],
)  # fmt: skip
def test_bad_faults_are_refused(client: TestClient, spec: dict[str, Any]) -> None:
    response = admin(client, "POST", "/__admin/faults", json=spec)
    assert response.status_code == 400
    assert response.json()["error"]
    assert faults(client) == []
