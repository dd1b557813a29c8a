"""Hostile input: every malformed, oversized or slow request gets a documented 4xx in the contract's
error shape at once, never a 500 or a hang. Bodies and statuses come from the effective contract.

In-process cases use the ASGI TestClient; cases an HTTP client library refuses to send (lying
Content-Length, endless chunked body, huge headers, trickled bytes, bad HTTP) use a raw socket
against a real `dumpling-mock serve`. Socket timeouts bound every wait: a hang fails the test.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from conftest import DEMO_KEY, ENDPOINT, LiveMock, auth
from starlette.testclient import TestClient

from mock_server.app.factory import create_app
from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.server.http_limits import MAX_HEADER_BYTES, MAX_HEADERS
from mock_server.settings import RateLimit, Settings

CONTRACT = load_contract()
OP = CONTRACT.operation("POST", ENDPOINT)
VALIDATOR = ContractValidator(CONTRACT)
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}
INVALID_JSON = OP.examples(400)["invalid_json"]
BIG = 2 * 1024 * 1024  # a raised --max-body-bytes, so that the parser (not the size limit) is tested
CLIENT_TIMEOUT = 1.0  # --client-timeout of the live mock, in seconds
WAIT = 8.0  # longest any answer may take before the test calls it a hang


def documented(status: int, example: str) -> dict[str, Any]:
    return OP.examples(status)[example]


def assert_conforms(response: Any) -> None:
    """Status, headers and body are what the contract documents for that status."""
    assert response.status_code in OP.statuses and response.status_code != 500
    assert not VALIDATOR.response(OP, response.status_code, dict(response.headers), response.content), response.text


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(rate_limit=RateLimit(10**9, 60), max_body_bytes=BIG)
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as shared:
        yield shared


def post(client: TestClient, content: bytes, **headers: str) -> Any:
    return client.post(ENDPOINT, content=content, headers={**auth(DEMO_KEY), **headers})


# --- bodies (in-process) ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"handle": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b'{"handle": "ab"', id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xef\xbb\xbf" + b'{"handle": "ab"}', id="utf8-bom"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-100000-arrays"),
        pytest.param(
            b'{"handle": "ab", "x": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}", id="nested-100000-objects"
        ),
        pytest.param(b'{"handle": "ab", "handle": "cd"}', id="duplicate-keys"),
        pytest.param(b'{"handle": "ab", "x": NaN}', id="nan"),
        pytest.param(b'{"handle": "ab", "x": ' + b"9" * 5000 + b"}", id="5000-digit-number"),
        pytest.param(b'{"handle": "\\ud800"}', id="lone-surrogate-escape"),
        pytest.param(b'{"\\udfff": 1, "handle": "ab"}', id="lone-surrogate-key"),
        pytest.param(b'{"handle": "a\x00b"}', id="raw-nul-in-string"),
        pytest.param(b'{"handle": "a\x1bb"}', id="raw-control-char-in-string"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'[{"handle": "ab"}]', id="array-of-object"),
        pytest.param(b'"ab"', id="string"),
        pytest.param(b"1", id="number"),
        pytest.param(b"null", id="null"),
        pytest.param(b"true", id="boolean"),
    ],
)
def test_bodies_that_are_not_one_json_object_get_invalid_json(client: TestClient, body: bytes) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert response.json() == INVALID_JSON
    assert_conforms(response)


def test_a_body_over_the_limit_gets_invalid_json(make_client: Callable[..., TestClient]) -> None:
    small = make_client(max_body_bytes=1024)
    response = post(small, orjson.dumps({"handle": "ab", "x": "y" * 2000}))
    assert response.status_code == 400 and response.json() == INVALID_JSON
    assert "larger than 1024 bytes" in response.headers["x-mock-reason"]


def test_huge_json_over_the_default_limit_gets_invalid_json(make_client: Callable[..., TestClient]) -> None:
    default = make_client()
    response = post(default, orjson.dumps({"handle": "ab", "x": list(range(2_000_000))}))  # ~15 MB
    assert response.status_code == 400 and response.json() == INVALID_JSON
    assert_conforms(response)


def test_huge_json_within_a_raised_limit_is_served(client: TestClient) -> None:
    """Size alone is no fault: a 1.9 MB body of unknown fields is accepted (with a warning)."""
    body = orjson.dumps({"handle": "ab", "x": list(range(250_000))})
    assert len(body) < BIG
    response = post(client, body)
    assert response.status_code == 200
    assert_conforms(response)


@pytest.mark.parametrize(
    "handle",
    [
        pytest.param("ab\u0000cd", id="nul"),
        pytest.param("\u0001\u001b[31mred\n\r\t\u007f", id="control-chars"),
        pytest.param("a" * 100_000, id="100000-chars"),
        pytest.param("\u202eevil\u200b", id="bidi-and-zero-width"),
    ],
)
def test_strange_handles_are_not_found_with_the_documented_404(client: TestClient, handle: str) -> None:
    """Schema-valid (a non-empty string) but no TikTok username: the vendor finds no profile."""
    response = post(client, json.dumps({"handle": handle}).encode())
    assert response.status_code == 404
    expected = documented(404, "profile_not_found")["error"].replace("[handle]", handle)
    assert response.json() == {"error": expected}
    assert_conforms(response)


def test_a_100000_character_handle_over_the_default_limit_gets_invalid_json(
    make_client: Callable[..., TestClient],
) -> None:
    response = post(make_client(), json.dumps({"handle": "a" * 100_000}).encode())
    assert response.status_code == 400 and response.json() == INVALID_JSON


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonp",
        "multipart/form-data; boundary=x",
        "",
    ],
)
def test_a_wrong_or_missing_content_type_gets_invalid_json(client: TestClient, content_type: str | None) -> None:
    headers = {"Authorization": f"Bearer {DEMO_KEY}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(ENDPOINT, content=b'{"handle": "ab"}', headers=headers)
    assert response.status_code == 400 and response.json() == INVALID_JSON
    assert_conforms(response)


def test_json_with_a_charset_parameter_is_accepted(client: TestClient) -> None:
    response = post(client, b'{"handle": "ab"}', **{"Content-Type": "Application/JSON; charset=utf-8"})
    assert response.status_code == 200


# --- routing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/index.html",
        "/api/v1/nope",
        "/api/v1/get-tiktok-profile-videos/extra",
        "/" + "a" * 5000,
        "/%00",
        "/..%2f..%2fetc/passwd",
    ],
)
def test_unknown_paths_get_a_json_404(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"{}", headers=auth())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert not VALIDATOR.schema_violations(ERROR_SCHEMA, response.json(), "response.body")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "HEAD"])
def test_other_methods_get_405_with_allow(client: TestClient, method: str) -> None:
    response = client.request(method, ENDPOINT, headers=auth())
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    if method != "HEAD":
        assert not VALIDATOR.schema_violations(ERROR_SCHEMA, response.json(), "response.body")


def test_admin_paths_also_answer_405_with_allow(client: TestClient) -> None:
    response = client.delete("/__admin/health")
    assert response.status_code == 405 and set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"status": 500, "probability": NaN}', b"\xff"])
def test_the_admin_api_refuses_hostile_bodies_with_its_400(client: TestClient, body: bytes) -> None:
    response = client.post("/__admin/faults", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and isinstance(response.json()["error"], str)
    assert client.get("/__admin/faults").json()["faults"] == []


# --- raw HTTP against a real server ------------------------------------------------------------------
@pytest.fixture(scope="module")
def live() -> Iterator[LiveMock]:
    mock = LiveMock(["--client-timeout", str(CLIENT_TIMEOUT), "--rate-limit", "1000000/minute"]).start()
    yield mock
    mock.stop()


class Answer:
    """A response read off a raw socket: status, lower-cased headers, body; `closed` if the server
    closed the connection after it."""

    def __init__(self, raw: bytes, closed: bool) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/1.1 ") else 0
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        self.closed = closed

    def json(self) -> Any:
        return json.loads(self.body)


def connect(mock: LiveMock) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", mock.port), timeout=WAIT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_answer(sock: socket.socket, then_closed: bool = False) -> Answer:
    """Read one response (Content-Length framed); fail (socket.timeout) rather than wait forever.
    `then_closed`: also find out whether the mock closes the connection right after it."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        if not chunk:
            return Answer(raw, closed=True)
        raw += chunk
    length = int(Answer(raw, False).headers.get("content-length", "0"))
    while len(raw.partition(b"\r\n\r\n")[2]) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    if not then_closed:
        return Answer(raw, closed=False)
    try:
        sock.settimeout(CLIENT_TIMEOUT / 2)  # sooner than the idle keep-alive close
        closed = sock.recv(1) == b""
    except (TimeoutError, ConnectionResetError):
        closed = False
    except OSError:
        closed = True
    return Answer(raw, closed)


