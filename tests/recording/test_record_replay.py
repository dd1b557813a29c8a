"""Record and replay (README: "Record and replay"): `proxy --record` writes a HAR 1.2 file with
credentials scrubbed, atomically, counting credits and honouring --max-requests; `serve --replay`
answers recorded requests byte for byte while the ledger still applies; `dumpling-contract --har`
checks a recording offline, sending nothing; a HAR exported by a browser reads the same way.
"""

from __future__ import annotations

import hashlib
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import requests
from conftest import ENDPOINT, LiveMock, auth, free_port
from drifting_upstream import drifting
from leaks import leaks
from starlette.testclient import TestClient

from contract_tests import cli as contract_cli
from mock_server.app.factory import create_app
from mock_server.contract.document import load_contract
from mock_server.pipeline.forward import Forwarder
from mock_server.recording import har
from mock_server.recording.recorder import Recorder
from mock_server.recording.replay import Replayer, index
from mock_server.server.secrets import mask
from mock_server.settings import ApiKey, Settings
from mock_server.testing.verify_client import running

SECRET = "sk_live_Do_Not_Write_This_Key_4242"
HANDLE = "walker"  # 25 videos: pages of 10, 10 and 5
FIXTURE = Path(__file__).parents[1] / "fixtures" / "browser-export.har"
CONTRACT = load_contract()


def upstream_app() -> Any:
    return create_app(Settings(api_keys=(ApiKey(SECRET, 1000),), handles={HANDLE: 25}))


def record_walk(upstream_url: str, path: Path) -> tuple[list[httpx.Response], str]:
    """Walk HANDLE to its end through a recording proxy, then a documented error and a bad key."""
    out = io.StringIO()
    recorder = Recorder(Forwarder(upstream_url), upstream_url, path, out=lambda: out)
    responses = []
    with TestClient(
        create_app(Settings(upstream=upstream_url), responder=recorder), client=("127.0.0.1", 50000)
    ) as proxy:
        body: dict[str, Any] = {"handle": HANDLE}
        while True:
            page = proxy.post(ENDPOINT, json=body, headers=auth(SECRET))
            responses.append(page)
            if page.status_code != 200 or page.json()["has_more"] != 1:
                break
            body = {"handle": HANDLE, "maxCursor": page.json()["max_cursor"]}
        responses.append(proxy.post(ENDPOINT, json={"handle": "error-404"}, headers=auth(SECRET)))
        responses.append(
            proxy.post(
                ENDPOINT + f"?key={SECRET}",
                json={"handle": HANDLE, "note": SECRET},
                headers={**auth("sk_wrong_key_0000"), "X-Api-Key": SECRET, "Cookie": f"session={SECRET}"},
            )
        )
    return responses, out.getvalue()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[httpx.Response], str]]:
    path = tmp_path_factory.mktemp("rec") / "walk.har"
    with running(upstream_app(), "warning") as upstream:
        responses, printed = record_walk(upstream, path)
    yield path, responses, printed


# --- record ----------------------------------------------------------------------------------------
def test_recording_a_walk_through_the_proxy_writes_a_har_and_counts_credits(
    recorded: tuple[Path, list[httpx.Response], str],
) -> None:
    path, responses, printed = recorded
    assert [r.status_code for r in responses] == [200, 200, 200, 404, 401]
    assert printed.splitlines() == [
        "recorded 1 interaction, 10 credits",
        "recorded 2 interactions, 20 credits",
        "recorded 3 interactions, 30 credits",
        "recorded 4 interactions, 30 credits",  # errors cost nothing
        "recorded 5 interactions, 30 credits",
    ]
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["log"]["version"] == "1.2"
    assert document["log"]["creator"]["name"] == "dumpling-mock"
    entries = document["log"]["entries"]
    assert [e["response"]["status"] for e in entries] == [200, 200, 200, 404, 401]
    assert [e["response"]["content"]["text"].encode() for e in entries] == [r.content for r in responses]
    for entry in entries:  # the fields HAR 1.2 requires (http://www.softwareishard.com/blog/har-12-spec/)
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)
        assert {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"} <= set(
            entry["request"]
        )
        assert {
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        } <= set(entry["response"])
        assert {"size", "mimeType"} <= set(entry["response"]["content"]) and {"send", "wait", "receive"} <= set(
            entry["timings"]
        )
    assert json.loads(entries[1]["request"]["postData"]["text"]) == {
        "handle": HANDLE,
        "maxCursor": responses[0].json()["max_cursor"],
    }


