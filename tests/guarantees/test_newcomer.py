"""What a newcomer trips over (issue 17): README claims checked one by one against the code.

The order of checks, `X-Mock-Reason` on every error, reserved handles answered like `Prefer`,
the admin API's partial key update and its refusal message, `videos-N` past the documented
maximum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from conftest import DEMO_KEY, ENDPOINT, auth
from starlette.testclient import TestClient

from mock_server.contract.document import load_contract
from mock_server.server.secrets import mask
from mock_server.settings import ApiKey

CONTRACT = load_contract()
OP = CONTRACT.operation("POST", ENDPOINT)
DOCUMENTED_CODES = ", ".join(str(s) for s in OP.statuses)


def post(client: TestClient, body: Any, key: str | None = DEMO_KEY, **headers: str) -> Any:
    sent = {**(auth(key) if key else {"Content-Type": "application/json"}), **headers}
    content = body if isinstance(body, (bytes, str)) else orjson.dumps(body)
    return client.post(ENDPOINT, content=content, headers=sent)


def error_of(status: int, name: str) -> dict[str, str]:
    return OP.examples(status)[name]


# --- validation comes before Prefer and faults ---------------------------------------------------
@pytest.mark.parametrize("prefer", ["code=404", "code=200", "code=502, example=upstream_error"])
def test_prefer_does_not_skip_request_validation(client: TestClient, prefer: str) -> None:
    response = post(client, {"handle": ""}, Prefer=prefer)
    assert response.status_code == 400
    assert response.json() == error_of(400, "handle_required")
    assert "x-mock-violations" not in response.headers


def test_prefer_does_not_skip_the_json_check(client: TestClient) -> None:
    response = post(client, b"not json", Prefer="code=200")
    assert response.status_code == 400
    assert response.json() == error_of(400, "invalid_json")


def test_a_prefer_for_a_handle_that_cannot_exist_gets_the_documented_404(client: TestClient) -> None:
    response = post(client, {"handle": "@"}, Prefer="code=502")
    assert response.status_code == 404
    assert response.json() == {"error": "TikTok profile not found for handle: @"}


def test_a_fault_does_not_answer_a_broken_request_and_stays_queued(client: TestClient) -> None:
    assert client.post("/__admin/faults", json={"status": 502, "count": 1}).status_code == 200
    try:
        broken = post(client, b"{not json")
        assert broken.status_code == 400
        assert broken.json() == error_of(400, "invalid_json")
        bad_cursor = post(client, {"handle": "stoolpresidente", "maxCursor": "abc"})
        assert bad_cursor.status_code == 400
        assert bad_cursor.json() == error_of(400, "service_issue")
        # The fault was not spent on the broken requests: the next valid one gets it.
        valid = post(client, {"handle": "stoolpresidente"})
        assert valid.status_code == 502
        assert valid.json() == error_of(502, "invalid_data_format")
        assert post(client, {"handle": "stoolpresidente"}).status_code == 200
    finally:
        client.delete("/__admin/faults")


def test_a_broken_request_is_still_delayed_by_a_latency_fault(client: TestClient) -> None:
    import time

    client.post("/__admin/faults", json={"latency_ms": 300})
    try:
        started = time.monotonic()
        assert post(client, {"handle": ""}).status_code == 400
        assert time.monotonic() - started >= 0.3
    finally:
        client.delete("/__admin/faults")


# --- X-Mock-Reason on the router's own errors ------------------------------------------------------
def test_an_unknown_path_carries_x_mock_reason(client: TestClient) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.headers["x-mock-reason"] == "no operation of the contract at /api/v1/nope"


def test_a_wrong_method_carries_x_mock_reason(client: TestClient) -> None:
    response = client.get(ENDPOINT)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["x-mock-reason"] == f"GET is not an operation at {ENDPOINT}; allowed: POST"


def test_an_unknown_non_ascii_path_still_gets_its_404(client: TestClient) -> None:
    response = client.get("/caf%C3%A9")
    assert response.status_code == 404
    assert response.headers["x-mock-reason"] == "no operation of the contract at /caf\\xe9"


# --- reserved handles answer like Prefer -----------------------------------------------------------
def test_an_undocumented_reserved_code_lists_the_documented_codes(client: TestClient) -> None:
    by_handle = post(client, {"handle": "error-418"})
    assert by_handle.status_code == 400
    assert by_handle.json() == {
        "error": f"reserved handle 'error-418': code 418 is not documented for this operation; documented codes: {DOCUMENTED_CODES}"
    }
    by_header = post(client, {"handle": "stoolpresidente"}, Prefer="code=418")
    assert by_header.json() == {
        "error": f"Prefer: code=418 is not documented for this operation; documented codes: {DOCUMENTED_CODES}"
    }


def test_an_unknown_reserved_example_lists_the_names(client: TestClient) -> None:
    names = ", ".join(OP.examples(500))
    by_handle = post(client, {"handle": "error-500-nope"})
    assert by_handle.status_code == 400
    assert by_handle.json() == {
        "error": f"reserved handle 'error-500-nope': example nope is not an example of 500; it has: {names}"
    }
    by_header = post(client, {"handle": "x"}, Prefer="code=500, example=nope")
    assert by_header.json() == {"error": f"Prefer: example=nope is not an example of 500; it has: {names}"}


# --- admin API ------------------------------------------------------------------------------------
def test_put_key_is_a_partial_update(make_client: Callable[..., TestClient]) -> None:
    key = "sk_partial_update_01"
    client = make_client(api_keys=(ApiKey(key, 500),))
    deactivated = client.put("/__admin/keys", json={"key": key, "active": False})
    assert deactivated.status_code == 200
    assert deactivated.json() == {"key": mask(key), "credits": 500, "active": False}
    assert post(client, {"handle": "x"}, key).status_code == 401
    topped_up = client.put("/__admin/keys", json={"key": key, "credits": 20})
    assert topped_up.json() == {"key": mask(key), "credits": 20, "active": False}
    created = client.put("/__admin/keys", json={"key": "sk_partial_new_0002"})
    assert created.json() == {"key": mask("sk_partial_new_0002"), "credits": 1_000_000, "active": True}


def test_put_key_is_a_partial_update_with_a_state_file(make_client: Callable[..., TestClient], tmp_path: Any) -> None:
    key = "sk_partial_update_01"
    client = make_client(api_keys=(ApiKey(key, 500),), state=tmp_path / "state.sqlite3")
    assert client.put("/__admin/keys", json={"key": key, "active": False}).json() == {
        "key": mask(key),
        "credits": 500,
        "active": False,
    }
    assert client.put("/__admin/keys", json={"key": key, "credits": 7}).json() == {
        "key": mask(key),
        "credits": 7,
        "active": False,
    }


def test_the_admin_contract_does_not_require_credits() -> None:
    from mock_server.admin.routes import load_admin_contract

    schema = load_admin_contract().document["components"]["schemas"]["KeyInput"]
    assert schema["required"] == ["key"]


def test_with_an_admin_token_a_loopback_caller_is_told_a_token_is_required(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(admin_token="s3cret-token-value")
    response = client.get("/__admin/keys")
    assert response.status_code == 403
    assert response.json() == {
        "error": "an admin token is required: send X-Admin-Token with the value of --admin-token (missing or wrong)"
    }
    assert client.get("/__admin/keys", headers={"X-Admin-Token": "s3cret-token-value"}).status_code == 200


# --- videos-N past the documented maximum -----------------------------------------------------------
def test_videos_n_up_to_ten_million_is_served(client: TestClient) -> None:
    response = post(client, {"handle": "videos-10000000", "trim": True})
    assert response.status_code == 200
    assert response.json()["has_more"] == 1


@pytest.mark.parametrize("handle", ["videos-10000001", "videos-99999999"])
def test_videos_n_above_ten_million_gets_the_documented_404(client: TestClient, handle: str) -> None:
    response = post(client, {"handle": handle})
    assert response.status_code == 404
    assert response.json() == {"error": f"TikTok profile not found for handle: {handle}"}
    assert response.headers["x-mock-reason"] == "videos-N has at most 10,000,000 videos"


# --- one rate-limit syntax ---------------------------------------------------------------------------
SAME_RATES = [
    ("2/s", "2/second"),
    ("100/m", "100/minute"),
    ("100/min", "100/minute"),
    ("5/h", "5/hour"),
    ("5/d", "5/day"),
    ("2/10s", "2/10second"),
]


@pytest.mark.parametrize("short, long", SAME_RATES)
def test_serve_env_and_config_accept_both_rate_limit_spellings(short: str, long: str, tmp_path: Any) -> None:
    from mock_server.settings import resolve

    config = tmp_path / "mock.yaml"
    config.write_text(f"rate_limit: {short}\n")
    by_flag = resolve({"rate_limit": short}, {}).rate_limit
    assert by_flag == resolve({"rate_limit": long}, {}).rate_limit
    assert resolve({}, {"DUMPLING_MOCK_RATE_LIMIT": short}).rate_limit == by_flag
    assert resolve({"config": str(config)}, {}).rate_limit == by_flag


@pytest.mark.parametrize("short, long", SAME_RATES)
def test_the_contract_kit_accepts_both_rate_limit_spellings(short: str, long: str) -> None:
    from contract_tests.options import _rate_limit, rate_text
    from mock_server.settings import parse_rate_limit

    assert _rate_limit(short) == _rate_limit(long) == parse_rate_limit(long)
    assert rate_text(parse_rate_limit(long)) == short.replace("/min", "/m")


@pytest.mark.parametrize("bad", ["fast", "0/s", "2/0s", "10/fortnight", "10"])
def test_a_bad_rate_limit_gets_the_same_message_everywhere(bad: str) -> None:
    from contract_tests.options import _rate_limit
    from mock_server.exceptions import SettingsError
    from mock_server.settings import resolve

    with pytest.raises(SettingsError) as serve_error:
        resolve({"rate_limit": bad}, {})
    with pytest.raises(pytest.UsageError) as kit_error:
        _rate_limit(bad)
    message = "must look like 600/minute or 2/s (N/second|minute|hour|day or N/s|m|h|d, optionally N/10second, N >= 1)"
    assert str(serve_error.value) == f"--rate-limit: {message} (got {bad!r})"
    assert str(kit_error.value) == f"--rate-limit: {message} (got {bad!r})"


def test_the_kit_budget_honours_a_rate_given_as_2_per_second() -> None:
    import time

    from contract_tests.budget import Budget
    from mock_server.settings import parse_rate_limit

    budget = Budget(None, parse_rate_limit("2/second"))
    started = time.monotonic()
    for _ in range(3):
        budget.take()
    assert time.monotonic() - started >= 0.45  # the third request waited for the window


# --- another vendor's YAML ---------------------------------------------------------------------------
OTHER_YAML = """
openapi: 3.0.3
info: {title: Another vendor, version: 1.0.0}
paths:
  /v1/ping:
    get:
      operationId: ping
      responses:
        '200':
          description: Pong, with a singular example and no schema.
          content:
            application/json:
              example: {pong: true, version: "2.1"}
  /v1/things:
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string, minLength: 1}}}
      responses:
        '201':
          description: Created, with named examples.
          content:
            application/json:
              schema: {type: object, properties: {id: {type: integer}}}
              examples:
                small: {value: {id: 1}}
                big: {value: {id: 99}}
        '404':
          description: Not found, with a singular example.
          content:
            application/json:
              schema: {type: object, properties: {message: {type: string}}}
              example: {message: "no such thing"}
