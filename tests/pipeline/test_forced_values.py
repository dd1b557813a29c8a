"""Exact values of a forced response, end to end in-process (README "Triggering every documented
error"): which body, `X-Mock-Reason` and journal `forced` label each way of asking gives, two
faults in a row, and a fault's latency actually spent. The labels are negotiate.Override.source:
"Prefer header", "reserved handle", "fault N"."""

from __future__ import annotations

import time
from typing import Any

import orjson
from conftest import ENDPOINT, auth
from starlette.testclient import TestClient

from mock_server.contract.document import load_contract

OP = load_contract().operation("POST", ENDPOINT)
assert OP is not None
DOCUMENTED = "200, 400, 401, 403, 404, 500, 502, 503"  # README: the named examples table


def post(client: TestClient, handle: str, **headers: str) -> Any:
    return client.post(ENDPOINT, content=orjson.dumps({"handle": handle}), headers={**auth(), **headers})


def last_entry(client: TestClient) -> dict[str, Any]:
    return client.get("/__admin/requests").json()["requests"][-1]


def test_prefer_code_fills_the_handle_and_says_why(client: TestClient) -> None:
    response = post(client, "kim.k", Prefer="code=404")
    assert response.status_code == 404
    assert response.json() == {"error": "TikTok profile not found for handle: kim.k"}  # README's 404 message
    assert response.headers["X-Mock-Reason"] == "requested by Prefer header"
    entry = last_entry(client)
    assert (entry["status"], entry["forced"], entry["example"]) == (404, "Prefer header", "profile_not_found")


def test_prefer_example_alone_finds_its_status(client: TestClient) -> None:
    response = post(client, "kim.k", Prefer="example=service_unavailable")
    assert response.status_code == 502
    assert response.json() == OP.examples(502)["service_unavailable"]
    entry = last_entry(client)
    assert (entry["forced"], entry["example"]) == ("Prefer header", "service_unavailable")


def test_reserved_handle_label(client: TestClient) -> None:
    response = post(client, "error-500-service_not_configured")
    assert response.status_code == 500
    assert response.headers["X-Mock-Reason"] == "requested by reserved handle"
    entry = last_entry(client)
    assert (entry["forced"], entry["example"], entry["handle"]) == (
        "reserved handle",
        "service_not_configured",
        "error-500-service_not_configured",
    )


def test_an_undocumented_code_is_a_400_listing_the_documented_ones(client: TestClient) -> None:
    response = post(client, "kim.k", Prefer="code=418")
    message = f"Prefer: code=418 is not documented for this operation; documented codes: {DOCUMENTED}"
    assert (response.status_code, response.json(), response.headers["X-Mock-Reason"]) == (
        400,
        {"error": message},
        message,
    )


def test_two_faults_in_a_row_then_data(client: TestClient) -> None:
    for body in ({"status": 503, "count": 1}, {"status": 502, "count": 1}):
        assert client.post("/__admin/faults", json=body).status_code == 200
    statuses = [post(client, "kim.k").status_code for _ in range(3)]
    assert statuses == [503, 502, 200]
    forced = [e["forced"] for e in client.get("/__admin/requests").json()["requests"]][-3:]
    assert forced == ["fault 1", "fault 2", None]


def test_a_latency_fault_is_spent(client: TestClient) -> None:
    assert client.post("/__admin/faults", json={"latency_ms": 400, "count": 1}).status_code == 200
    started = time.monotonic()
    response = post(client, "kim.k")
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert waited >= 0.39  # a lower bound only: a loaded machine is slower, never faster
    assert last_entry(client)["forced"] is None  # only delayed: the answer itself is the real one
    assert client.get("/__admin/faults").json()["faults"] == []  # its one count is used
