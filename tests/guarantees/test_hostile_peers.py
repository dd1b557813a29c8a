"""Hostile peers (issue 11): the contract kit against a hostile target, the proxy in front of a
hostile upstream (tests/hostile_target.py). No output ever holds the API key or the --base-url
credentials, in any encoding; huge, endless, gzip-bomb and trickling bodies cost at most the
documented cap and deadline; every kit run writes its reports and exits with its documented code.

The kit runs are forked from one warm process (drift_runner.py), two at a time, once per module.
"""

from __future__ import annotations

import json
import resource
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ENDPOINT
from hostile_target import HostileTarget
from leaks import leaks
from starlette.testclient import TestClient

from contract_tests import exit_codes
from mock_server.app.factory import create_app
from mock_server.pipeline.forward import Forwarder
from mock_server.server.body_limits import MAX_RESPONSE_BYTES
from mock_server.server.secrets import mask
from mock_server.settings import Settings

HERE = Path(__file__).resolve().parents[1]
KEY = "sk_hostile_" + secrets.token_hex(12)  # made at run time: no copy of it exists anywhere else
PASSWORD = "pw-" + secrets.token_hex(10)
SMALL = ["--max-requests", "6"]
MEMORY_LIMIT = 3 * 1024**3  # address space of the kit runs: ample for a capped run


@dataclass(frozen=True)
class KitRun:
    code: int
    output: str
    reports: Path
    seconds: float

    @property
    def everything(self) -> str:
        return self.output + "".join(p.read_text("utf-8", "replace") for p in sorted(self.reports.iterdir()))

    @property
    def findings(self) -> dict[str, object]:
        return json.loads((self.reports / "findings.json").read_text())


RUNS: dict[str, list[str]] = {
    "echo401": SMALL,
    "echo403": SMALL,
    "redirect": SMALL,
    "redirect_away": SMALL,
    "credentials": SMALL,
    "huge": SMALL,
    "endless": SMALL,
    "gzip_bomb": SMALL,
    "gzip_endless": SMALL,
    "trickle": [*SMALL, "--timeout", "1"],
    "max_time": [*SMALL, "--timeout", "30", "--max-time", "1.5"],
}
TARGET_MODE = {"credentials": "echo401", "max_time": "trickle"}


@pytest.fixture(scope="module")
def target() -> Iterator[HostileTarget]:
    server = HostileTarget().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def runs(target: HostileTarget, tmp_path_factory: pytest.TempPathFactory) -> dict[str, KitRun]:
    base = tmp_path_factory.mktemp("hostile")
    jobs = []
    for name, extra in RUNS.items():
        url = target.url(TARGET_MODE.get(name, name))
        if name == "credentials":
            url = url.replace("http://", f"http://user:{PASSWORD}@")
        (base / name).mkdir()
        args = ["--base-url", url, "--api-key", KEY, "--reports-dir", str(base / name / "reports"), *extra]
        jobs.append(
            {"name": name, "args": args, "env": {}, "cwd": str(base / name), "output": str(base / name / "output.txt")}
        )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(HERE / "drift_runner.py")],
        input=json.dumps({"workers": 2, "jobs": jobs}),
        capture_output=True,
        text=True,
        timeout=170,
        preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT)
        ),  # a regression fails, not the machine
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout.splitlines()[-1])
    return {
        name: KitRun(codes[name], (base / name / "output.txt").read_text(), base / name / "reports", seconds)
        for name in RUNS
    }


# --- the kit writes no secret ---------------------------------------------------------------------
@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
@pytest.mark.parametrize("name", list(RUNS))
def test_no_output_of_the_kit_holds_the_key(runs: dict[str, KitRun], name: str) -> None:
    run = runs[name]
    assert sorted(p.name for p in run.reports.iterdir()) == [
        "drift-report.html",
        "drift-report.md",
        "findings.json",
        "junit.xml",
    ]
    assert leaks(KEY, run.everything) == []
    assert leaks(PASSWORD, run.everything) == []


