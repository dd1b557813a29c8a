"""`dumpling-mock serve` settings: every documented flag, its DUMPLING_MOCK_* twin and its config key;
one line and exit code 2 for every bad value; `python -m mock_server`; `dumpling-mock contract`;
structured access logs that never show a full key.

The settings table of the README is the documentation under test: each of its rows is exercised.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import ENDPOINT, ROOT, LiveMock

from mock_server.cli import main as cli
from mock_server.contract.document import load_contract
from mock_server.settings import ApiKey, RateLimit, Settings

CONSOLE_SCRIPT = Path(sys.executable).with_name("dumpling-mock")
ISSUE_FLAGS = {"--host", "--port", "--seed", "--config", "--api-key", "--rate-limit", "--log-level"}


def documented_settings() -> list[tuple[str | None, str | None, str | None]]:
    """(flag, environment variable, config key) of each row of the README's settings table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| flag | environment | config key |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        first = [re.match(r"`([^` ]+)", cell) for cell in cells[:3]]
        rows.append(tuple(m.group(1) if m else None for m in first))
    return rows  # type: ignore[return-value]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """run_cli(argv, env) -> the Settings `serve` would start with (nothing is started)."""
    for name in list(os.environ):
        if name.startswith("DUMPLING_MOCK_"):
            monkeypatch.delenv(name)
    captured: list[Settings] = []

    def fake_serve(settings: Settings) -> int:
        captured.append(settings)
        return 0

    monkeypatch.setattr(cli, "serve", fake_serve)

    def run(argv: list[str], env: dict[str, str] | None = None) -> Settings:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        assert cli.main(["serve", *argv]) == 0
        for name in env or {}:
            monkeypatch.delenv(name)
        return captured.pop()

    return run


def samples(tmp_path: Path) -> dict[str, tuple[str, Any]]:
    """config key -> (a valid value as text, its value as a config-file YAML value)."""
    vendor = str(ROOT / "openapi" / "vendor.yaml")
    overlay = str(ROOT / "openapi" / "prose.overlay.yaml")
    return {
        "host": ("0.0.0.0", "0.0.0.0"),
        "port": ("9123", 9123),
        "seed": ("77", 77),
        "api_keys": ("k_alpha_1:50", ["k_alpha_1:50"]),
        "rate_limit": ("5/minute", "5/minute"),
        "log_level": ("debug", "debug"),
        "state": (str(tmp_path / "state.sqlite3"), str(tmp_path / "state.sqlite3")),
        "workers": ("2", 2),
        "admin_token": ("tok-12345678", "tok-12345678"),
        "journal_limit": ("500", 500),
        "journal_max_bytes": ("2MB", "2MB"),
        "max_body_bytes": ("4096", 4096),
        "client_timeout": ("5", 5),
        "page_size": ("25", 25),
        "handles": ("h1=120,h2=0", {"h1": 120, "h2": 0}),
        "contract": (vendor, vendor),
        "overlay": (overlay, overlay),
        "upstream": ("http://127.0.0.1:9", "http://127.0.0.1:9"),
        "validation": ("vendor", "vendor"),
        "retry_after": ("window", "window"),
        "faults": ("{steps: [503, reset], match: {page: 2}}", [{"steps": [503, "reset"], "match": {"page": 2}}]),
        "cors": ("http://localhost:3000", ["http://localhost:3000"]),
        "fidelity": ("tiktok", "tiktok"),
        "quirks": ("zero-cursor,pinned", ["pinned", "zero-cursor"]),
    }


def test_the_readme_documents_every_flag_of_the_issue() -> None:
    flags = {flag for flag, _, _ in documented_settings()}
    assert ISSUE_FLAGS <= flags
    for flag, env, key in documented_settings():
        if flag and env:
            assert env == "DUMPLING_MOCK_" + flag[2:].upper().replace("-", "_") + (
                "S" if flag in ("--api-key", "--fault") else ""
            )
        if env and key:
            assert env == "DUMPLING_MOCK_" + key.upper()


def test_flag_env_and_config_key_of_every_documented_setting_agree(
    run_cli: Callable[..., Settings], tmp_path: Path
) -> None:
    values = samples(tmp_path)
    default = Settings()
    for flag, env, key in documented_settings():
        if key is None:
            continue  # --config itself, tested below
        text, config_value = values[key]
        config = tmp_path / f"{key}.yaml"
        config.write_text(yaml.safe_dump({key: config_value}), encoding="utf-8")
        results = {"config": getattr(run_cli(["--config", str(config)]), key)}
        if env:
            results["env"] = getattr(run_cli([], {env: text}), key)
        if flag:
            results["flag"] = getattr(run_cli([flag, text]), key)
        assert len({repr(v) for v in results.values()}) == 1, (key, results)
        assert results["config"] != getattr(default, key), key


