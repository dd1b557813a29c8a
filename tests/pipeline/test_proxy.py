"""`dumpling-mock proxy`: in front of the live mock it is transparent and finds nothing; in front of
a mutated mock it reports the drift in `X-Mock-Violations` and the journal; it forwards requests
unchanged but for hop-by-hop headers, answers the documented 502 when the upstream fails, and
never logs a key.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import DEMO_KEY, ENDPOINT, LiveMock, auth, free_port
from drifting_upstream import drifting
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from mock_server.app.factory import create_app
from mock_server.cli.main import main
from mock_server.contract.document import load_contract
from mock_server.pipeline.forward import Forwarder
from mock_server.settings import Settings
from mock_server.testing.verify_client import running

OP = load_contract().by_id("listTikTokProfileVideos")
SECRET = "sk_live_Do_Not_Log_This_Key_4242"


@pytest.fixture(scope="module")
def upstream() -> Iterator[LiveMock]:
    """The real mock, as a process on a loopback port."""
    mock = LiveMock([]).start()
    yield mock
    mock.stop()


def proxy_client(upstream_url: str, forwarder: Forwarder | None = None) -> TestClient:
    app = create_app(Settings(upstream=upstream_url), responder=forwarder or Forwarder(upstream_url))
    return TestClient(app, client=("127.0.0.1", 50000))


# --- in front of the live mock: transparent and clean -------------------------------------------
def test_in_front_of_the_mock_the_proxy_is_transparent_and_clean(upstream: LiveMock) -> None:
    first = {"handle": "stoolpresidente"}
    with proxy_client(upstream.base_url) as proxy, httpx.Client(base_url=upstream.base_url) as direct:
        page = proxy.post(ENDPOINT, json=first, headers=auth())
        cases = [
            first,
            {"handle": "stoolpresidente", "maxCursor": page.json()["max_cursor"]},
            {"handle": "videos-3", "trim": True, "requestSource": "API"},
            {"handle": "error-404"},
            {"handle": "error-502-upstream_error"},
        ]
        for body in cases:
            via_proxy = proxy.post(ENDPOINT, json=body, headers=auth())
            straight = direct.post(ENDPOINT, json=body, headers=auth())
            assert (via_proxy.status_code, via_proxy.content) == (straight.status_code, straight.content), body
            assert "x-mock-violations" not in via_proxy.headers
            assert via_proxy.headers["content-type"] == straight.headers["content-type"]
            assert "x-ratelimit-remaining" in via_proxy.headers  # the upstream's, passed on
        refused = proxy.post(ENDPOINT, json=first, headers=auth("sk_unknown_to_the_mock"))
        assert refused.status_code == 401  # the upstream decides on keys
        assert "x-mock-violations" not in refused.headers
        journal = proxy.get("/__admin/requests").json()["requests"]
    assert len(journal) == len(cases) + 2
    assert all(not e["violations"] and not e.get("response_violations") for e in journal)
    assert {e["key"] for e in journal} == {"sk_…emo", "sk_u…mock"}  # masked: both ends, at most half of the key
    assert [e["status"] for e in journal][-3:] == [404, 502, 401]


# --- in front of a mutated mock: the drift is reported --------------------------------------------
def test_in_front_of_a_mutated_mock_the_proxy_reports_violations() -> None:
    with running(drifting(create_app(Settings())), "warning") as upstream, proxy_client(upstream) as proxy:
        page = proxy.post(ENDPOINT, json={"handle": "videos-25"}, headers=auth())
        missing = proxy.post(ENDPOINT, json={"handle": "error-404"}, headers=auth())
        journal = proxy.get("/__admin/requests").json()["requests"]

    assert page.status_code == 200
    assert page.json()["has_more"] == "yes"  # passed on unchanged
    header = page.headers["x-mock-violations"]
    assert "response.body/has_more" in header
    assert "response.headers/X-RateLimit-Limit: required header is missing" in header
    assert missing.status_code == 404
    assert "'Something went wrong.' is not a documented 404 message" in missing.headers["x-mock-violations"]
    pointers = [{v["pointer"] for v in e["response_violations"]} for e in journal]
    assert pointers == [{"/has_more", "/X-RateLimit-Limit"}, {"/error"}]


# --- what is forwarded ---------------------------------------------------------------------------
def echo_upstream(seen: list[dict[str, Any]], delay_s: float = 0.0) -> Starlette:
    """A fake upstream that records what it received and answers the contract's example page."""
    example = OP.examples(200)["profile_page"]

    async def endpoint(request: Request) -> Response:
        seen.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "headers": dict(request.headers),
                "body": await request.body(),
            }
        )
        await asyncio.sleep(delay_s)
        headers = {
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "9",
            "X-Upstream": "echo",
            "Keep-Alive": "timeout=5",
        }
        return Response(json.dumps(example), media_type="application/json", headers=headers)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])])