"""


@pytest.fixture
def other_vendor(make_client: Callable[..., TestClient], tmp_path: Any) -> TestClient:
    path = tmp_path / "other.yaml"
    path.write_text(OTHER_YAML, encoding="utf-8")
    return make_client(contract=path)  # no --overlay: the bundled one is not applied


def test_another_vendor_yaml_starts_without_an_overlay(other_vendor: TestClient) -> None:
    document = other_vendor.get("/openapi.json").json()
    assert document["info"]["title"] == "Another vendor"
    assert list(document["paths"]) == ["/v1/ping", "/v1/things"]


def test_a_singular_example_is_served(other_vendor: TestClient) -> None:
    response = other_vendor.get("/v1/ping")
    assert response.status_code == 200
    assert response.json() == {"pong": True, "version": "2.1"}


def test_named_and_singular_examples_are_both_honoured(other_vendor: TestClient) -> None:
    created = other_vendor.post("/v1/things", json={"name": "a"})
    assert (created.status_code, created.json()) == (201, {"id": 1})
    big = other_vendor.post("/v1/things", json={"name": "a"}, headers={"Prefer": "code=201, example=big"})
    assert (big.status_code, big.json()) == (201, {"id": 99})
    missing = other_vendor.post("/v1/things", json={"name": "a"}, headers={"Prefer": "code=404"})
    assert (missing.status_code, missing.json()) == (404, {"message": "no such thing"})
    named = other_vendor.post("/v1/things", json={"name": "a"}, headers={"Prefer": "example=example"})
    assert (named.status_code, named.json()) == (404, {"message": "no such thing"})


def test_the_cli_prints_another_yaml_without_the_bundled_overlay(tmp_path: Any, capsys: Any) -> None:
    from mock_server.cli.main import main

    path = tmp_path / "other.yaml"
    path.write_text(OTHER_YAML, encoding="utf-8")
    assert main(["contract", "--format", "json", "--contract", str(path)]) == 0
    assert orjson.loads(capsys.readouterr().out)["info"]["title"] == "Another vendor"


# --- verify-client ------------------------------------------------------------------------------------
def verify(tmp_path: Any, *args: str) -> tuple[int, dict[str, Any]]:
    import json

    from mock_server.cli.main import main

    report = tmp_path / "report.json"
    code = main(["verify-client", "--report-json", str(report), *args])
    return code, json.loads(report.read_text()) if report.exists() else {}


def faulty(name: str) -> list[str]:
    import sys
    from pathlib import Path

    return [sys.executable, str(Path(__file__).resolve().parents[1] / "clients" / "faulty.py"), name]


def test_every_error_says_what_happened_when_the_client_stops_early(tmp_path: Any) -> None:
    queued = sum(len(OP.examples(s)) for s in OP.statuses if s >= 400)
    code, report = verify(tmp_path, "--inject", "every-error", "--", *faulty("stops-early"))
    assert [(r["status"], r["example"]) for r in report["requests"]] == [(400, "handle_required")]
    assert report["notes"][0] == (
        f"--inject every-error: 1 of the {queued} documented errors injected (400 handle_required); "
        f"the client made no further valid authenticated request, so the other {queued - 1} were not"
    )


def test_every_error_says_all_were_injected_when_they_were(tmp_path: Any) -> None:
    queued = sum(len(OP.examples(s)) for s in OP.statuses if s >= 400)
    code, report = verify(tmp_path, "--inject", "every-error", "--", *faulty("retry"))
    assert code == 0
    assert (
        report["notes"][0]
        == f"--inject every-error: {queued} requests got each of the {queued} documented errors in turn"
    )


def test_the_injected_500_carries_a_vendor_style_message(client: TestClient) -> None:
    client.post("/__admin/faults", json={"status": 500, "example": "unexpected_error", "count": 1})
    try:
        response = post(client, {"handle": "stoolpresidente"})
    finally:
        client.delete("/__admin/faults")
    assert response.status_code == 500
    assert response.json() == {
        "error": "An unexpected server error occurred while fetching the TikTok profile videos: Request failed with status code 500"
    }
    by_prefer = post(client, {"handle": "x"}, Prefer="code=500")
    assert by_prefer.json() == response.json()


def test_verify_client_listens_on_the_port_given(tmp_path: Any) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = tmp_path / "client.py"
    script.write_text(
        f"import os, sys\nsys.exit(0 if os.environ['DUMPLING_BASE_URL'] == 'http://127.0.0.1:{port}' else 5)\n"
    )
    import sys

    code, report = verify(tmp_path, "--port", str(port), "--", sys.executable, str(script))
    assert report["base_url"] == f"http://127.0.0.1:{port}"
    assert report["exit_code"] == 0  # the client saw the fixed URL (it made no request, so the run fails)
    assert code == 1


def test_verify_client_says_when_its_port_is_taken(tmp_path: Any, capsys: Any) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, _ = verify(tmp_path, "--port", str(port), "--", "true")
    assert code == 2
    assert capsys.readouterr().err.startswith(f"dumpling-mock: error: --port: cannot listen on 127.0.0.1:{port} (")


def test_verify_client_refuses_a_bad_port(tmp_path: Any, capsys: Any) -> None:
    code, _ = verify(tmp_path, "--port", "http", "--", "true")
    assert code == 2
    assert (
        capsys.readouterr().err == "dumpling-mock: error: --port: must be a whole number from 0 to 65535 (got 'http')\n"
    )


# --- --validation documented|vendor -------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, documented, vendor",
    [
        ({"handle": ""}, (400, "handle_required"), (404, "profile_not_found")),
        ({"handle": "videos-3", "maxCursor": ""}, (400, "service_issue"), (200, None)),
        ({"handle": "videos-3", "maxCursor": "abc"}, (400, "service_issue"), (200, None)),
        (
            {"handle": "videos-3", "maxCursor": 5},
            (400, "service_issue"),
            (400, "service_issue"),
        ),  # the YAML says string
        ({"handle": "videos-3", "trim": "yes"}, (400, "service_issue"), (400, "service_issue")),
        ({"handle": "not a handle"}, (404, "profile_not_found"), (404, "profile_not_found")),
    ],
)
def test_vendor_validation_accepts_what_the_vendor_yaml_accepts(
    make_client: Callable[..., TestClient],
    body: dict[str, Any],
    documented: tuple[int, str | None],
    vendor: tuple[int, str | None],
) -> None:
    from mock_server.contract.validator import ContractValidator

    for mode, (status, name) in (("documented", documented), ("vendor", vendor)):
        client = make_client(validation=mode)
        response = post(client, body)
        assert response.status_code == status, (mode, response.text)
        if name:
            expected = OP.examples(status)[name]
            assert response.json() == (
                {"error": expected["error"].replace("[handle]", body["handle"])} if status == 404 else expected
            )
        assert "x-mock-violations" not in response.headers, (mode, response.headers["x-mock-violations"])
        assert not ContractValidator(CONTRACT).response(
            OP, response.status_code, dict(response.headers), response.content
        )


def test_vendor_validation_serves_the_first_page_for_a_foreign_cursor_with_a_warning(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(validation="vendor")
    first = post(client, {"handle": "videos-25"})
    foreign = post(client, {"handle": "videos-25", "maxCursor": "abc"})
    assert foreign.content == first.content
    entry = client.get("/__admin/requests").json()["requests"][-1]
    assert entry["warnings"] == [
        "maxCursor 'abc' is not a cursor the mock gave (maxCursor must be 1..19 decimal digits); served the first page"
    ]


def test_vendor_validation_serves_the_vendors_request_schema(make_client: Callable[..., TestClient]) -> None:
    import yaml

    from mock_server.contract.document import bundled_path

    vendor = yaml.safe_load(bundled_path("vendor.yaml").read_text(encoding="utf-8"))
    served = make_client(validation="vendor").get("/openapi.json").json()
    name = "TikTokProfileVideosRequest"
    assert served["components"]["schemas"][name] == vendor["components"]["schemas"][name]
    assert served["paths"][ENDPOINT]["post"]["requestBody"] == vendor["paths"][ENDPOINT]["post"]["requestBody"]
    # Responses keep what the prose documents (the 503, the examples).
    assert "503" in served["paths"][ENDPOINT]["post"]["responses"]


def test_validation_is_a_setting_with_flag_env_and_config_key(tmp_path: Any) -> None:
    from mock_server.exceptions import SettingsError
    from mock_server.settings import resolve

    config = tmp_path / "mock.yaml"
    config.write_text("validation: vendor\n")
    assert resolve({}, {}).validation == "documented"
    assert resolve({"validation": "vendor"}, {}).validation == "vendor"
    assert resolve({}, {"DUMPLING_MOCK_VALIDATION": "vendor"}).validation == "vendor"
    assert resolve({"config": str(config)}, {}).validation == "vendor"
    with pytest.raises(SettingsError, match=r"^--validation: must be one of documented, vendor \(got 'loose'\)$"):
        resolve({"validation": "loose"}, {})


def plain_schemathesis(base_url: str, tmp_path: Any) -> Any:
    """`schemathesis run openapi/vendor.yaml` as a user would run it: the vendor's YAML, no config."""
    import subprocess
    import sys
    from pathlib import Path

    from mock_server.contract.document import bundled_path

    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", str(bundled_path("vendor.yaml")), "--url", base_url,
        "-H", f"Authorization: Bearer {DEMO_KEY}", "--seed", "1", "-n", "30", "--generation-database", "none", "--no-color",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)


