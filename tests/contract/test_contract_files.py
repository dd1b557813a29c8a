"""The bundled contract: the vendor's YAML kept verbatim, the prose recorded as an OpenAPI Overlay,
the effective contract served by the mock, and a bigger vendor YAML served as it is dropped in.

Expected values come from the vendor page (openapi/vendor-page.md, an independent source) or from
the effective contract; nothing is copied from the code under test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from conftest import DEMO_KEY, ROOT, auth
from starlette.testclient import TestClient

from mock_server.contract.document import load_contract
from mock_server.contract.overlay import apply_overlay
from mock_server.contract.validator import ContractValidator

OPENAPI = ROOT / "openapi"
TIKTOK_OP = "listTikTokProfileVideos"


def page_text() -> str:
    return (OPENAPI / "vendor-page.md").read_text(encoding="utf-8")


def page_yaml_block() -> bytes:
    """The page's `OpenAPI` section: the fenced ````yaml block, as bytes."""
    match = re.search(r"^````yaml[^\n]*\n(.*?)^````", page_text(), re.S | re.M)
    assert match, "the vendor page has no ````yaml block"
    return match.group(1).encode("utf-8")


def page_errors() -> dict[int, dict[str, Any]]:
    """Per error status of the page: its example body and its 'Possible error messages' list."""
    sections: dict[int, dict[str, Any]] = {}
    parts = re.split(r"^#### (\d{3}) [^\n]*$", page_text().split("## Example Request")[0], flags=re.M)
    for status, body in zip(parts[1::2], parts[2::2], strict=False):
        example = re.search(r"```json[^\n]*\n(.*?)```", body, re.S)
        listed = re.search(r"Possible error messages:\s*\n((?:\s*\*[^\n]*\n)+)", body)
        sections[int(status)] = {
            "example": orjson.loads(example.group(1)) if example else None,
            "messages": re.findall(r"\*\s+`([^`]+)`", listed.group(1)) if listed else [],
        }
    return sections


# --- the files -------------------------------------------------------------------------------
def test_vendor_yaml_is_the_page_yaml_byte_for_byte() -> None:
    assert (OPENAPI / "vendor.yaml").read_bytes() == page_yaml_block()


def test_overlay_is_an_openapi_overlay_1_0_document() -> None:
    overlay = yaml.safe_load((OPENAPI / "prose.overlay.yaml").read_text(encoding="utf-8"))
    assert overlay["overlay"] == "1.0.0"
    assert overlay["info"]["title"] and overlay["info"]["version"]
    assert overlay["extends"] == "./vendor.yaml"
    assert overlay["actions"], "an overlay without actions adds nothing"
    for action in overlay["actions"]:
        assert isinstance(action["target"], str) and action["target"].startswith("$")
        assert ("update" in action) != bool(action.get("remove")), action["target"]
        assert set(action) <= {"target", "description", "update", "remove"}, action["target"]
    vendor = yaml.safe_load((OPENAPI / "vendor.yaml").read_text(encoding="utf-8"))
    assert load_contract().document == apply_overlay(vendor, overlay)


def test_the_vendor_yaml_alone_lacks_what_the_overlay_adds() -> None:
    """The overlay is not decoration: without it the 503, the 401 body and the examples are gone."""
    bare = load_contract(overlay=False).by_id(TIKTOK_OP)
    assert 503 not in bare.statuses
    assert bare.response_schema(401) is None
    assert all(not bare.examples(status) for status in bare.statuses)


def test_overlay_adds_the_503_the_401_body_and_rate_limit_headers() -> None:
    op = load_contract().by_id(TIKTOK_OP)
    errors = page_errors()
    assert 503 in op.statuses
    assert list(op.examples(503).values())[0] == errors[503]["example"]
    assert op.response_schema(401) is not None
    assert list(op.examples(401).values())[0] == errors[401]["example"]
    headers = op.responses["200"]["headers"]
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining"):  # the page's "Response Headers"
        assert name in page_text()
        assert headers[name]["required"] is True
        assert headers[name]["schema"]["type"] == "integer"
    for status in op.statuses:
        if status >= 400 and status != 401:  # 401: not authenticated, so no key to count against
            assert {"X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(op.header_names(status)), status


def test_overlay_makes_handle_non_empty() -> None:
    contract = load_contract()
    op = contract.by_id(TIKTOK_OP)
    validator = ContractValidator(contract)
    assert validator.request_body(op, {"handle": ""}), "an empty handle must break the contract"
    assert not validator.request_body(op, {"handle": "a"})
    schema = contract.document["components"]["schemas"]["TikTokProfileVideosRequest"]
    assert schema["properties"]["handle"]["minLength"] == 1


def test_every_documented_error_message_is_a_named_example_under_its_status() -> None:
    op = load_contract().by_id(TIKTOK_OP)
    errors = page_errors()
    assert set(errors) == {400, 401, 403, 404, 500, 502, 503}
    for status, section in errors.items():
        named = op.examples(status)
        documented = [v["error"] for v in named.values()]
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in named), named
        # The page's example body is the first named example: what `Prefer: code=NNN` returns.
        assert list(named.values())[0] == section["example"], status
        for message in section["messages"]:
            if message.endswith("..."):  # the page abbreviates: a prefix of a documented message
                assert any(m.startswith(message[:-3]) for m in documented), (status, message)
            else:
                assert message in documented, (status, message)
        assert len(documented) == len(set(documented)), status