def head(*lines: str, length: int | None = None, chunked: bool = False) -> bytes:
    fields = [
        f"POST {ENDPOINT} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {DEMO_KEY}",
        "Content-Type: application/json",
        *lines,
    ]
    if length is not None:
        fields.append(f"Content-Length: {length}")
    if chunked:
        fields.append("Transfer-Encoding: chunked")
    return ("\r\n".join(fields) + "\r\n\r\n").encode()


def assert_error_shape(answer: Answer) -> None:
    assert answer.headers.get("content-type") == "application/json"
    assert not VALIDATOR.schema_violations(ERROR_SCHEMA, answer.json(), "response.body")


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(live: LiveMock) -> None:
    with connect(live) as sock:
        sock.sendall(head(length=10**12))  # 1 TB announced, not a byte of it sent
        answer = read_answer(sock)
    assert answer.status == 400 and answer.json() == INVALID_JSON
    assert "larger than 65536 bytes" in answer.headers["x-mock-reason"]  # not a timeout waiting for it


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(live: LiveMock) -> None:
    """No Content-Length: the mock counts while reading and answers without waiting for the end."""
    with connect(live) as sock:
        sock.sendall(head(chunked=True))
        chunk = b"x" * 16384
        for _ in range(6):  # 96 KiB > the default 64 KiB; the terminating chunk is never sent
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = read_answer(sock)
    assert answer.status == 400 and answer.json() == INVALID_JSON
    assert "larger than 65536 bytes" in answer.headers["x-mock-reason"]  # not a timeout waiting for the end