@pytest.mark.slow  # ~5 s each: a live mock and a schemathesis run
@pytest.mark.parametrize("mode", ["documented", "vendor"])
def test_plain_schemathesis_with_the_vendor_yaml(mode: str, tmp_path: Any) -> None:
    from conftest import LiveMock

    mock = LiveMock(["--rate-limit", "1000000/minute", "--validation", mode]).start()
    try:
        done = plain_schemathesis(mock.base_url, tmp_path)
    finally:
        mock.stop()
    if mode == "vendor":
        assert done.returncode == 0, done.stdout[-4000:]
        assert "Schema-valid request rejected" not in done.stdout
        assert "passed" in done.stdout[done.stdout.rfind("Test cases:") :]
    else:  # the default keeps the prose's rules and the mock's assumptions, which the YAML does not have
        assert done.returncode == 1
        assert "Schema-valid request rejected" in done.stdout


# --- --cors --------------------------------------------------------------------------------------------
ORIGIN = "http://localhost:3000"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


def test_cors_is_off_by_default(client: TestClient) -> None:
    preflight = client.options(ENDPOINT, headers=PREFLIGHT)
    assert preflight.status_code == 405
    response = post(client, {"handle": "x"}, Origin=ORIGIN)
    assert "access-control-allow-origin" not in response.headers


