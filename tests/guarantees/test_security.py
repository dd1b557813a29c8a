"""Security: API keys never leave the process in full (logs, journal, state file, error messages,
the start-up banner), keys and the admin token are compared in constant time, the admin API is
off the network unless --admin-token is set, the mock binds to loopback by default, and the
repository holds no secrets.
"""

from __future__ import annotations

import hmac
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import DEMO_KEY, ENDPOINT, ROOT, LiveMock, auth, free_port
from starlette.testclient import TestClient

from mock_server.admin.routes import load_admin_contract
from mock_server.app.factory import create_app
from mock_server.ledger import open_store
from mock_server.server import secrets as key_secrets
from mock_server.settings import DEMO_KEYS, ApiKey, Settings

ADMIN = load_admin_contract()
SECURED = [(op.method, op.path) for op in ADMIN.operations if op.secured]
TOKEN = "admin-token-for-tests-0001"


def fresh_key(prefix: str = "sk_test_") -> str:
    """A key made at run time, so that no copy of it exists anywhere but in this process."""
    return prefix + secrets.token_hex(16)


# --- keys are masked everywhere ---------------------------------------------------------------------
def test_a_key_never_appears_in_full_in_logs_journal_state_or_responses(tmp_path: Path) -> None:
    key, unknown, added = fresh_key(), fresh_key(), fresh_key()
    state = tmp_path / "state.sqlite3"
    mock = LiveMock(["--state", str(state), "--api-key", f"{key}:1000000", "--log-level", "debug"]).start()
    seen: list[str] = []
    try:
        with httpx.Client(base_url=mock.base_url) as client:
            requests: list[tuple[str, str, dict[str, str], bytes]] = [
                ("POST", ENDPOINT, auth(key), b'{"handle": "videos-1"}'),
                ("POST", ENDPOINT + f"?api_key={key}", auth(key), b'{"handle": "videos-1"}'),
                ("POST", ENDPOINT, auth(key), b'{"handle": "videos-1", "note": "my key is ' + key.encode() + b'"}'),
                ("POST", ENDPOINT, auth(key), b'{"handle": "not a handle"}'),
                ("POST", ENDPOINT, auth(key), b'{"handle": '),
                ("POST", ENDPOINT, {**auth(key), "Content-Type": "text/plain"}, b"{}"),
                ("POST", ENDPOINT, {**auth(key), "Prefer": "code=500"}, b'{"handle": "ab"}'),
                ("POST", ENDPOINT, {**auth(key), "Prefer": "code=999"}, b'{"handle": "ab"}'),
                ("POST", ENDPOINT, auth(unknown), b'{"handle": "ab"}'),
                ("POST", ENDPOINT, {"Authorization": f"Bearer  {unknown}", "Content-Type": "application/json"}, b"{}"),
                ("POST", ENDPOINT, {"Authorization": f"Token {unknown}", "Content-Type": "application/json"}, b"{}"),
                ("GET", ENDPOINT, auth(key), b""),
                ("POST", "/api/v1/other", auth(key), b"{}"),
                (
                    "PUT",
                    "/__admin/keys",
                    {"Content-Type": "application/json"},
                    b'{"key": "' + added.encode() + b'", "credits": 5}',
                ),
                (
                    "PUT",
                    "/__admin/keys",
                    {"Content-Type": "application/json"},
                    b'{"key": "' + added.encode() + b'", "credits": -1}',
                ),
                ("GET", "/__admin/keys", {}, b""),
            ]
            for method, path, headers, body in requests:
                response = client.request(method, path, headers=headers, content=body)
                seen += [response.text, *response.headers.values()]
            journal = client.get("/__admin/requests", params={"limit": 10_000})
            seen.append(journal.text)
            assert len(journal.json()["requests"]) >= 11
    finally:
        assert mock.stop() == -signal.SIGTERM
    assert mock.proc is not None and mock.proc.stderr is not None
    logs = mock.proc.stderr.read().decode()
    assert '"logger":"dumpling_mock.access"' in logs  # the logs were captured, at debug level
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # the database and its WAL
    for secret in (key, unknown, added):
        assert secret not in logs
        assert secret.encode() not in stored
        assert not any(secret in text for text in seen)
        assert key_secrets.mask(secret) in logs + "".join(seen)  # masked, a short prefix only