def test_the_recording_never_holds_a_credential(recorded: tuple[Path, list[httpx.Response], str]) -> None:
    path, _, printed = recorded
    raw = path.read_bytes()
    assert leaks(SECRET, raw.decode()) == [] and leaks("sk_wrong_key_0000", raw.decode()) == []  # in no decodable form
    assert leaks(SECRET, printed) == []
    entries = json.loads(raw)["log"]["entries"]
    headers = [{h["name"]: h["value"] for h in e["request"]["headers"]} for e in entries]
    assert {h["authorization"] for h in headers} == {"Bearer REDACTED"}  # a placeholder, never a hash
    assert (headers[-1]["x-api-key"], headers[-1]["cookie"]) == ("REDACTED", "REDACTED")
    assert entries[-1]["request"]["url"].endswith(f"?key={mask(SECRET)}")  # the project's one masking function
    assert json.loads(entries[-1]["request"]["postData"]["text"]) == {"handle": HANDLE, "note": mask(SECRET)}
    for algorithm in ("md5", "sha1", "sha256"):  # a placeholder, never a hash a dictionary could reverse
        assert hashlib.new(algorithm, SECRET.encode()).hexdigest().encode() not in raw


def test_scrub_masks_keys_everywhere_and_replaces_credential_headers() -> None:
    exchange = har.Exchange(
        "POST",
        f"https://api.example.com/x?api_key={SECRET}",
        (("Authorization", f"Bearer {SECRET}"), ("X-Trace", f"k={SECRET}")),
        f'{{"handle":"{SECRET}"}}'.encode(),
        200,
        (("Set-Cookie", f"s={SECRET}; Path=/"),),
        f'{{"echo":"{SECRET}"}}'.encode(),
    )
    clean = har.scrub(exchange, [SECRET])
    assert SECRET not in repr(clean) and "Do_Not_Write" not in repr(clean)
    assert clean.request_headers[0] == ("Authorization", "Bearer REDACTED")
    assert clean.response_headers == (("Set-Cookie", "REDACTED"),)


