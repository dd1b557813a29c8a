"""The one masking function (mock_server/server/secrets.py), property-based: a random key, placed
anywhere, as is or encoded (JSON escapes, percent- and form-encoding, HTML references), in any
output (the kit's findings.json and drift-report.md, the mock's journal, state file and access
log, the proxy's X-Mock-Violations header and journal) never appears, not even a piece of it
longer than the mask shows (4 characters at each end), whatever cut follows.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import orjson
import pytest
from conftest import ENDPOINT
from hostile_target import HostileTarget, json_escaped, percent_all
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from leaks import leaks
from starlette.testclient import TestClient

from contract_tests import report
from contract_tests.findings import Classifier, Recorder
from mock_server.app.factory import create_app
from mock_server.contract.document import load_contract
from mock_server.journal.entry import JOURNAL_BODY_BYTES
from mock_server.pipeline.forward import Forwarder
from mock_server.server import secrets as key_secrets
from mock_server.settings import Settings

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~+/="
FILLER = " {}[]:,\"'!#$%&()*;<>?@\\^`|\t\né…\u2028"  # nothing a key is made of: a leak is a real one
ENCODINGS: list[Callable[[str], str]] = [
    lambda k: k,
    json_escaped,
    percent_all,
    lambda k: quote(k, safe=""),
    quote_plus,
    lambda k: quote(quote(k, safe=""), safe=""),
    lambda k: orjson.dumps(k).decode()[1:-1].replace("/", "\\/"),
    lambda k: "".join(f"&#{ord(c)};" for c in k),
    html.escape,
    lambda k: k.replace("+", " "),  # a '+' read back as a form-decoded space
    lambda k: "".join(f"\\u{ord(c):04x}" if i % 2 else c for i, c in enumerate(k)),  # mixed
]
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
keys = st.text(alphabet=KEY_ALPHABET, min_size=8, max_size=64)


@st.composite
def placed(draw: st.DrawFn, key: str, filler_size: int = 120) -> str:
    """Text holding `key` one to three times, each time in some encoding, anywhere."""
    filler = st.text(alphabet=FILLER, max_size=filler_size)
    parts = [draw(filler)]
    for _ in range(draw(st.integers(1, 3))):
        parts += [draw(st.sampled_from(ENCODINGS))(key), draw(filler)]
    return "".join(parts)


# --- the function itself ------------------------------------------------------------------------
@SETTINGS
@given(st.data(), keys)
def test_mask_text_and_any_cut_leave_no_piece_of_a_key(data: st.DataObject, key: str) -> None:
    text = data.draw(placed(key))
    assert leaks(key, key_secrets.mask_text(text, [key])) == []
    limit = data.draw(st.integers(0, len(text) + 5))
    cut = key_secrets.mask_excerpt(text, [key], limit)
    assert len(cut) <= limit and leaks(key, cut) == []
    assert leaks(key, key_secrets.mask_bytes_excerpt(text, [key], limit)) == []


@SETTINGS
@given(st.data(), keys)
def test_a_key_someone_else_cut_is_masked_too(data: st.DataObject, key: str) -> None:
    """schemathesis shortens long bodies in its messages: a start or an end of the key is left."""
    size = key_secrets.fragment_chars(key)
    start = key[: data.draw(st.integers(size, len(key)))]
    end = key[-data.draw(st.integers(size, len(key))) :]
    filler = st.text(alphabet=FILLER, max_size=40)
    text = data.draw(filler) + start + data.draw(filler) + end + data.draw(filler)
    masked = key_secrets.mask_text(text, [key], fragments=True)
    assert start not in masked and end not in masked
    assert leaks(key, masked, window=size) == []


@SETTINGS
@given(keys)
def test_the_mask_shows_at_most_half_and_at_most_eight_characters(key: str) -> None:
    shown = key_secrets.mask(key)
    assert shown.count("…") == 1
    assert len(shown) - 1 <= min(8, len(key) // 2)
    assert key.startswith(shown.split("…")[0]) and key.endswith(shown.split("…")[1])


# --- the kit's reports ------------------------------------------------------------------------------
@dataclass
class FakeRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeResponse:
    """The parts of schemathesis' Response the recorder reads."""

    request: FakeRequest
    content: bytes
    status_code: int = 401
    message: str = "Unauthorized"
    headers: dict[str, list[str]] = field(default_factory=lambda: {"content-type": ["application/json"]})


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_contract(overlay=False))