def test_a_small_chunked_body_is_served(live: LiveMock) -> None:
    body = b'{"handle": "videos-1"}'
    with connect(live) as sock:
        sock.sendall(head(chunked=True) + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        answer = read_answer(sock)
    assert answer.status == 200


def test_a_body_trickled_slower_than_the_client_timeout_is_refused(live: LiveMock) -> None:
    body = b'{"handle": "ab"}'
    with connect(live) as sock:
        sock.sendall(head(length=len(body)) + body[:3])
        time.sleep(CLIENT_TIMEOUT / 2)
        sock.sendall(body[3:5])  # still 11 bytes short when the timeout passes
        answer = read_answer(sock)
    assert answer.status == 400 and answer.json() == INVALID_JSON
    assert "not received within" in answer.headers["x-mock-reason"]


def test_headers_trickled_slower_than_the_client_timeout_get_408(live: LiveMock) -> None:
    with connect(live) as sock:
        for line in (b"POST / HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n"):
            sock.sendall(line)
            time.sleep(CLIENT_TIMEOUT / 3)
        answer = read_answer(sock, then_closed=True)  # the blank line that ends the headers never comes
    assert answer.status == 408 and answer.closed
    assert_error_shape(answer)


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(live: LiveMock) -> None:
    with connect(live) as sock:
        assert sock.recv(1) == b""  # closed by the mock after the client timeout; a hang times out


def test_huge_headers_get_431(live: LiveMock) -> None:
    with connect(live) as sock:
        sock.sendall(head("X-Big: " + "a" * (MAX_HEADER_BYTES + 1), length=2) + b"{}")
        answer = read_answer(sock, then_closed=True)
    assert answer.status == 431 and answer.closed
    assert_error_shape(answer)


def test_an_endless_header_is_cut_off_with_431(live: LiveMock) -> None:
    """The header never ends: the mock answers once it has buffered the limit, not at the end."""
    with connect(live) as sock:
        sock.sendall(head()[:-2] + b"X-Endless: ")
        try:
            for _ in range(64):  # up to 4 MiB, far past the limit
                sock.sendall(b"a" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the mock answered and closed while we were still sending
        answer = read_answer(sock)
    assert answer.status == 431
    assert_error_shape(answer)


def test_too_many_headers_get_431(live: LiveMock) -> None:
    with connect(live) as sock:
        sock.sendall(head(*(f"X-H{i}: v" for i in range(MAX_HEADERS + 1)), length=2) + b"{}")
        answer = read_answer(sock)
    assert answer.status == 431
    assert_error_shape(answer)


def test_headers_within_the_limits_are_served(live: LiveMock) -> None:
    body = b'{"handle": "videos-1"}'
    with connect(live) as sock:
        sock.sendall(head(*(f"X-H{i}: {'v' * 100}" for i in range(MAX_HEADERS - 10)), length=len(body)) + body)
        answer = read_answer(sock)
    assert answer.status == 200


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, id="tls-hello"),
        pytest.param(b"GARBAGE\r\n\r\n", id="garbage"),
        pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n", id="nul-in-header"),
        pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", id="non-numeric-length"),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", id="two-lengths"
        ),
    ],
)
def test_requests_that_are_not_http_get_a_json_400(live: LiveMock, request_bytes: bytes) -> None:
    with connect(live) as sock:
        sock.sendall(request_bytes)
        answer = read_answer(sock, then_closed=True)
    assert answer.status == 400 and answer.closed
    assert_error_shape(answer)


def test_the_mock_still_serves_after_all_that(live: LiveMock) -> None:
    body = b'{"handle": "videos-2"}'
    with connect(live) as sock:
        sock.sendall(head(length=len(body)) + body)
        answer = read_answer(sock)
    assert answer.status == 200 and len(answer.json()["aweme_list"]) == 2