@pytest.mark.parametrize(
    "flag, text, name, expected",
    [("--host", "0.0.0.0", "host", "0.0.0.0"), ("--port", "9123", "port", 9123), ("--seed", "77", "seed", 77),
     ("--rate-limit", "5/minute", "rate_limit", RateLimit(5, 60)), ("--rate-limit", "2/10second", "rate_limit", RateLimit(2, 10)),
     ("--rate-limit", "100/day", "rate_limit", RateLimit(100, 86_400)), ("--log-level", "debug", "log_level", "debug")],
)  # fmt: skip
def test_core_flags_give_their_values(
    run_cli: Callable[..., Settings], flag: str, text: str, name: str, expected: Any
) -> None:
    assert getattr(run_cli([flag, text]), name) == expected


def test_api_keys_from_the_repeatable_flag_the_environment_and_the_config_file(
    run_cli: Callable[..., Settings], tmp_path: Path
) -> None:
    default_credits = dict((k.key, k.credits) for k in Settings().keys)["sk_mock_demo"]
    assert run_cli(["--api-key", "k_alpha_1:50", "--api-key", "k_bravo_2"]).api_keys == (
        ApiKey("k_alpha_1", 50),
        ApiKey("k_bravo_2", default_credits),
    )
    assert run_cli([], {"DUMPLING_MOCK_API_KEYS": "k_alpha_1:50,k_bravo_2:0"}).api_keys == (
        ApiKey("k_alpha_1", 50),
        ApiKey("k_bravo_2", 0),
    )
    config = tmp_path / "keys.yaml"
    config.write_text(
        "api_keys:\n  - k_alpha_1:50\n  - {key: k_bravo_2, credits: 7, active: false}\n", encoding="utf-8"
    )
    assert run_cli(["--config", str(config)]).api_keys == (ApiKey("k_alpha_1", 50), ApiKey("k_bravo_2", 7, False))
    assert [k.key for k in run_cli([]).keys] == ["sk_mock_demo", "sk_mock_low_credits", "sk_mock_inactive"]  # README