@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
def test_an_echoed_key_is_shown_masked(runs: dict[str, KitRun]) -> None:
    for name in ("echo401", "echo403"):
        run = runs[name]
        assert run.code == exit_codes.KEY_REJECTED
        assert run.findings["problem"].startswith("the API key")
        assert KEY[:4] + "…" + KEY[-4:] in run.findings["problem"]


@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
def test_a_redirect_carrying_the_key_is_masked_in_the_findings(runs: dict[str, KitRun]) -> None:
    run = runs["redirect"]
    assert run.code == exit_codes.FINDINGS
    requests_shown = [f["request"] for f in run.findings["findings"] if "/redirect/landing" in f["request"]]
    assert any(f"api_key={KEY[:4]}…{KEY[-4:]}" in r for r in requests_shown)  # the run's key, masked


@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
def test_an_exception_quoting_the_key_is_masked(runs: dict[str, KitRun]) -> None:
    run = runs["redirect_away"]
    assert run.code == exit_codes.UNREACHABLE
    assert "sk_h…" in run.findings["problem"] and "ConnectionError" in run.findings["problem"]


@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
def test_base_url_credentials_are_masked(runs: dict[str, KitRun]) -> None:
    run = runs["credentials"]
    assert run.code == exit_codes.KEY_REJECTED
    shown = mask(f"user:{PASSWORD}")  # the user:password pair is masked as one
    assert run.findings["target"].startswith(f"http://{shown}@127.0.0.1:")
    assert f"dumpling-contract: target = http://{shown}@127.0.0.1:" in run.output


# --- the kit is bounded -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["huge", "endless", "gzip_bomb", "gzip_endless"])
@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
def test_a_body_over_the_cap_is_a_finding_not_an_oom(runs: dict[str, KitRun], name: str) -> None:
    run = runs[name]
    assert run.code == exit_codes.FINDINGS
    too_large = [f for f in run.findings["findings"] if f["check"] == "response_too_large"]
    assert len(too_large) == 1 and too_large[0]["class"] == "contract"
    assert f"larger than {MAX_RESPONSE_BYTES} bytes" in too_large[0]["message"]
    assert ("after decompression" in too_large[0]["message"]) == name.startswith("gzip")
    assert "response_too_large" in run.output


@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
def test_a_trickling_body_is_cut_by_the_total_timeout(runs: dict[str, KitRun]) -> None:
    run = runs["trickle"]
    assert run.code == exit_codes.UNREACHABLE
    assert "no complete answer within --timeout 1 s" in run.findings["problem"]


@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
def test_max_time_ends_the_run_incomplete_with_its_reports(runs: dict[str, KitRun]) -> None:
    run = runs["max_time"]
    assert run.code == exit_codes.INCOMPLETE
    assert run.findings["problem"] == "the run reached --max-time 1.5 s"
    assert "INCOMPLETE: the run reached --max-time 1.5 s" in run.output


@pytest.mark.slow  # one fixture: eleven kit runs, ~20 s in all
def test_every_hostile_run_ended_in_bounded_time(runs: dict[str, KitRun]) -> None:
    assert runs["echo401"].seconds < 150  # all eleven runs, two at a time (each endless one would never end unbounded)


# --- the proxy in front of a hostile upstream ---------------------------------------------------------
def proxy(upstream: str, **limits: float) -> TestClient:
    app = create_app(Settings(upstream=upstream), responder=Forwarder(upstream, **limits))  # type: ignore[arg-type]
    return TestClient(app, client=("127.0.0.1", 50000))


def headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


