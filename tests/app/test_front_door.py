"""The front door (README: "The front door"): `GET /` answers a browser with a small page and a
client with a JSON index; `/docs` renders the effective contract in Swagger UI with no network,
checked in headless Chromium (skipped, saying why, when Chromium is not installed).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import LiveMock
from starlette.testclient import TestClient

from mock_server import __version__
from mock_server.settings import ApiKey

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what Chromium sends
ENDPOINT = "/api/v1/get-tiktok-profile-videos"


def test_a_client_gets_a_json_index(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    index = response.json()
    assert index["name"] == "dumpling-mock"
    assert index["operations"] == [
        {
            "method": "POST",
            "path": ENDPOINT,
            "operationId": "listTikTokProfileVideos",
            "summary": "List TikTok profile videos",
        }
    ]
    assert index["links"] == {
        "docs": "/docs",
        "openapi_json": "/openapi.json",
        "openapi_yaml": "/openapi.yaml",
        "admin_openapi_json": "/__admin/openapi.json",
        "health": "/__admin/health",
    }
    assert index["example"] == (
        f"curl -X POST http://testserver{ENDPOINT} \\\n"
        "  -H 'Authorization: Bearer sk_mock_demo' -H 'Content-Type: application/json' \\\n"
        '  -d \'{ "handle": "stoolpresidente" }\''
    )
    for href in index["links"].values():
        assert client.get(href).status_code == 200, href


def test_a_browser_gets_a_small_page(client: TestClient) -> None:
    response = client.get("/", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert f"<h1>dumpling-mock {__version__}</h1>" in page
    assert "curl -X POST http://testserver/api/v1/get-tiktok-profile-videos" in page
    assert "-H &#x27;Authorization: Bearer sk_mock_demo&#x27;" in page
    for href in ("/docs", "/openapi.json", "/openapi.yaml", "/__admin/openapi.json", "/__admin/health"):
        assert f'<a href="{href}">' in page


def test_the_index_never_shows_a_configured_key(make_client: Any) -> None:
    client = make_client(api_keys=(ApiKey("sk_live_secret_0001", 10),))
    assert "sk_live_secret_0001" not in client.get("/").text
    assert "Bearer YOUR_API_KEY" in client.get("/").json()["example"]


def test_docs_load_only_files_the_mock_serves(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert "validatorUrl: null" in page.text  # Swagger UI's online validator is off
    for asset in ("/docs/static/swagger-ui.css", "/docs/static/swagger-ui-bundle.js"):
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 10_000, asset


# --- headless Chromium ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live() -> Iterator[LiveMock]:
    mock = LiveMock([]).start()
    yield mock
    mock.stop()


def render(url: str) -> str:
    """The DOM after Chromium ran the page's scripts, with every host but loopback unreachable:
    a dead proxy for anything not on loopback, and no name resolution but 127.0.0.1."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the offline /docs check needs it")
    with tempfile.TemporaryDirectory(prefix="dumpling-chromium-") as profile:
        command = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--proxy-server=http://127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000", "--dump-dom", url,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_docs_render_the_operation_offline_in_chromium(live: LiveMock) -> None:
    dom = render(live.base_url + "/docs")
    assert f'data-path="{ENDPOINT}"' in dom, dom[:2000]  # Swagger UI rendered the operation from /openapi.json
    assert "List TikTok profile videos" in dom
    assert "DumplingAI API" in dom


def test_the_home_page_renders_in_chromium(live: LiveMock) -> None:
    dom = render(live.base_url + "/")
    assert f"<h1>dumpling-mock {__version__}</h1>" in dom
    assert f"curl -X POST {live.base_url}{ENDPOINT}" in dom


def test_the_front_door_answers_get_only(client: TestClient) -> None:
    response = client.post("/", content=b"{}")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert response.json() == {"error": "Method Not Allowed"}


def test_another_contracts_index_shows_its_own_first_operation(make_client: Any, tmp_path: Any) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        "openapi: 3.0.3\ninfo: {title: Other API, version: '1'}\nsecurity: [{key: []}]\n"
        "components: {securitySchemes: {key: {type: http, scheme: bearer}}}\n"
        "paths:\n  /v1/ping:\n    get:\n      operationId: ping\n      summary: Ping\n"
        "      responses: {'200': {description: ok, content: {application/json: {example: {pong: true}}}}}\n"
    )
    index = make_client(contract=other).get("/").json()
    assert index["what"] == "an offline mock of Other API, served from its OpenAPI contract"
    assert index["operations"] == [{"method": "GET", "path": "/v1/ping", "operationId": "ping", "summary": "Ping"}]
    assert index["example"] == "curl -X GET http://testserver/v1/ping \\\n  -H 'Authorization: Bearer sk_mock_demo'"