def test_a_killed_recorder_leaves_a_valid_har_and_max_requests_stops_forwarding(tmp_path: Path) -> None:
    path = tmp_path / "killed.har"
    port = free_port()
    with running(upstream_app(), "warning") as upstream:
        cmd = [
            sys.executable,
            "-m",
            "mock_server",
            "proxy",
            "--upstream",
            upstream,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--record",
            str(path),
            "--max-requests",
            "2",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(base + "/__admin/health", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline and proc.poll() is None
                    time.sleep(0.05)
            statuses = [
                httpx.post(base + ENDPOINT, json={"handle": h}, headers=auth(SECRET), timeout=10).status_code
                for h in (HANDLE, "error-404", HANDLE)
            ]
            refused = httpx.post(base + ENDPOINT, json={"handle": HANDLE}, headers=auth(SECRET), timeout=10)
        finally:
            proc.send_signal(signal.SIGKILL)  # no clean shutdown: the file must be whole already
            _, err = proc.communicate(timeout=15)
    assert statuses == [200, 404, 503]
    assert "--max-requests 2" in refused.headers["x-mock-reason"]
    entries = json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
    assert [e["response"]["status"] for e in entries] == [200, 404]
    assert "recorded 2 interactions, 10 credits" in err.decode()
    assert leaks(SECRET, (path.read_bytes() + err).decode()) == []


# --- replay ----------------------------------------------------------------------------------------
def replay_client(files: list[Path], on_miss: str = "generate", credits: int = 100) -> TestClient:
    app = create_app(
        Settings(api_keys=(ApiKey("sk_replay_key", credits),), rate_limit="1000/minute"),
        responder=Replayer(index(CONTRACT, files), on_miss),
    )
    return TestClient(app, client=("127.0.0.1", 50000))


def test_replay_serves_the_recorded_walk_byte_for_byte_and_charges_credits(
    recorded: tuple[Path, list[httpx.Response], str],
) -> None:
    path, responses, _ = recorded
    with replay_client([path], on_miss="error") as mock:
        body: dict[str, Any] = {"handle": HANDLE}
        pages = []
        for _ in range(3):  # the recorded cursors lead to the recorded next pages
            page = mock.post(ENDPOINT, json=body, headers=auth("sk_replay_key"))
            pages.append(page)
            body = {"handle": HANDLE, "maxCursor": page.json()["max_cursor"]}
        missing = mock.post(ENDPOINT, json={"handle": "error-404"}, headers=auth("sk_replay_key"))
        keys = mock.get("/__admin/keys").json()["keys"]
        journal = mock.get("/__admin/requests").json()["requests"]
    assert [p.content for p in pages] == [r.content for r in responses[:3]]
    assert [p.headers["x-ratelimit-remaining"] for p in pages] == [
        "999",
        "998",
        "997",
    ]  # the contract's headers, from the ledger
    assert [p.headers["content-type"] for p in pages] == ["application/json"] * 3
    assert keys[0]["credits"] == 100 - 3 * 10
    assert missing.status_code == 404 and missing.content == responses[3].content
    # A reserved handle (error-404) is the mock's own way to ask for an error, like Prefer: not replayed.
    assert [e["replayed"] for e in journal] == ["walk.har#0", "walk.har#1", "walk.har#2", None]


def test_replay_keeps_the_ledger_prefer_and_the_mocks_keys(recorded: tuple[Path, list[httpx.Response], str]) -> None:
    path, _, _ = recorded
    with replay_client([path], credits=10) as mock:
        preferred = mock.post(
            ENDPOINT, json={"handle": HANDLE}, headers={**auth("sk_replay_key"), "Prefer": "code=404"}
        )
        paid = mock.post(ENDPOINT, json={"handle": HANDLE}, headers=auth("sk_replay_key"))
        broke = mock.post(ENDPOINT, json={"handle": HANDLE}, headers=auth("sk_replay_key"))
        unknown = mock.post(ENDPOINT, json={"handle": HANDLE}, headers=auth("sk_not_a_key_here"))
        journal = mock.get("/__admin/requests").json()["requests"]
    assert [r.status_code for r in (preferred, paid, broke, unknown)] == [404, 200, 403, 401]
    assert [e["replayed"] for e in journal] == [None, "walk.har#0", None, None]


def test_replay_keeps_faults_and_rate_limits(recorded: tuple[Path, list[httpx.Response], str]) -> None:
    path, responses, _ = recorded
    app = create_app(
        Settings(api_keys=(ApiKey("sk_replay_key", 100),), rate_limit="2/minute"),
        responder=Replayer(index(CONTRACT, [path]), "error"),
    )
    with TestClient(app, client=("127.0.0.1", 50000)) as mock:
        assert mock.post("/__admin/faults", json={"status": 503, "count": 1}).status_code in (200, 201)
        faulted = mock.post(ENDPOINT, json={"handle": HANDLE}, headers=auth("sk_replay_key"))
        replayed = mock.post(ENDPOINT, json={"handle": HANDLE}, headers=auth("sk_replay_key"))
        limited = mock.post(ENDPOINT, json={"handle": HANDLE}, headers=auth("sk_replay_key"))
    assert (faulted.status_code, replayed.status_code, limited.status_code) == (503, 200, 503)
    assert replayed.content == responses[0].content
    assert limited.headers["x-ratelimit-remaining"] == "0"


@pytest.mark.parametrize("on_miss, status", [("generate", 200), ("404", 404), ("error", 500)])
def test_a_miss_is_generated_or_fails_loudly(
    recorded: tuple[Path, list[httpx.Response], str], on_miss: str, status: int
) -> None:
    path, _, _ = recorded
    with replay_client([path], on_miss=on_miss) as mock:
        response = mock.post(ENDPOINT, json={"handle": "never_recorded"}, headers=auth("sk_replay_key"))
        journal = mock.get("/__admin/requests").json()["requests"]
    assert response.status_code == status
    assert journal[0]["replayed"] is None
    if status != 200:
        assert (
            response.headers["x-mock-reason"]
            == f"no recorded response for handle 'never_recorded', maxCursor None, trim False (--on-miss {on_miss})"
        )
        assert "x-mock-violations" not in response.headers


def test_serve_replay_command(recorded: tuple[Path, list[httpx.Response], str]) -> None:
    path, responses, _ = recorded
    mock = LiveMock(["--replay", str(path), "--replay", str(FIXTURE), "--on-miss", "404"]).start()
    try:
        first = httpx.post(mock.base_url + ENDPOINT, json={"handle": HANDLE}, headers=auth(), timeout=10)
        browser = httpx.post(mock.base_url + ENDPOINT, json={"handle": "browser_recorded"}, headers=auth(), timeout=10)
        miss = httpx.post(mock.base_url + ENDPOINT, json={"handle": "nobody_here"}, headers=auth(), timeout=10)
    finally:
        mock.stop()
    assert first.content == responses[0].content
    assert browser.status_code == 200 and browser.json()["aweme_list"][0]["aweme_id"] == "7301234567890123456"
    assert miss.status_code == 404


# --- the offline check ----------------------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the offline check sent a request")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)


def test_the_unmodified_recording_conforms_offline(
    recorded: tuple[Path, list[httpx.Response], str], tmp_path: Path, no_network: None
) -> None:
    path, _, _ = recorded
    code = contract_cli.main(["--har", str(path), "--reports-dir", str(tmp_path)])
    data = json.loads((tmp_path / "findings.json").read_text())
    assert (code, data["findings"], data["requests"]) == (0, [], 0)
    assert data["examined"]["pagination_walk"] == 1
    assert data["examined"]["status_code_conformance"] == 5
    assert (
        f"pagination_walk: handle '{HANDLE}' from the first page: 3 recorded page(s), 25 item(s); stopped at has_more=0 on the last recorded page (the request that would confirm the end was not recorded)"
        in data["notes"]
    )
    assert {p.name for p in tmp_path.iterdir()} >= {
        "drift-report.md",
        "drift-report.html",
        "findings.json",
        "junit.xml",
    }
    assert 'failures="0"' in (tmp_path / "junit.xml").read_text()


def test_a_drifted_upstreams_recording_is_reported_with_the_right_checks(tmp_path: Path, no_network: None) -> None:
    path = tmp_path / "drift.har"
    with running(
        drifting(upstream_app(), has_more=lambda value: "yes" if value == 1 else value), "warning"
    ) as upstream:
        out = io.StringIO()
        recorder = Recorder(Forwarder(upstream), upstream, path, out=lambda: out)
        with TestClient(
            create_app(Settings(upstream=upstream), responder=recorder), client=("127.0.0.1", 50000)
        ) as proxy:
            first = proxy.post(ENDPOINT, json={"handle": HANDLE}, headers=auth(SECRET))
            proxy.post(ENDPOINT, json={"handle": HANDLE, "maxCursor": first.json()["max_cursor"]}, headers=auth(SECRET))
            proxy.post(ENDPOINT, json={"handle": "error-404"}, headers=auth(SECRET))
    code = contract_cli.main(["--har", str(path), "--reports-dir", str(tmp_path / "reports")])
    data = json.loads((tmp_path / "reports" / "findings.json").read_text())
    found = {(f["check"], f["class"]) for f in data["findings"]}
    assert code == 1
    by_check = {f["check"]: f for f in data["findings"]}
    # The kit's classification: the vendor's YAML alone flags the pages (has_more is a string), so
    # every finding on them is a contract violation; the 404's message is only in the prose.
    assert found == {
        ("response_schema_conformance", "contract"),
        ("example_field_types", "contract"),
        ("response_headers_conformance", "contract"),
        ("rate_limit_headers", "contract"),
        ("pagination_walk", "contract"),
        ("error_body_documented", "documentation"),
    }
    assert by_check["rate_limit_headers"]["message"] == "X-RateLimit-Limit is missing (the contract requires it on 200)"
    assert by_check["error_body_documented"]["statuses"] == {"404": "documentation"}
    assert by_check["pagination_walk"]["message"].startswith("has_more='yes' on page 1, but maxCursor=")
    assert leaks(SECRET, "".join(p.read_text() for p in (tmp_path / "reports").iterdir())) == []


def test_the_offline_check_reports_what_reality_has_that_the_mock_does_not(tmp_path: Path, no_network: None) -> None:
    code = contract_cli.main(["--har", str(FIXTURE), "--reports-dir", str(tmp_path)])
    notes = json.loads((tmp_path / "findings.json").read_text())["notes"]
    reality = [n for n in notes if n.startswith("reality:")]
    assert code == 0
    assert (
        "reality: `aweme_list[*].music_info` (object) is in the recorded responses; the mock never generates it"
        in reality
    )
    assert (
        "reality: `aweme_list[*].music_info.title` (string) is in the recorded responses; the mock never generates it"
        in reality
    )


def test_a_key_in_a_foreign_har_is_masked_in_the_reports(tmp_path: Path) -> None:
    document = json.loads(FIXTURE.read_text())
    document["log"]["entries"][2]["response"]["content"]["text"] = '{"error":"nope"}'  # drift: an undocumented message
    path = tmp_path / "drift.har"
    path.write_text(json.dumps(document))
    assert contract_cli.main(["--har", str(path), "--reports-dir", str(tmp_path / "r")]) == 1
    finding = json.loads((tmp_path / "r" / "findings.json").read_text())["findings"][0]
    assert finding["request"].splitlines()[1] == f"Authorization: Bearer {mask('sk_browser_exported_secret_0001')}"
    written = b"".join(p.read_bytes() for p in (tmp_path / "r").iterdir())
    assert b"exported_secret_0001" not in written


def test_offline_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert contract_cli.main(["--har", str(tmp_path / "none.har")]) == 2
    assert "cannot read it" in capsys.readouterr().err
    (tmp_path / "bad.har").write_text('{"not": "a har"}')
    assert contract_cli.main(["--har", str(tmp_path / "bad.har")]) == 2
    assert contract_cli.main(["--har", str(FIXTURE), "--base-url", "http://127.0.0.1:9"]) == 2
    assert "cannot be used with it" in capsys.readouterr().err


# --- a HAR from another tool -------------------------------------------------------------------
def test_a_browser_exported_har_reads_and_replays() -> None:
    exchanges = har.read(FIXTURE)
    assert [(e.method, e.status) for e in exchanges] == [("GET", 200), ("POST", 200), ("POST", 404)]
    api = exchanges[1]
    assert not any(name.startswith(":") for name, _ in api.request_headers)  # HTTP/2 pseudo-headers dropped
    assert orjson.loads(api.response_body)["aweme_list"][0]["aweme_id"] == "7301234567890123456"  # base64 decoded
    with replay_client([FIXTURE], on_miss="error") as mock:
        page = mock.post(ENDPOINT, json={"handle": "@browser_recorded"}, headers=auth("sk_replay_key"))
        gone = mock.post(ENDPOINT, json={"handle": "ghost_profile"}, headers=auth("sk_replay_key"))
    assert page.content == api.response_body
    assert gone.status_code == 404 and gone.content == exchanges[2].response_body


def test_several_recordings_the_earlier_file_wins_and_within_a_file_the_first_2xx(tmp_path: Path) -> None:
    page = har.read(FIXTURE)[1]
    error = har.Exchange(
        page.method,
        page.url,
        page.request_headers,
        page.request_body,
        500,
        (("content-type", "application/json"),),
        b'{"error":"boom"}',
    )
    later = har.Exchange(
        page.method,
        page.url,
        page.request_headers,
        page.request_body,
        200,
        page.response_headers,
        b'{"aweme_list":[],"has_more":0}',
    )
    (first, second) = (tmp_path / "first.har", tmp_path / "second.har")
    har.write(first, [error, page, later])  # an error first, then two 2xx: the first 2xx wins
    har.write(second, [later])
    assert (
        index(CONTRACT, [first, second])[
            ("listTikTokProfileVideos", "browser_recorded", None, False)
        ].exchange.response_body
        == page.response_body
    )
    assert (
        index(CONTRACT, [second, first])[
            ("listTikTokProfileVideos", "browser_recorded", None, False)
        ].exchange.response_body
        == later.response_body
    )
    ledger = [
        har.Exchange(page.method, page.url, page.request_headers, page.request_body, status, (), b'{"error":"x"}')
        for status in (401, 403, 503)
    ]
    har.write(tmp_path / "ledger.har", ledger)
    assert (
        index(CONTRACT, [tmp_path / "ledger.har"]) == {}
    )  # the recording key's answers: the replaying mock's keys decide


def test_a_recording_without_a_contract_request_is_incomplete_and_replay_runs_one_worker(tmp_path: Path) -> None:
    path = tmp_path / "page-only.har"
    har.write(path, har.read(FIXTURE)[:1])  # only the browser's GET of the app's page
    assert contract_cli.main(["--har", str(path), "--reports-dir", str(tmp_path / "r")]) == 4
    assert (
        json.loads((tmp_path / "r" / "findings.json").read_text())["problem"]
        == "the recording holds no request to an operation of the contract"
    )
    from mock_server.cli.main import main

    assert main(["serve", "--replay", str(FIXTURE), "--workers", "2"]) == 2
    assert main(["serve", "--replay", str(tmp_path / "missing.har")]) == 2
    assert main(["serve", "--on-miss", "404"]) == 2
    assert main(["proxy", "--upstream", "http://127.0.0.1:9", "--max-requests", "3"]) == 2
    assert (
        main(["proxy", "--upstream", "http://127.0.0.1:9", "--record", str(path)]) == 2
    )  # never overwrites a recording
    assert har.read(path)[0].method == "GET"


def test_the_pytest_fixture_replays_a_recording(recorded: tuple[Path, list[httpx.Response], str]) -> None:
    from mock_server import MockServer
    from mock_server.exceptions import SettingsError

    path, responses, _ = recorded
    with MockServer(keys={"sk_fixture_key": 100}, replay=str(path), on_miss="404") as mock:
        page = httpx.post(mock.url + ENDPOINT, json={"handle": HANDLE}, headers=auth(mock.api_key), timeout=10)
        miss = httpx.post(mock.url + ENDPOINT, json={"handle": "nobody_here"}, headers=auth(mock.api_key), timeout=10)
        entries = mock.requests()
        credits = mock.credits()
    assert (page.content, miss.status_code, credits) == (responses[0].content, 404, 90)
    assert [e.replayed for e in entries] == ["walk.har#0", None]
    with pytest.raises(SettingsError, match="^on_miss: must be one of generate, 404, error"):
        MockServer(replay=str(path), on_miss="explode")
    with pytest.raises(SettingsError, match="^replay: .*cannot read it"):
        MockServer(replay=str(path) + ".missing")


def test_reality_notes_name_value_formats_the_mock_does_not_generate() -> None:
    from contract_tests.offline import reality_notes
    from mock_server.data.pages import Pages

    body = orjson.loads(Pages(Settings()).get("stoolpresidente", None, False))
    body["aweme_list"][0]["share_url"] = "tiktok.com/@x/video/1"  # a URL without its scheme
    body["aweme_list"][0]["statistics"]["play_count"] = "1200"  # a count as a numeric string
    exchange = har.Exchange(
        "POST",
        "https://app.dumplingai.com" + ENDPOINT,
        (),
        b'{"handle":"stoolpresidente"}',
        200,
        (),
        orjson.dumps(body),
    )
    assert reality_notes([exchange], Settings()) == [
        "reality: `aweme_list[*].share_url` is string in the recorded responses; the mock generates URL string",
        "reality: `aweme_list[*].statistics.play_count` is numeric string in the recorded responses; the mock generates integer",
    ]