def test_flags_win_over_environment_over_config_file(run_cli: Callable[..., Settings], tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("port: 1111\nseed: 5\n", encoding="utf-8")
    env = {"DUMPLING_MOCK_CONFIG": str(config), "DUMPLING_MOCK_PORT": "2222"}
    assert run_cli(["--port", "3333"], env).port == 3333
    assert run_cli([], env).port == 2222
    assert run_cli(["--config", str(config)]).port == 1111
    assert run_cli([], env).seed == 5, "the config file given by DUMPLING_MOCK_CONFIG is read"


# --- bad values ------------------------------------------------------------------------------------
def bad_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_FLAGS = [
    (["--port", "70000"], "--port"), (["--port", "-1"], "--port"), (["--port", "eighty"], "--port"),
    (["--seed", "-3"], "--seed"), (["--log-level", "loud"], "--log-level"), (["--host", "bad host!"], "--host"),
    (["--rate-limit", "fast"], "--rate-limit"), (["--rate-limit", "0/minute"], "--rate-limit"),
    (["--rate-limit", "10/fortnight"], "--rate-limit"), (["--rate-limit", "10"], "--rate-limit"),
    (["--api-key", "has space:10"], "--api-key"), (["--api-key", "k_alpha_1:-5"], "--api-key"),
    (["--api-key", "k_alpha_1:lots"], "--api-key"), (["--api-key", ":10"], "--api-key"),
    (["--api-key", "k_dup_1:1", "--api-key", "k_dup_1:2"], "--api-key"),
    (["--config", "/nonexistent/dumpling-mock.yaml"], "--config"),
]  # fmt: skip


def assert_one_line_error(code: int, err: str, names: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dumpling-mock: error: ") and names in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("argv, names", BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_a_bad_flag_value_is_one_line_and_exit_2(
    run_cli: Any, capsys: pytest.CaptureFixture[str], argv: list[str], names: str
) -> None:
    code = cli.main(["serve", *argv])
    assert_one_line_error(code, capsys.readouterr().err, names)


def test_a_bad_key_is_never_echoed(run_cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--api-key", "sk_secret_value with space:10"]) == 2
    assert "sk_secret_value" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, names",
    [("colour: red\n", "unknown key 'colour'"), ("port: 99999\n", "port"), ("rate_limit: lots\n", "rate_limit"),
     ("api_keys: [{key: k_alpha_1, credits: -1}]\n", "api_keys"), ("handles: {h1: many}\n", "handles"),
     ("port: [1, 2\n", "not valid YAML"), ("- just\n- a list\n", "mapping"), ("seed: true\n", "seed")],
)  # fmt: skip
def test_a_bad_config_value_is_one_line_and_exit_2(
    run_cli: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, names: str
) -> None:
    path = bad_config(tmp_path, text)
    code = cli.main(["serve", "--config", path])
    err = capsys.readouterr().err
    assert_one_line_error(code, err, names)
    assert path in err


@pytest.mark.parametrize(
    "name, value",
    [("DUMPLING_MOCK_PORT", "99999"), ("DUMPLING_MOCK_RATE_LIMIT", "x"), ("DUMPLING_MOCK_API_KEYS", "a b"),
     ("DUMPLING_MOCK_CONFIG", "/nonexistent.yaml"), ("DUMPLING_MOCK_LOG_LEVEL", "loud")],
)  # fmt: skip
def test_a_bad_environment_value_is_one_line_and_exit_2(
    run_cli: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    assert_one_line_error(cli.main(["serve"]), capsys.readouterr().err, name)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DUMPLING_MOCK_")}
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env={**clean, **(env or {})})


def test_a_real_process_fails_in_one_line_with_exit_2(tmp_path: Path) -> None:
    done = run(str(CONSOLE_SCRIPT), "serve", "--port", "70000")
    assert_one_line_error(done.returncode, done.stderr, "--port")
    assert done.stdout == ""


def test_dumpling_mock_contract_prints_the_effective_contract(capsys: pytest.CaptureFixture[str]) -> None:
    effective = load_contract().document
    as_json = run(sys.executable, "-m", "mock_server", "contract", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == effective
    assert cli.main(["contract"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == effective


# --- live: flags, a config file and the logs, end to end -------------------------------------------------
def post(mock: LiveMock, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(mock.base_url + ENDPOINT, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_serve_end_to_end_and_access_logs_never_show_a_key(live_mock: Callable[..., LiveMock], tmp_path: Path) -> None:
    cost = load_contract().by_id("listTikTokProfileVideos").credit_cost
    alpha, bravo, inactive, stranger = (
        "alpha_live_key_0001",
        "bravo_live_key_0002",
        "charlie_live_key_03",
        "sk_live_unknown_secret_9",
    )
    config = tmp_path / "mock.yaml"
    config.write_text(
        f"api_keys:\n  - {alpha}:{2 * cost + 1}\n  - {{key: {bravo}}}\n  - {{key: {inactive}, credits: 100, active: false}}\n"
        "handles: {pinned.handle: 2}\npage_size: 3\nseed: 9\n",
        encoding="utf-8",
    )
    mock = live_mock(
        "--rate-limit", "3/day", "--seed", "5", "--log-level", "info", env={"DUMPLING_MOCK_CONFIG": str(config)}
    )
    assert httpx.get(mock.base_url + "/__admin/health").json()["seed"] == 5, "the flag wins over the config file"
    answers = [post(mock, alpha, {"handle": "pinned.handle", "note": alpha}) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 403]
    assert len(answers[0].json()["aweme_list"]) == 2 and answers[0].json()["has_more"] == 0
    answers = [post(mock, bravo, {"handle": "videos-7"}) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 503]
    assert len(answers[0].json()["aweme_list"]) == 3
    assert {r.headers["X-RateLimit-Limit"] for r in answers} == {"3"}
    for key in (inactive, stranger, "sk_mock_demo"):  # configured keys replace the demo keys
        assert post(mock, key, {"handle": "x"}).status_code == 401
    keys = httpx.get(mock.base_url + "/__admin/keys").json()["keys"]
    assert sorted((k["credits"], k["active"]) for k in keys) == sorted(
        [(1, True), (1_000_000 - 3 * cost, True), (100, False)]
    )
    mock.stop()
    assert mock.proc is not None and mock.proc.stdout and mock.proc.stderr
    output = mock.proc.stdout.read().decode() + mock.proc.stderr.read().decode()
    for key in (alpha, bravo, inactive, stranger):
        assert key not in output
    access = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"request"' in line]
    assert len(access) >= 10
    assert {entry["key"] for entry in access} >= {alpha[:4] + "…" + alpha[-4:], bravo[:4] + "…" + bravo[-4:]}
    assert all(entry["path"] == ENDPOINT and entry["status"] for entry in access)