def test_the_proxy_masks_a_key_the_upstream_echoes(target: HostileTarget) -> None:
    with proxy(target.url("echo200")) as client:
        answer = client.post(ENDPOINT, json={"handle": "stoolpresidente"}, headers=headers())
        journal = client.get("/__admin/requests").text
    assert answer.status_code == 200 and KEY in answer.text  # the upstream's answer passes unchanged
    assert "sk_h\\u2026" in answer.headers["x-mock-violations"]  # the mask, header-escaped
    assert leaks(KEY, answer.headers["x-mock-violations"]) == []
    assert "response_violations" in journal and leaks(KEY, journal) == []


@pytest.mark.parametrize("mode", ["echo401", "echo403", "redirect"])
def test_the_proxy_journal_and_headers_never_hold_the_key(target: HostileTarget, mode: str) -> None:
    with proxy(target.url(mode)) as client:
        answer = client.post(
            ENDPOINT, json={"handle": "stoolpresidente", "note": KEY}, headers=headers(), follow_redirects=False
        )
        journal = client.get("/__admin/requests").text
    assert answer.status_code == {"echo401": 401, "echo403": 403, "redirect": 302}[mode]  # passed on as is
    shown = "".join(f"{name}: {value}\n" for name, value in answer.headers.items() if name.startswith("x-mock"))
    assert "x-mock-violations" in answer.headers and leaks(KEY, shown) == [] and leaks(KEY, journal) == []


@pytest.mark.parametrize("mode", ["huge", "endless", "gzip_bomb", "gzip_endless"])
def test_the_proxy_answers_502_to_a_body_over_the_cap(target: HostileTarget, mode: str) -> None:
    with proxy(target.url(mode)) as client:
        answer = client.post(ENDPOINT, json={"handle": "stoolpresidente"}, headers=headers())
    assert answer.status_code == 502
    assert answer.json() == {"error": "Error fetching video data from the upstream service."}
    assert f"a body over {MAX_RESPONSE_BYTES} bytes" in answer.headers["x-mock-reason"]


def test_the_proxy_answers_502_to_a_trickling_upstream_at_its_deadline(target: HostileTarget) -> None:
    started = time.monotonic()
    with proxy(target.url("trickle"), deadline_s=1.0) as client:
        answer = client.post(ENDPOINT, json={"handle": "stoolpresidente"}, headers=headers())
    assert time.monotonic() - started < 10
    assert answer.status_code == 502
    assert "did not answer completely within 1 s" in answer.headers["x-mock-reason"]


# --- the bounds' options --------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1e3", "99999999"])
def test_timeout_and_max_time_refuse_a_bad_value(raw: str) -> None:
    from contract_tests.options import _seconds

    with pytest.raises(pytest.UsageError, match="--timeout: must be a number of seconds above 0"):
        _seconds("--timeout", raw, 3600)
    assert _seconds("--timeout", "0.5", 3600) == 0.5 and _seconds("--timeout", None, 3600) is None


def test_a_bad_base_url_is_refused_without_printing_its_password() -> None:
    from contract_tests.options import _base_url

    with pytest.raises(pytest.UsageError) as refused:
        _base_url(f"ftp://user:{PASSWORD}@example.invalid")
    assert leaks(PASSWORD, str(refused.value)) == [] and f"ftp://{mask('user:' + PASSWORD)}@" in str(refused.value)


def test_the_proxy_never_prints_the_password_of_its_upstream(capsys: pytest.CaptureFixture[str]) -> None:
    from mock_server.cli.main import _banner
    from mock_server.exceptions import SettingsError
    from mock_server.settings import resolve

    upstream = f"https://user:{PASSWORD}@staging.example.invalid"
    _banner(Settings(upstream=upstream))
    printed = capsys.readouterr()
    assert f"-> https://{mask('user:' + PASSWORD)}@staging.example.invalid" in printed.err
    with pytest.raises(SettingsError) as refused:
        resolve({"upstream": f"ftp://user:{PASSWORD}@staging.example.invalid"}, {})
    assert leaks(PASSWORD, printed.out + printed.err + str(refused.value)) == []