def test_the_200_example_is_realistic_and_schema_valid() -> None:
    contract = load_contract()
    op = contract.by_id(TIKTOK_OP)
    validator = ContractValidator(contract)
    examples = op.examples(200)
    assert examples
    success = re.search(r"### Success \(200 OK\).*?```json[^\n]*\n(.*?)```", page_text(), re.S).group(1)
    page_example = orjson.loads(re.sub(r"^\s*//[^\n]*", "", success, flags=re.M))  # drop "// ... more videos"
    for name, value in examples.items():
        assert not validator.schema_violations(op.response_schema(200), value, "example"), name
        video = value["aweme_list"][0]
        # Same shape as the page's example, with real-looking values instead of "https://...".
        assert set(video) >= set(page_example["aweme_list"][0])
        assert set(video["statistics"]) == set(page_example["aweme_list"][0]["statistics"])
        assert re.fullmatch(r"\d{19}", video["aweme_id"])
        assert "#" in video["desc"]
        assert all(
            url.startswith("https://") and len(url) > len("https://...") for url in video["video"]["cover"]["url_list"]
        )
        assert value["max_cursor"] == str(min(v["create_time"] for v in value["aweme_list"]) * 1000)


def test_the_next_page_link_feeds_max_cursor_back_as_max_cursor() -> None:
    contract = load_contract()
    op = contract.by_id(TIKTOK_OP)
    links = op.responses["200"]["links"]
    link = links["NextPage"]
    assert link["operationId"] == op.operation_id
    request_fields = contract.document["components"]["schemas"]["TikTokProfileVideosRequest"]["properties"]
    response_fields = contract.document["components"]["schemas"]["TikTokProfileVideosResponse"]["properties"]
    for field, expression in link["requestBody"].items():
        assert field in request_fields
        source = expression.split("#/")[1]
        assert source in (response_fields if expression.startswith("$response.body") else request_fields)
    assert link["requestBody"]["maxCursor"] == "$response.body#/max_cursor"


def test_the_credit_cost_is_the_pages_figure() -> None:
    cost = int(re.search(r"costs \*\*(\d+) credits\*\* per successful request", page_text()).group(1))
    assert load_contract().by_id(TIKTOK_OP).credit_cost == cost


# --- the contract the mock serves ----------------------------------------------------------------
def test_openapi_json_and_yaml_serve_the_effective_contract(client: TestClient) -> None:
    effective = load_contract().document
    as_json = client.get("/openapi.json")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json() == effective
    as_yaml = client.get("/openapi.yaml")
    assert as_yaml.status_code == 200
    assert "yaml" in as_yaml.headers["content-type"]
    assert yaml.safe_load(as_yaml.text) == effective