@SETTINGS
@given(st.data(), keys)
def test_the_kit_reports_never_hold_the_key(
    tmp_path_factory: pytest.TempPathFactory, classifier: Classifier, data: st.DataObject, key: str
) -> None:
    long = placed(key, filler_size=600)  # past the 400-character excerpt: cuts land anywhere
    recorder = Recorder(classifier, [key], {})
    for check in ("auth_enforced", "not_a_server_error"):
        request = FakeRequest(
            "POST",
            "http://127.0.0.1:1/api?k=" + data.draw(placed(key)),
            {"Authorization": f"Bearer {key}"},
            data.draw(long).encode(),
        )
        recorder.add(check, FakeResponse(request, data.draw(long).encode()), "title", data.draw(long))  # type: ignore[arg-type]
    summary = report.Summary(
        target="http://127.0.0.1:1",
        exit_code=1,
        requests=2,
        successes=0,
        budget=2,
        credit_cost=10,
        fail_on=frozenset({"contract"}),
        findings=list(recorder.findings.values()),
        examined={"auth_enforced": 1},
        notes=[],
        problem="",
    )
    written = report.write(summary, tmp_path_factory.mktemp("reports"))
    text = "".join(path.read_text("utf-8") for path in written)
    assert len(recorder.findings) == 2 and leaks(key, text) == []


# --- the mock: journal, state file, access log ------------------------------------------------------
@pytest.fixture(scope="module")
def mock_with_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    folder = tmp_path_factory.mktemp("state")
    with TestClient(create_app(Settings(state=folder / "state.sqlite3")), client=("127.0.0.1", 50000)) as client:
        yield client, folder


@pytest.fixture
def access_log() -> Iterator[None]:
    logger = logging.getLogger("dumpling_mock.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


@SETTINGS
@given(st.data(), keys)
def test_the_mock_journal_state_file_and_access_log_never_hold_the_key(
    mock_with_state: tuple[TestClient, Path],
    access_log: None,
    capsys: pytest.CaptureFixture[str],
    data: st.DataObject,
    key: str,
) -> None:
    client, folder = mock_with_state
    value = data.draw(placed(key))
    where = data.draw(st.sampled_from(["handle", "field", "name", "raw", "straddle"]))
    if where == "straddle":  # the key across the journal's excerpt cut
        pad = JOURNAL_BODY_BYTES - 12 - data.draw(st.integers(0, len(key)))
        body = ('{"handle": "a", "x": "' + "p" * pad + key + '"}').encode()
    elif where == "raw":
        body = value.encode()
    else:
        document = (
            {"handle": value}
            if where == "handle"
            else {"handle": "stoolpresidente", "note": value}
            if where == "field"
            else {"handle": "x", value: 1}
        )
        body = orjson.dumps(document)
    assert (
        client.put("/__admin/keys", json={"key": key, "credits": 10**6}).status_code == 200
    )  # a valid key: the body is read
    client.post(ENDPOINT, content=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    entry = client.get("/__admin/requests", params={"limit": 1}).json()["requests"][-1]
    assert entry["status"] != 401 and (entry["body"] or not body)
    journal = orjson.dumps(entry).decode()
    stored = b"".join(p.read_bytes() for p in folder.iterdir()).decode("latin-1")
    logs = capsys.readouterr().err
    assert '"logger":"dumpling_mock.access"' in logs
    assert leaks(key, journal) == [] and leaks(key, stored) == [] and leaks(key, logs) == []


# --- the proxy: X-Mock-Violations and its journal ---------------------------------------------------
@pytest.fixture(scope="module")
def echo_proxy() -> Iterator[TestClient]:
    target = HostileTarget().start()
    upstream = target.url("echo_body")
    with TestClient(
        create_app(Settings(upstream=upstream), responder=Forwarder(upstream)), client=("127.0.0.1", 50000)
    ) as client:
        yield client
    target.stop()


@SETTINGS
@given(st.data(), keys)
def test_the_proxy_header_and_journal_never_hold_an_echoed_key(
    echo_proxy: TestClient, data: st.DataObject, key: str
) -> None:
    body = orjson.dumps({"handle": "stoolpresidente", "note": data.draw(placed(key))})
    answer = echo_proxy.post(
        ENDPOINT, content=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    )
    assert answer.status_code == 200 and "x-mock-violations" in answer.headers  # the echo breaks the contract
    entry = echo_proxy.get("/__admin/requests", params={"limit": 1}).json()["requests"][-1]
    assert entry["body"] and entry["response_violations"]
    journal = orjson.dumps(entry).decode()
    assert leaks(key, answer.headers["x-mock-violations"]) == [] and leaks(key, journal) == []