def test_requests_are_forwarded_unchanged_but_for_hop_by_hop_headers() -> None:
    seen: list[dict[str, Any]] = []
    body = b'{"handle": "stoolpresidente",  "requestSource": "NOT_A_SOURCE"}'
    headers = {
        **auth(SECRET),
        "X-Custom": "kept",
        "Connection": "X-Hop-Only",
        "X-Hop-Only": "dropped",
        "TE": "trailers",
        "Prefer": "code=404",
    }
    with running(echo_upstream(seen), "warning") as echo, proxy_client(echo) as proxy:
        response = proxy.post(ENDPOINT + "?trace=1&x=a%20b", content=body, headers=headers)

    [got] = seen
    assert (got["method"], got["path"], got["query"], got["body"]) == ("POST", ENDPOINT, "trace=1&x=a%20b", body)
    assert got["headers"]["authorization"] == f"Bearer {SECRET}"
    assert got["headers"]["x-custom"] == "kept"
    assert got["headers"]["prefer"] == "code=404"  # the upstream's business, not the proxy's
    assert "x-hop-only" not in got["headers"] and "te" not in got["headers"]
    # An invalid request is forwarded all the same, and its violation is reported.
    assert response.status_code == 200
    assert response.json() == OP.examples(200)["profile_page"]
    assert response.headers["x-upstream"] == "echo"
    assert "keep-alive" not in response.headers
    assert response.headers["x-mock-violations"].startswith("request.body/requestSource: ")


# --- when the upstream fails ---------------------------------------------------------------------
def test_an_unreachable_upstream_gives_the_documented_502() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with proxy_client(closed) as proxy:
        response = proxy.post(ENDPOINT, json={"handle": "x"}, headers=auth())
    assert response.status_code == 502
    assert response.json() == OP.examples(502)["service_unavailable"]
    assert "unreachable" in response.headers["x-mock-reason"]
    assert "x-mock-violations" not in response.headers


def test_a_slow_upstream_gives_the_documented_502() -> None:
    seen: list[dict[str, Any]] = []
    with running(echo_upstream(seen, delay_s=1.0), "warning") as slow:
        forwarder = Forwarder(slow, timeout=httpx.Timeout(0.2))
        with proxy_client(slow, forwarder) as proxy:
            response = proxy.post(ENDPOINT, json={"handle": "x"}, headers=auth())
    assert response.status_code == 502
    assert response.json() == OP.examples(502)["upstream_error"]
    assert "ReadTimeout" in response.headers["x-mock-reason"]


# --- the command ---------------------------------------------------------------------------------
def test_the_proxy_command_never_logs_a_key(upstream: LiveMock) -> None:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "mock_server",
        "proxy",
        "--upstream",
        upstream.base_url,
        "--port",
        str(port),
        "--log-level",
        "debug",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(base + "/__admin/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "proxy did not start"
                time.sleep(0.05)
        with httpx.Client(base_url=base) as client:
            statuses = [
                client.post(ENDPOINT, json={"handle": "videos-3"}, headers=auth(DEMO_KEY)).status_code,
                client.post(ENDPOINT, json={"handle": SECRET}, headers=auth(SECRET)).status_code,
                client.post(
                    ENDPOINT + f"?key={SECRET}", json={"handle": "x"}, headers={"Authorization": f"Token {SECRET}"}
                ).status_code,
                client.post(ENDPOINT, content=f"{{{SECRET}", headers=auth(SECRET)).status_code,
            ]
            journal = client.get("/__admin/requests").json()["requests"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    logs = err.decode()
    assert statuses == [200, 401, 401, 401]
    assert '"logger":"dumpling_mock.access"' in logs  # the access log was on, at debug level
    assert SECRET not in logs and DEMO_KEY not in logs
    assert SECRET not in json.dumps(journal) and DEMO_KEY not in json.dumps(journal)


def test_the_proxy_command_needs_an_upstream(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["proxy", "--port", "0"]) == 2
    assert "--upstream URL is required" in capsys.readouterr().err
    assert main(["proxy", "--upstream", "ftp://example"]) == 2
