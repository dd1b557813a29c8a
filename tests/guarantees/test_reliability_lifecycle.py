"""Graceful lifecycle: SIGTERM lets in-flight requests finish and flushes the state file; a corrupt
or unreadable state or config file stops `serve` at once with one line naming the file and the
problem, and exit code 2.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ENDPOINT, LiveMock, auth, free_port

from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.ledger import open_store
from mock_server.server.secrets import digest
from mock_server.settings import ApiKey, RateLimit

CONTRACT = load_contract()
OP = CONTRACT.operation("POST", ENDPOINT)
VALIDATOR = ContractValidator(CONTRACT)
KEY = "sk_test_lifecycle_0123456789"
CREDITS = 1000
LATENCY_MS = 1500


def test_sigterm_finishes_the_request_in_flight_and_flushes_the_state(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    mock = LiveMock(["--state", str(state), "--api-key", f"{KEY}:{CREDITS}"]).start()
    try:
        fault = httpx.post(mock.base_url + "/__admin/faults", json={"latency_ms": LATENCY_MS, "count": 1}).json()
        result: dict[str, Any] = {}

        def slow_request() -> None:
            try:
                result["response"] = httpx.post(
                    mock.base_url + ENDPOINT, json={"handle": "videos-3"}, headers=auth(KEY), timeout=30
                )
            except httpx.HTTPError as exc:
                result["error"] = exc

        sender = threading.Thread(target=slow_request)
        sender.start()
        deadline = time.monotonic() + 10
        while any(f["id"] == fault["id"] for f in httpx.get(mock.base_url + "/__admin/faults").json()["faults"]):
            assert time.monotonic() < deadline, "the slow request never reached the mock"
            time.sleep(0.02)  # the fault is used up when the request takes it, before its delay
        assert mock.proc is not None
        mock.proc.send_signal(signal.SIGTERM)  # while the request sleeps in the mock
        sender.join(timeout=30)
        code = mock.proc.wait(timeout=30)
    finally:
        mock.stop()

    assert "error" not in result, result.get("error")
    response = result["response"]
    assert response.status_code == 200 and len(response.json()["aweme_list"]) == 3  # complete
    assert not VALIDATOR.response(OP, response.status_code, dict(response.headers), response.content)
    assert code == -signal.SIGTERM  # uvicorn shuts down gracefully, then re-raises the signal
    wal = state.with_name(state.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed into the main file on close
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        (credits,) = db.execute("SELECT credits FROM keys WHERE digest = ?", (digest(KEY),)).fetchone()
    assert credits == CREDITS - OP.credit_cost


def serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "mock_server", "serve", "--port", str(free_port()), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dumpling-mock: error: ")
    for text in expected:
        assert text in lines[0], lines[0]


def make_truncated(path: Path) -> None:
    store = open_store(path, [ApiKey(KEY, 5)], RateLimit(10, 60), 100)
    for i in range(200):
        store.settle(store.find_key(KEY), 400, 0, {"pad": "x" * 500, "i": i})
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def make_foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT)")


STATE_CASES = {
    "garbage-bytes": (
        lambda p: p.write_bytes(bytes(range(256)) * 64),
        ["not a usable dumpling-mock state file", "file is not a database"],
    ),
    "text-file": (lambda p: p.write_text("keys: none\n" * 100), ["file is not a database"]),
    "truncated": (make_truncated, ["not a usable dumpling-mock state file"]),
    "other-programs-database": (make_foreign, ["not a usable dumpling-mock state file"]),
    "a-directory": (lambda p: p.mkdir(), ["is a directory"]),
}


@pytest.mark.parametrize("case", list(STATE_CASES))
def test_a_bad_state_file_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    path = tmp_path / "state.sqlite3"
    make, expected = STATE_CASES[case]
    make(path)
    assert_one_line_error(serve("--state", str(path), cwd=tmp_path), str(path), *expected)


def test_a_state_file_in_a_missing_directory_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "state.sqlite3"
    assert_one_line_error(serve("--state", str(path), cwd=tmp_path), str(path), "does not exist")


CONFIG_CASES = {
    "invalid-yaml": ("rate_limit: [600/minute\nseed: 1\n", ["not valid YAML"]),
    "not-utf8": (b"seed: \xff\xfe\n", ["not valid YAML"]),
    "not-a-mapping": ("- seed\n- 1\n", ["expected a mapping"]),
    "unknown-key": ("seed: 1\nrate_limits: 600/minute\n", ["unknown key 'rate_limits'"]),
    "bad-value": ("rate_limit: fast\n", ["rate_limit", "must look like 600/minute", "'fast'"]),
    "bad-number": ("journal_limit: -5\n", ["journal_limit", "whole number"]),
    "bad-timeout": ("client_timeout: forever\n", ["client_timeout", "seconds"]),
    "bad-workers": ("workers: 0\n", ["workers", "from 1 to 64"]),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_a_bad_config_file_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    text, expected = CONFIG_CASES[case]
    path = tmp_path / "mock.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert_one_line_error(serve("--config", str(path), cwd=tmp_path), str(path), *expected)


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.mkdir()], ids=["missing", "a-directory"])
def test_a_config_path_that_is_no_file_is_one_line_and_exit_2(tmp_path: Path, make: Any) -> None:
    path = tmp_path / "mock.yaml"
    make(path)
    assert_one_line_error(serve("--config", str(path), cwd=tmp_path), "--config", str(path))
