"""Admin values past openapi/admin.yaml's bounds get the documented 400 in both stores (a state
file's 64-bit integers would otherwise overflow into a 500); values at the bounds are accepted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mock_server.admin.routes import load_admin_contract
from mock_server.contract.document import bundled_path, read_yaml
from mock_server.settings import PARSERS

ADMIN = load_admin_contract()
SCHEMAS = read_yaml(bundled_path("admin.yaml"))["components"]["schemas"]
KEY_CREDITS_MAX = SCHEMAS["KeyInput"]["properties"]["credits"]["maximum"]
FAULT_COUNT_MAX = SCHEMAS["FaultInput"]["properties"]["count"]["maximum"]
SINCE_MAX = 2**63 - 1


@pytest.fixture(params=["memory", "state-file"])
def client(request: pytest.FixtureRequest, make_client: Callable[..., TestClient], tmp_path: Path) -> TestClient:
    return make_client(state=tmp_path / "state.sqlite3" if request.param == "state-file" else None)


def test_the_credit_bound_is_the_one_settings_accept() -> None:
    assert KEY_CREDITS_MAX == 10**15
    assert PARSERS["api_keys"](f"k_bound_0001:{KEY_CREDITS_MAX}")[0].credits == KEY_CREDITS_MAX
    with pytest.raises(ValueError):
        PARSERS["api_keys"](f"k_bound_0001:{KEY_CREDITS_MAX + 1}")


@pytest.mark.parametrize("credits", [KEY_CREDITS_MAX + 1, 2**63, 2**64, 10**20])
def test_credits_past_the_bound_are_a_400(client: TestClient, credits: int) -> None:
    response = client.put("/__admin/keys", json={"key": "k_bound_0001", "credits": credits})
    assert response.status_code == 400
    assert response.json() == {
        "error": f"request.body/credits: {credits} is greater than the maximum of {KEY_CREDITS_MAX}"
    }
    assert all(k["credits"] != credits for k in client.get("/__admin/keys").json()["keys"])


def test_credits_at_the_bound_are_stored(client: TestClient) -> None:
    response = client.put("/__admin/keys", json={"key": "k_bound_0001", "credits": KEY_CREDITS_MAX})
    assert response.status_code == 200 and response.json()["credits"] == KEY_CREDITS_MAX


@pytest.mark.parametrize("count", [FAULT_COUNT_MAX + 1, 2**63, 10**20])
def test_a_fault_count_past_the_bound_is_a_400(client: TestClient, count: int) -> None:
    response = client.post("/__admin/faults", json={"status": 502, "count": count})
    assert response.status_code == 400
    assert response.json() == {"error": f"request.body/count: {count} is greater than the maximum of {FAULT_COUNT_MAX}"}
    assert client.get("/__admin/faults").json() == {"faults": []}


def test_a_fault_count_at_the_bound_is_stored(client: TestClient) -> None:
    response = client.post("/__admin/faults", json={"status": 502, "count": FAULT_COUNT_MAX})
    assert response.status_code == 200 and response.json()["remaining"] == FAULT_COUNT_MAX


@pytest.mark.parametrize("since", [SINCE_MAX + 1, 10**20])
def test_since_past_the_bound_is_a_400(client: TestClient, since: int) -> None:
    response = client.get(f"/__admin/requests?since={since}")
    assert response.status_code == 400
    assert response.json() == {"error": f"since must be a whole number from 0 to {SINCE_MAX} (got '{since}')"}


def test_since_at_the_bound_is_an_empty_page(client: TestClient) -> None:
    response = client.get(f"/__admin/requests?since={SINCE_MAX}")
    assert response.status_code == 200 and response.json()["requests"] == []


def test_admin_yaml_states_the_since_bound() -> None:
    since = ADMIN.document["components"]["parameters"]["since"]
    assert since["schema"]["maximum"] == SINCE_MAX
