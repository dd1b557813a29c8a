"""Typed faults (mock_server/faults/spec.py): sequences consumed one step per matching request, the
match fields (handle, page, max_cursor, key, operation), per-step probability, Retry-After, one
schema for the admin API, `serve --fault`, the environment and the config file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from conftest import ENDPOINT, auth
from starlette.testclient import TestClient

from mock_server.app.factory import build_context, create_app
from mock_server.cli import main as cli
from mock_server.contract.document import load_contract
from mock_server.data import tiktok
from mock_server.exceptions import FaultError
from mock_server.faults.spec import check_configured, fault_problem, parse_fault, parse_step
from mock_server.ledger import open_store
from mock_server.server.secrets import mask
from mock_server.settings import (
    ApiKey,
    RateLimit,
    Settings,
    SettingsError,
    resolve,
    settings_from_json,
    settings_to_json,
)

OP = load_contract().operation("POST", ENDPOINT)
KEY, OTHER = "alpha_key_0001", "bravo_key_0002"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(api_keys=(ApiKey(KEY, 1000), ApiKey(OTHER, 1000)))


def post(client: TestClient, body: dict[str, Any], key: str = KEY) -> Any:
    return client.post(ENDPOINT, content=orjson.dumps(body), headers=auth(key))


def add(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/__admin/faults", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def walk_cursor(client: TestClient, handle: str, page: int) -> str | None:
    """The maxCursor of page `page` (1: none), as a client walking the handle would send it."""
    cursor = None
    for _ in range(page - 1):
        cursor = post(client, {"handle": handle, **({"maxCursor": cursor} if cursor else {})}).json()["max_cursor"]
    return cursor


# --- sequences ---------------------------------------------------------------------------------------
def test_a_sequence_on_one_page_of_one_handle_then_normal_service(client: TestClient) -> None:
    cursor = walk_cursor(client, "videos-25", 2)
    normal = post(client, {"handle": "videos-25", "maxCursor": cursor}).content
    fault = add(client, {"steps": [503, "502/service_unavailable", 200], "match": {"handle": "@videos-25", "page": 2}})
    assert (
        fault["remaining"] == 3 and fault["state"] == "Started" and fault["match"] == {"handle": "videos-25", "page": 2}
    )

    assert post(client, {"handle": "videos-25"}).status_code == 200, "page 1 does not match"
    assert post(client, {"handle": "videos-3"}).status_code == 200, "another handle does not match"
    first = post(client, {"handle": "videos-25", "maxCursor": cursor})
    assert first.status_code == 503 and first.json() == OP.examples(503)["rate_limited"]
    assert client.get("/__admin/faults").json()["faults"][0]["state"] == "step 2"
    second = post(client, {"handle": "videos-25", "maxCursor": cursor})
    assert second.status_code == 502 and second.json() == OP.examples(502)["service_unavailable"]
    assert post(client, {"handle": "videos-25", "maxCursor": cursor}).content == normal, (
        "a 200 step without example is the real page"
    )
    assert client.get("/__admin/faults").json()["faults"] == []
    assert post(client, {"handle": "videos-25", "maxCursor": cursor}).content == normal

    forced = [e["forced"] for e in client.get("/__admin/requests").json()["requests"]][-6:]
    assert forced == [None, None, "fault 1 step 1 of 3", "fault 1 step 2 of 3", None, None]


def test_counted_steps_and_latency_per_step(client: TestClient) -> None:
    add(client, {"steps": [{"kind": "PASS", "count": 2}, {"status": 503, "count": 2}, {"delay_ms": 1}]})
    statuses = [post(client, {"handle": "videos-3"}).status_code for _ in range(6)]
    assert statuses == [200, 200, 503, 503, 200, 200]


def test_match_by_key_max_cursor_and_operation(client: TestClient) -> None:
    cursor = walk_cursor(client, "videos-25", 3)
    add(client, {"status": 404, "match": {"key": OTHER}})
    add(client, {"steps": [502], "match": {"max_cursor": cursor, "operation": OP.operation_id}})
    listed = client.get("/__admin/faults").json()["faults"]
    assert listed[0]["match"] == {"key": mask(OTHER)}, "the key is listed masked, its digest not at all"
    assert OTHER not in str(listed)
    assert post(client, {"handle": "videos-3"}).status_code == 200
    assert post(client, {"handle": "videos-3"}, key=OTHER).status_code == 404
    assert post(client, {"handle": "videos-25", "maxCursor": cursor}).status_code == 502
    assert post(client, {"handle": "videos-25", "maxCursor": cursor}).status_code == 200


def test_a_step_whose_probability_roll_fails_waits_for_the_next_request(client: TestClient) -> None:
    add(client, {"steps": [{"status": 503, "probability": 0}, 502]})
    assert all(post(client, {"handle": "videos-3"}).status_code == 200 for _ in range(5))
    assert client.get("/__admin/faults").json()["faults"][0]["remaining"] == 2


def test_the_original_one_step_body_still_works(client: TestClient) -> None:
    fault = add(client, {"status": 502, "example": "upstream_error", "count": 2, "probability": 1, "latency_ms": 0})
    assert {k: fault[k] for k in ("status", "example", "remaining", "kind", "state")} == {
        "status": 502, "example": "upstream_error", "remaining": 2, "kind": "STATUS", "state": "Started"
    }  # fmt: skip
    assert [post(client, {"handle": "x"}).status_code for _ in range(3)] == [502, 502, 200]


@pytest.mark.parametrize(
    "body, message",
    [({"steps": [503], "status": 503}, "not both"),
     ({"steps": [503], "count": 2}, "not both"),
     ({"steps": ["explode"]}, "unknown step 'explode'"),
     ({"steps": [{"kind": "reset", "status": 503}]}, "CONNECTION_RESET_BY_PEER sends no status"),
     ({"steps": [{"status": 502, "retry_after": 3}]}, "retry_after goes with the documented 503 only"),
     ({"steps": [418]}, "status 418 is not documented"),
     ({"steps": ["502/nope"]}, "502 has no example 'nope'"),
     ({"steps": [503], "match": {"page": 2, "max_cursor": "1"}}, "not both"),
     ({"steps": [503], "match": {"operation": "nope"}}, "no operation 'nope'"),
     ({"steps": [{"kind": "PASS", "stall_ms": 5}]}, "stall_ms belongs to a STALLED_BODY step"),
     ({"steps": []}, ""),
     ({"kind": "PASS"}, "a PASS fault changes nothing without a latency_ms"),
     ({"steps": [503], "match": {"colour": "red"}}, "")],
)  # fmt: skip
def test_bad_faults_are_refused_with_a_reason(client: TestClient, body: dict[str, Any], message: str) -> None:
    response = client.post("/__admin/faults", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert client.get("/__admin/faults").json()["faults"] == []


def test_step_spellings() -> None:
    assert parse_step(503) == {"kind": "STATUS", "status": 503, "count": 1}
    assert parse_step("502/service_unavailable") == {
        "kind": "STATUS",
        "status": 502,
        "example": "service_unavailable",
        "count": 1,
    }
    assert (
        parse_step("reset")
        == parse_step("CONNECTION_RESET_BY_PEER")
        == {"kind": "CONNECTION_RESET_BY_PEER", "count": 1}
    )
    assert parse_step({"delay_ms": 11000}) == {"kind": "PASS", "latency_ms": 11000, "count": 1}
    assert parse_step("stall") == {"kind": "STALLED_BODY", "count": 1}
    assert parse_step({"kind": "stall"})["stall_ms"] == 30_000
    with pytest.raises(FaultError):
        parse_fault({"steps": [True]}, load_contract())


def test_page_numbers_of_a_walk() -> None:
    profile = tiktok.Profile(1, "videos-35", 35, 10)
    cursors = [None]
    for _ in range(3):
        cursors.append(tiktok.page(profile, cursors[-1])["max_cursor"])
    assert [tiktok.page_number(profile, c) for c in cursors] == [1, 2, 3, 4]
    assert tiktok.page_number(profile, str(int(cursors[2]) - 1)) is None, "a cursor no walk sends"
    assert tiktok.page_number(profile, "") == 1


# --- Retry-After ---------------------------------------------------------------------------------------
def test_retry_after_is_off_by_default_and_per_step_when_asked(client: TestClient) -> None:
    add(client, {"steps": [503, {"status": 503, "retry_after": 7}]})
    assert "retry-after" not in post(client, {"handle": "x"}).headers
    response = post(client, {"handle": "x"})
    assert response.headers["retry-after"] == "7" and "x-mock-violations" not in response.headers


def test_the_retry_after_switch_covers_the_ledgers_503(make_client: Callable[..., TestClient]) -> None:
    fixed = make_client(rate_limit=RateLimit(1, 3600), retry_after="5")
    assert post(fixed, {"handle": "x"}, key="sk_mock_demo").status_code == 200
    limited = post(fixed, {"handle": "x"}, key="sk_mock_demo")
    assert limited.status_code == 503 and limited.headers["retry-after"] == "5"
    window = make_client(rate_limit=RateLimit(1, 3600), retry_after="window")
    post(window, {"handle": "x"}, key="sk_mock_demo")
    assert 1 <= int(post(window, {"handle": "x"}, key="sk_mock_demo").headers["retry-after"]) <= 3600


# --- one schema from the command line, the environment and the config file -------------------------
FAULT_TEXT = "{steps: [503, reset, 200], match: {handle: videos-25, page: 3}}"
FAULT = {"match": {"handle": "videos-25", "page": 3}, "steps": [503, "reset", 200]}


def test_fault_from_flag_environment_and_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text(yaml.safe_dump({"faults": [FAULT], "retry_after": "window"}), encoding="utf-8")
    assert resolve({"faults": [FAULT_TEXT, '{"status": 502}']}, {}).faults == (FAULT, {"status": 502})
    assert resolve({}, {"DUMPLING_MOCK_FAULTS": f"[{FAULT_TEXT}]"}).faults == (FAULT,)
    from_file = resolve({"config": str(config)}, {})
    assert from_file.faults == (FAULT,) and from_file.retry_after == "window"
    captured: list[Settings] = []
    monkeypatch.setattr(cli, "serve", lambda settings: captured.append(settings) or 0)
    assert cli.main(["serve", "--fault", FAULT_TEXT, "--retry-after", "3"]) == 0
    assert captured[0].faults == (FAULT,) and captured[0].retry_after == "3"
    handed = settings_from_json(settings_to_json(captured[0]))  # what --workers hands to each worker
    assert (handed.faults, handed.retry_after) == (captured[0].faults, captured[0].retry_after)


def test_configured_faults_are_installed_and_reinstalled_by_reset() -> None:
    client = TestClient(
        create_app(dataclasses.replace(Settings(), faults=({"steps": [502]},))), client=("127.0.0.1", 5)
    )
    with client:
        assert post(client, {"handle": "x"}, key="sk_mock_demo").status_code == 502
        assert post(client, {"handle": "x"}, key="sk_mock_demo").status_code == 200
        client.post("/__admin/reset")
        assert post(client, {"handle": "x"}, key="sk_mock_demo").status_code == 502


@pytest.mark.parametrize(
    "fault, message",
    [({"steps": [418]}, "--fault / faults: fault 1: status 418 is not documented"),
     ({"stauts": 503}, "--fault / faults: fault 1: "),
     ({"steps": ["explode"]}, "--fault / faults: fault 1: unknown step 'explode'")],
)  # fmt: skip
def test_a_bad_configured_fault_stops_the_start_in_one_line(
    fault: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(")):
        build_context(dataclasses.replace(Settings(), faults=(fault,)))
    assert cli.main(["serve", "--port", "0", "--fault", orjson.dumps(fault).decode()]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dumpling-mock: error: " + message)


def test_bad_fault_and_retry_after_values_name_their_source() -> None:
    with pytest.raises(SettingsError, match="^--fault: a fault is a YAML or JSON mapping"):
        resolve({"faults": ["[1, 2"]}, {})
    with pytest.raises(SettingsError, match="^DUMPLING_MOCK_RETRY_AFTER: must be off, window, or whole seconds"):
        resolve({}, {"DUMPLING_MOCK_RETRY_AFTER": "soon"})


@pytest.mark.parametrize("state", [False, True])
def test_both_stores_say_which_step_a_request_took(state: bool, tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite3" if state else None, [ApiKey(KEY, 1)], RateLimit(10, 60), 10)
    try:
        fault_id = store.add_fault({"steps": [{"kind": "STATUS", "status": 503}, {"kind": "STATUS", "status": 502}]}, 2)
        assert [store.take_fault(fault_id) for _ in range(3)] == [2, 1, 0]
    finally:
        store.close()


def test_fault_problem_gives_parse_faults_verdict_in_one_line() -> None:
    contract = load_contract()
    assert fault_problem(contract, {"status": 503, "count": 2}) is None
    assert (
        fault_problem(contract, {"latency_ms": 0})
        == "a fault needs a status, a latency_ms, or both (or a kind, or steps)"
    )
    assert fault_problem(contract, {"steps": [418]}) == "status 418 is not documented for listTikTokProfileVideos"


def test_the_ledgers_503_comes_before_a_broken_connection(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit=RateLimit(1, 3600))
    assert post(client, {"handle": "x"}, key="sk_mock_demo").status_code == 200
    add(client, {"steps": ["reset"]})
    limited = post(client, {"handle": "x"}, key="sk_mock_demo")  # answered in-process: no socket was needed
    assert limited.status_code == 503 and limited.json() == OP.examples(503)["rate_limited"]
    last = client.get("/__admin/requests").json()["requests"][-1]
    assert (last["status"], last["fault"], last["forced"]) == (503, None, "fault 1"), (
        "the step was used; the connection was not broken"
    )


def test_configured_faults_replace_what_a_state_file_kept(tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(), state=tmp_path / "state.sqlite3", faults=({"steps": [502, 503]},))
    for _ in range(2):  # a restart with the same settings
        ctx = build_context(settings)
        try:
            assert [f["steps"][0]["status"] for f in ctx.store.faults()] == [502]
        finally:
            ctx.store.close()
    ctx = build_context(settings, install_faults=False)  # what a --workers child does
    try:
        assert len(ctx.store.faults()) == 1
    finally:
        ctx.store.close()


def test_the_readme_example_is_one_fault_in_all_three_forms() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Faults: sequences, matches, and faults below HTTP", 1)[1]
    body = orjson.loads(section.split("-d '", 1)[1].split("'", 1)[0])
    flag = section.split("dumpling-mock serve --fault '", 1)[1].split("'", 1)[0]
    config = yaml.safe_load(section.split("```yaml", 1)[1].split("```", 1)[0])
    assert resolve({"faults": [flag]}, {}).faults == (body,) == tuple(config["faults"])
    ((spec, count),) = check_configured([body], load_contract())
    assert count == 5 and [s["kind"] for s in spec["steps"]] == [
        "STATUS",
        "STATUS",
        "CONNECTION_RESET_BY_PEER",
        "PASS",
        "STATUS",
    ]
    assert spec["steps"][3]["latency_ms"] == 11000 and spec["match"] == {"handle": "stoolpresidente", "page": 3}


def test_the_closed_set_of_kinds_is_the_admin_contracts() -> None:
    """faults/spec.py's kinds and short names are exactly openapi/admin.yaml's FaultKind enum."""
    from mock_server.admin.routes import load_admin_contract
    from mock_server.faults.spec import KINDS, SHORT_NAMES, TRANSPORT_KINDS

    enum = load_admin_contract().document["components"]["schemas"]["FaultKind"]["enum"]
    assert [*KINDS, *SHORT_NAMES] == enum
    assert set(TRANSPORT_KINDS) == set(KINDS) - {"STATUS", "PASS"}
    assert parse_step("502/service_unavailable") == {
        "kind": "STATUS",
        "status": 502,
        "example": "service_unavailable",
        "count": 1,
    }
    assert list(parse_step("502/service_unavailable")) == ["kind", "status", "example", "count"]