def test_the_admin_api_is_not_in_the_vendor_contract(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    assert not [path for path in served["paths"] if path.startswith("/__admin")]
    admin = client.get("/__admin/openapi.json")
    assert admin.status_code == 200
    assert admin.json()["paths"] == yaml.safe_load((OPENAPI / "admin.yaml").read_text(encoding="utf-8"))["paths"]
    assert "/__admin/health" in admin.json()["paths"]


# --- a bigger vendor YAML ------------------------------------------------------------------------
EXTRA_OPERATIONS = {
    "/api/v1/get-tiktok-user": {
        "get": {
            "operationId": "getTikTokUser",
            "parameters": [{"name": "handle", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "A user.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TikTokUser"}}},
                },
                "401": {"description": "Missing or invalid API key."},
            },
        }
    },
    "/api/v1/search-tiktok": {
        "post": {
            "operationId": "searchTikTok",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["query"],
                            "additionalProperties": False,
                            # properties named like OpenAPI keywords must survive the conversion to JSON Schema
                            "properties": {
                                "query": {"type": "string", "minLength": 1},
                                "example": {"type": "boolean"},
                                "nullable": {"type": "integer"},
                            },
                        },
                        "example": {"query": "pizza", "example": True, "nullable": 3},
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Results.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["results", "total"],
                                "properties": {
                                    "results": {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": {"$ref": "#/components/schemas/TikTokUser"},
                                    },
                                    "total": {"type": "integer", "minimum": 0},
                                    "next": {"type": "string", "nullable": True},
                                },
                            }
                        }
                    },
                }
            },
        }
    },
    "/api/v1/status": {
        "get": {
            "operationId": "getStatus",
            "security": [],
            "responses": {
                "200": {
                    "description": "Service status.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["status", "checked_at"],
                                "properties": {
                                    "status": {"type": "string", "enum": ["ok", "degraded"]},
                                    "checked_at": {"type": "string", "format": "date-time"},
                                    "uptime": {"type": "number", "minimum": 0, "maximum": 1},
                                },
                            }
                        }
                    },
                }
            },
        }
    },
}
TIKTOK_USER = {
    "type": "object",
    "required": ["unique_id", "follower_count", "verified", "links"],
    "properties": {
        "unique_id": {"type": "string"},
        "follower_count": {"type": "integer", "minimum": 0},
        "verified": {"type": "boolean"},
        "links": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "region": {"type": "string", "enum": ["US", "GB", "FR"]},
    },
}


def bigger_vendor_yaml(tmp_path: Path, keep_tiktok: bool) -> Path:
    """The bundled vendor YAML plus three operations none of our overlay's actions target."""
    document = yaml.safe_load((OPENAPI / "vendor.yaml").read_text(encoding="utf-8"))
    if not keep_tiktok:
        document["paths"] = {}
    document["paths"].update(EXTRA_OPERATIONS)
    document["components"]["schemas"]["TikTokUser"] = TIKTOK_USER
    path = tmp_path / "vendor-bigger.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def empty_overlay(tmp_path: Path) -> Path:
    path = tmp_path / "empty.overlay.yaml"
    path.write_text("overlay: 1.0.0\ninfo: {title: nothing to add, version: 1.0.0}\nactions: []\n", encoding="utf-8")
    return path


def call(client: TestClient, op: Any) -> Any:
    """One request per operation, built from the contract: its example body, required query params."""
    params = {p["name"]: "stoolpresidente" for p in op.raw.get("parameters", []) if p.get("in") == "query"}
    body = None
    if op.request_schema is not None:
        media = op.raw["requestBody"]["content"]["application/json"]
        body = media.get("example") or {"handle": "stoolpresidente"}
    return client.request(op.method, op.path, params=params, json=body, headers=auth(DEMO_KEY))


@pytest.mark.parametrize("keep_tiktok", [True, False], ids=["with-bundled-overlay", "other-ops-only-empty-overlay"])
def test_a_bigger_vendor_yaml_serves_every_operation_with_schema_valid_data(
    make_client: Callable[..., TestClient], tmp_path: Path, keep_tiktok: bool
) -> None:
    vendor = bigger_vendor_yaml(tmp_path, keep_tiktok)
    overlay = (
        OPENAPI / "prose.overlay.yaml" if keep_tiktok else empty_overlay(tmp_path)
    )  # another YAML gets no overlay unless asked
    contract = load_contract(vendor, overlay)
    assert len(contract.operations) == len(EXTRA_OPERATIONS) + keep_tiktok
    validator = ContractValidator(contract)
    client = make_client(contract=vendor, overlay=overlay)
    assert client.get("/openapi.json").json() == contract.document
    for op in contract.operations:
        response = call(client, op)
        assert response.status_code == 200, (op.operation_id, response.text)
        assert "x-mock-violations" not in response.headers, (op.operation_id, response.headers["x-mock-violations"])
        body = response.json()
        assert body, op.operation_id
        assert not validator.response(op, 200, dict(response.headers), response.content), op.operation_id
        # Still the mock: no key, no data.
        assert client.request(op.method, op.path, json={}).status_code == (401 if op.secured else 200)
    # Requests are still validated against the dropped-in YAML's schemas.
    bad = client.post("/api/v1/search-tiktok", json={"query": ""}, headers=auth(DEMO_KEY))
    assert bad.status_code == 400
