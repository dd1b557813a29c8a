"""Property-based fuzz (hypothesis, bounded) of the request-parsing path, in-process: whatever the
body bytes, the JSON value or the header values, the answer is a status the contract documents,
with headers and body the contract allows for it (a documented message), and never a 500.

`Prefer` is left out of the header fuzz: it is the mock's own switch for asking for any documented
status, 500 included. Handles `error-NNN...` are reserved for the same purpose and filtered out.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import ENDPOINT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mock_server.admin.routes import load_admin_contract
from mock_server.app.factory import create_app
from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.settings import ApiKey, RateLimit, Settings

CONTRACT = load_contract()
OP = CONTRACT.operation("POST", ENDPOINT)
VALIDATOR = ContractValidator(CONTRACT)
ADMIN = load_admin_contract()
ADMIN_VALIDATOR = ContractValidator(ADMIN)
KEY = "sk_test_fuzzing_0001"
EXAMPLES = 200  # per property: bounded, a few seconds each
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# No lifespan (no `with`): the in-memory store stays open for every example of the module.
CLIENT = TestClient(
    create_app(Settings(api_keys=(ApiKey(KEY, 10**15),), rate_limit=RateLimit(10**9, 60), max_body_bytes=4096)),
    client=("127.0.0.1", 50000),
)
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


def assert_documented(response: Any) -> None:
    assert response.status_code != 500, response.text
    assert response.status_code in OP.statuses, response.status_code
    assert not VALIDATOR.response(OP, response.status_code, dict(response.headers), response.content), response.text
    assert "x-mock-violations" not in response.headers, response.headers["x-mock-violations"]


def reserved(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("handle"), str)
        and value["handle"].lstrip("@").startswith("error-")
    )


any_text = st.text(st.characters(exclude_categories=()))  # lone surrogates included: json.dumps escapes them
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text.filter(lambda t: len(t) <= 10), children, max_size=4)
    ),
    max_leaves=20,
)
request_like = st.fixed_dictionaries(
    {
        "handle": st.one_of(
            st.text(st.characters(exclude_categories=()), max_size=40),
            st.from_regex(r"[A-Za-z0-9._]{1,24}", fullmatch=True),
            json_values,
        )
    },
    optional={
        "maxCursor": st.one_of(st.text(max_size=25), st.from_regex(r"[0-9]{1,19}", fullmatch=True), json_values),
        "trim": st.one_of(st.booleans(), json_values),
        "requestSource": json_values,
        "extra": json_values,
    },
)


@FUZZ
@given(body=st.binary(max_size=600))
def test_any_body_bytes(body: bytes) -> None:
    assert_documented(CLIENT.post(ENDPOINT, content=body, headers=HEADERS))


@FUZZ
@given(value=st.one_of(json_values, request_like))
def test_any_json_value(value: Any) -> None:
    if reserved(value):
        return
    assert_documented(CLIENT.post(ENDPOINT, content=json.dumps(value).encode(), headers=HEADERS))


header_bytes = st.binary(max_size=80).filter(lambda b: b"\r" not in b and b"\n" not in b)


@FUZZ
@given(
    authorization=st.one_of(
        header_bytes, st.builds(lambda b: b"Bearer " + b, header_bytes), st.just(f"Bearer {KEY}".encode())
    ),
    content_type=st.one_of(
        header_bytes, st.sampled_from([b"application/json", b"application/json; charset=utf-8", b"text/plain"])
    ),
    extra=st.dictionaries(st.from_regex(r"x-[a-z0-9-]{1,20}", fullmatch=True), header_bytes, max_size=5),
)
def test_any_header_values(authorization: bytes, content_type: bytes, extra: dict[str, bytes]) -> None:
    headers = {"Authorization": authorization, "Content-Type": content_type, **extra}
    assert_documented(CLIENT.post(ENDPOINT, content=b'{"handle": "videos-1"}', headers=headers))


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=300), st.builds(lambda v: json.dumps(v).encode(), json_values)),
    path=st.sampled_from(["/__admin/faults", "/__admin/keys"]),
)
def test_any_admin_body(body: bytes, path: str) -> None:
    """The admin API parses bodies too: anything it refuses gets its documented 400."""
    method = "POST" if path.endswith("faults") else "PUT"
    response = CLIENT.request(method, path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400), response.text
    op = ADMIN.operation(method, path)
    assert op is not None
    assert not ADMIN_VALIDATOR.response(op, response.status_code, dict(response.headers), response.content)
    CLIENT.delete("/__admin/faults")  # a fault that fuzzing added must not change the next example