def test_the_banner_and_settings_errors_hide_configured_keys(tmp_path: Path) -> None:
    key = fresh_key()
    bad = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--port", str(free_port()), "--api-key", f"{key}:lots"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "--api-key" in bad.stderr and key not in bad.stderr + bad.stdout
    mock = LiveMock(["--api-key", f"{key}:10"]).start()
    mock.stop()
    assert mock.proc is not None and mock.proc.stderr is not None and mock.proc.stdout is not None
    assert key not in mock.proc.stderr.read().decode() + mock.proc.stdout.read().decode()


def test_the_mask_shows_both_ends_and_at_most_half_of_a_key() -> None:
    key = fresh_key()  # 40 characters
    assert key_secrets.mask(key) == key[:4] + "…" + key[-4:]
    assert key_secrets.mask("sk_mock_demo") == "sk_…emo"  # 12 characters: 3 at each end
    assert key_secrets.mask("abcdefgh") == "ab…gh"  # 8: 2 at each end, half of the key
    assert key_secrets.mask("short12") == "…"  # under 8: nothing shown
    for length in range(1, 80):
        shown = key_secrets.mask("k" * length).replace("…", "")
        assert len(shown) <= min(8, length // 2)
    # the demo keys stay distinguishable (issue 17)
    assert len({key_secrets.mask(k) for k in ("sk_mock_demo", "sk_mock_low_credits", "sk_mock_inactive")}) == 3
    assert key not in key_secrets.mask_text(f"Authorization: Bearer {key}", [])


def test_admin_keys_are_distinguishable_without_being_shown(client: TestClient) -> None:
    shown = {k["key"] for k in client.get("/__admin/keys").json()["keys"]}
    assert shown == {"sk_…emo", "sk_m…dits", "sk_m…tive"}  # sk_mock_demo, sk_mock_low_credits, sk_mock_inactive


# --- constant-time comparisons ----------------------------------------------------------------------
@pytest.fixture
def compare_spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


@pytest.mark.parametrize("in_file", [False, True], ids=["memory", "state-file"])
def test_keys_are_looked_up_by_digest_and_compared_in_constant_time(
    tmp_path: Path, compare_spy: list[tuple[Any, Any]], in_file: bool
) -> None:
    key = fresh_key()
    store = open_store(tmp_path / "state.sqlite3" if in_file else None, [ApiKey(key, 10)], Settings().rate_limit, 10)
    assert store.find_key(key) is not None
    assert compare_spy == [(key_secrets.digest(key), key_secrets.digest(key))]  # digests, not text
    assert store.find_key(key[:-1] + ("0" if key[-1] != "0" else "1")) is None
    store.close()
    if in_file:  # at rest: digests only
        assert key.encode() not in (tmp_path / "state.sqlite3").read_bytes()


def test_the_admin_token_is_compared_in_constant_time(compare_spy: list[tuple[Any, Any]]) -> None:
    assert caller("10.1.2.3", TOKEN_APP).get("/__admin/keys", headers={"X-Admin-Token": TOKEN}).status_code == 200
    assert (TOKEN.encode(), TOKEN.encode()) in compare_spy


# --- the admin API is off the network by default ----------------------------------------------------
OPEN_APP = create_app(Settings())
TOKEN_APP = create_app(Settings(admin_token=TOKEN))


def caller(host: str, app: Any = OPEN_APP) -> TestClient:
    """In-process: the client address is only written into the ASGI scope, nothing is sent."""
    return TestClient(app, client=(host, 40000))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1"])
def test_loopback_callers_reach_the_admin_api_without_a_token(host: str) -> None:
    assert caller(host).get("/__admin/keys").status_code == 200


@pytest.mark.parametrize(
    "host", ["10.1.2.3", "192.168.1.20", "172.17.0.1", "203.0.113.7", "::ffff:10.1.2.3", "fe80::1", "testclient", ""]
)
def test_other_callers_are_refused_every_admin_operation(host: str) -> None:
    client = caller(host)
    for method, path in SECURED:
        response = client.request(method, path, json={"key": fresh_key(), "credits": 1})
        assert response.status_code == 403, (method, path)
        assert "loopback" in response.json()["error"]


def test_a_refused_admin_call_changes_nothing() -> None:
    app = create_app(Settings())
    remote, local = caller("10.1.2.3", app), caller("127.0.0.1", app)
    assert local.post(ENDPOINT, json={"handle": "videos-1"}, headers=auth(DEMO_KEY)).status_code == 200
    before = local.get("/__admin/keys").json()
    assert remote.put("/__admin/keys", json={"key": fresh_key(), "credits": 9}).status_code == 403
    assert remote.post("/__admin/reset").status_code == 403  # would refund the spend above
    assert remote.post("/__admin/faults", json={"status": 500}).status_code == 403
    assert remote.delete("/__admin/requests").status_code == 403
    assert local.get("/__admin/keys").json() == before
    assert local.get("/__admin/faults").json()["faults"] == []
    assert len(local.get("/__admin/requests").json()["requests"]) == 1


def test_health_answers_everyone() -> None:
    assert caller("203.0.113.7").get("/__admin/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    "host,header,expected",
    [
        ("127.0.0.1", None, 403),  # with a token set, loopback alone is not enough
        ("10.1.2.3", None, 403),
        ("10.1.2.3", "", 403),
        ("10.1.2.3", TOKEN.upper(), 403),
        ("10.1.2.3", TOKEN + "x", 403),
        ("10.1.2.3", TOKEN[:-1], 403),
        ("10.1.2.3", TOKEN, 200),
        ("127.0.0.1", TOKEN, 200),
    ],
)
def test_with_an_admin_token_only_its_holders_get_in(host: str, header: str | None, expected: int) -> None:
    headers = {} if header is None else {"X-Admin-Token": header}
    assert caller(host, TOKEN_APP).get("/__admin/keys", headers=headers).status_code == expected


@pytest.fixture(scope="module")
def default_mock() -> Iterator[LiveMock]:
    """A real `serve` with default settings (no --host, no --admin-token)."""
    mock = LiveMock([]).start()
    yield mock
    mock.stop()


def test_a_forwarded_non_loopback_client_is_refused(default_mock: LiveMock) -> None:
    """Behind a reverse proxy on the same host, the proxy's X-Forwarded-For names the real client
    (uvicorn trusts it from loopback only): a remote caller does not pass for a local one."""
    mock = default_mock
    assert httpx.get(mock.base_url + "/__admin/keys").status_code == 200
    assert httpx.get(mock.base_url + "/__admin/keys", headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 403


# --- loopback by default ------------------------------------------------------------------------------
def listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as the kernel shows them) of sockets listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


def test_the_mock_listens_on_loopback_only_by_default(default_mock: LiveMock) -> None:
    assert Settings().host == "127.0.0.1"
    assert listening_addresses(default_mock.port) == ["0100007F"]  # 127.0.0.1, and nothing else


# --- no secrets in the repository ---------------------------------------------------------------------
def repository_files() -> list[Path]:
    """Every file git would commit: tracked, plus untracked files that are not ignored."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


VENDOR_KEY = re.compile(r"\bsk_[A-Za-z0-9_-]+")
RANDOM_PART = re.compile(r"(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{20,}")


def test_no_vendor_key_is_committed() -> None:
    """DumplingAI keys look like `sk_...`. Fakes (demo keys, `sk_test_team_a`, `sk_live_abc123`)
    are words and short parts; a real key carries a long random part (20+ letters and digits)."""
    demo = {k for k, _, _ in DEMO_KEYS}
    found = []
    for path in repository_files():
        text = path.read_bytes().decode("utf-8", "replace")
        for token in set(VENDOR_KEY.findall(text)) - demo:
            if RANDOM_PART.search(token):
                found.append(f"{path.relative_to(ROOT)}: {token[:8]}…")
    assert not found


def test_the_vendor_key_rule_catches_a_real_looking_key() -> None:
    assert RANDOM_PART.search("sk_live_" + secrets.token_hex(16))
    assert not any(
        RANDOM_PART.search(k) for k in ("sk_test_team_a", "sk_live_abc123", "sk_bench_0123456789abcdef", "sk_xxx")
    )


def test_no_generic_secret_is_committed() -> None:
    """Yelp's detect-secrets: private keys, cloud, CI and chat tokens, JWTs, high-entropy strings.
    Its KeywordDetector is left out: it flags every `SECRET = "..."` in tests, fakes included."""
    detect_secrets = pytest.importorskip("detect_secrets")
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import transient_settings

    plugins = [
        {"name": cls.__name__}
        for cls in get_mapping_from_secret_type_to_class().values()
        if cls.__name__ != "KeywordDetector"
    ]
    collection = detect_secrets.SecretsCollection()
    with transient_settings({"plugins_used": plugins}):
        for path in repository_files():
            collection.scan_file(str(path))
    findings = [f"{name}:{secret.line_number} {secret.type}" for name, secret in collection]
    assert not findings