def test_cors_answers_preflights_and_exposes_the_documented_headers(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors=(ORIGIN,))
    preflight = client.options(ENDPOINT, headers=PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "authorization,content-type"
    response = post(client, {"handle": "stoolpresidente"}, Origin=ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert (
        response.headers["access-control-expose-headers"]
        == "X-RateLimit-Limit, X-RateLimit-Remaining, X-Mock-Reason, X-Mock-Violations"
    )


def test_cors_refuses_other_origins_and_leaves_the_admin_api_out(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors=(ORIGIN,))
    other = client.options(ENDPOINT, headers={**PREFLIGHT, "Origin": "http://evil.example"})
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert other.json() == {"error": "Disallowed CORS origin"}
    assert other.headers["x-mock-reason"] == "CORS preflight refused: origin not allowed by --cors"
    admin = client.options("/__admin/keys", headers={**PREFLIGHT, "Access-Control-Request-Method": "PUT"})
    assert admin.status_code == 405 and "access-control-allow-origin" not in admin.headers
    assert "access-control-allow-origin" not in client.get("/__admin/keys", headers={"Origin": ORIGIN}).headers


def test_cors_any_origin(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors=("*",))
    assert (
        client.options(ENDPOINT, headers={**PREFLIGHT, "Origin": "http://127.0.0.1:5173"}).headers[
            "access-control-allow-origin"
        ]
        == "*"
    )


def test_cors_setting_from_flag_env_and_config(tmp_path: Any) -> None:
    from mock_server.exceptions import SettingsError
    from mock_server.settings import resolve

    config = tmp_path / "mock.yaml"
    config.write_text("cors: [http://localhost:3000, 'https://app.example.com']\n")
    expected = ("http://localhost:3000", "https://app.example.com")
    assert resolve({}, {}).cors == ()
    assert resolve({"cors": "http://localhost:3000,https://app.example.com/"}, {}).cors == expected
    assert resolve({}, {"DUMPLING_MOCK_CORS": "http://localhost:3000, https://app.example.com"}).cors == expected
    assert resolve({"config": str(config)}, {}).cors == expected
    with pytest.raises(
        SettingsError,
        match=r"^--cors: must be \* or comma-separated origins like http://localhost:3000 \(got 'localhost:3000'\)$",
    ):
        resolve({"cors": "localhost:3000"}, {})


# --- the first `make run` shows progress -----------------------------------------------------------------
def test_the_first_make_run_says_it_is_installing_and_shows_pips_progress(tmp_path: Any) -> None:
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[2]
    venv = tmp_path / "fresh-venv"
    import os

    env = {
        k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    }  # also under `make test`
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", f"VENV={venv}"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    lines = done.stdout.splitlines()
    assert (
        lines[0]
        == f'echo "make: installing dumpling-mock and its dependencies into {venv} (the first time takes about 30 s)"'
    )
    assert lines[1] == f"python3 -m venv {venv}"
    install = next(line for line in lines if "-e '.[test]'" in line)
    assert "--quiet" not in install.split() and "-q" not in install.split()  # pip prints each package as it goes
    assert lines.index(install) < lines.index(f'echo "make: installed into {venv}"')
    assert lines[-1].endswith("dumpling-mock serve --host 127.0.0.1 --port 8080")
