"""The contract kit (issue 3), end to end, through its real entry points (`dumpling-contract`,
`python -m pytest contract_tests`) in subprocesses:

* it passes with zero findings on the in-process mock, on the unmodified mock behind the drift
  layer, and on a mock started like `make run`;
* it fails, naming the right check, on every drift of tests/drift_layer.py, and classifies
  findings as contract violations or documentation drift;
* its request budget is exact at the server, a wrong or missing key fails loudly, and the same
  seed sends the same requests.

Every kit run of the module happens once, in a module fixture: the two entry points under test as
real processes, the other runs forked from one warm process (drift_runner.py) to skip start-up
costs; each test then reads its run's exit code, output and reports. The rules themselves are
pinned one by one, faster, in test_contract_checks.py.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import DEMO_KEY, LiveMock, free_port
from drift_layer import DriftServer, drifts

from contract_tests import exit_codes

HERE = Path(__file__).resolve().parents[1]
ROOT = HERE.parent
CONSOLE_SCRIPT = Path(sys.executable).with_name("dumpling-contract")
KIT_COMMAND = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "contract_tests"]
DRIFTS = drifts(DriftServer.key_of)
WORKERS = 2  # forked runs at a time: a run is CPU-bound; the entry-point processes run beside them
CONTRACT_ONLY = "empty_401_body__contract_only"  # the same drift, run with --fail-on contract
DRIFT_BUDGET = ["--max-requests", "20"]  # every drift shows within 12; the default 60 costs more time
# Drifts at the end of a profile (22 pages; the kit walks 3) and where pages join: run with the
# default remote budget, which is the promise (the end search needs its share of the 60 requests).
DEFAULT_BUDGET_DRIFTS = frozenset(
    {
        "has_more_on_last_page",
        "has_more_one_page_early",
        "past_end_error",
        "empty_page_has_more",
        "last_page_loops",
        "last_page_reversed",
        "skips_first_after_cursor",
        "cursor_past_oldest",
    }
)


@dataclass(frozen=True)
class Run:
    code: int
    output: str
    reports: Path
    sent: int | None = None  # requests the drift layer received for this run

    @property
    def summary(self) -> dict[str, Any]:
        return orjson.loads((self.reports / "findings.json").read_bytes())

    @property
    def checks(self) -> dict[str, set[str]]:
        """check -> classes it was found in."""
        found: dict[str, set[str]] = {}
        for finding in self.summary["findings"]:
            found.setdefault(finding["check"], set()).add(finding["class"])
        return found

    def report_text(self) -> str:
        return "".join(p.read_text(encoding="utf-8") for p in sorted(self.reports.iterdir()) if p.is_file())


@dataclass(frozen=True)
class Job:
    """One kit run: `dumpling-contract ARGS` (forked by drift_runner.py), or a real process."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None  # run as this process (an entry point under test), not forked
    label: str = ""  # the drift layer's label whose requests it sends, if any


def run_process(job: Job, reports: Path) -> Run:
    assert job.command is not None
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("DUMPLING_")}
    done = subprocess.run(
        [*job.command, "--reports-dir", str(reports), *job.args],
        env={**clean_env, **job.env},
        capture_output=True,
        text=True,
        timeout=170,
        cwd=reports.parent,
    )
    return Run(done.returncode, done.stdout + done.stderr, reports)


def run_forked(jobs: list[Job], base: Path) -> dict[str, Run]:
    spec = {
        "workers": WORKERS,
        "jobs": [
            {
                "name": j.name,
                "args": ["--reports-dir", str(base / j.name / "reports"), *j.args],
                "env": j.env,
                "cwd": str(base / j.name),
                "output": str(base / j.name / "output.txt"),
            }
            for j in jobs
        ],
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "drift_runner.py")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout.splitlines()[-1])
    return {
        j.name: Run(codes[j.name], (base / j.name / "output.txt").read_text(), base / j.name / "reports") for j in jobs
    }


def kit_jobs(layer: DriftServer, mock: LiveMock) -> list[Job]:
    def remote(name: str, *extra: str, label: str = "", key: str | None = "", command: list[str] | None = None) -> Job:
        label = label or name
        key = DriftServer.key_of(label) if key == "" else key
        return Job(
            name,
            ["--base-url", layer.url(label), *(["--api-key", key] if key else []), *extra],
            label=label,
            command=command,
        )

    pytest_env = {"DUMPLING_BASE_URL": layer.url("pytest_env"), "DUMPLING_API_KEY": DriftServer.key_of("pytest_env")}
    return [
        # `make contract`: the console script, on the in-process mock.
        Job("in_process", [], command=KIT_COMMAND),
        # The unmodified mock behind the layer, through `pytest contract_tests` and DUMPLING_* variables.
        Job(
            "pytest_env",
            [],
            env=pytest_env,
            command=[
                sys.executable,
                "-m",
                "pytest",
                str(ROOT / "contract_tests"),
                "-p",
                "no:cacheprovider",
                "--assert=plain",
            ],
            label="pytest_env",
        ),
        # `make contract BASE_URL=... API_KEY=...` against `dumpling-mock serve` with the demo keys, as `make run` starts it.
        Job("make_run", ["--base-url", mock.base_url, "--api-key", DEMO_KEY]),
        remote("repeat", command=KIT_COMMAND),  # the same run as pytest_env, in a fresh process too
        *[
            remote(name, *([] if name in DEFAULT_BUDGET_DRIFTS else DRIFT_BUDGET))
            for name in DRIFTS
            if name != "empty_401_body"
        ],
        remote(
            "fail_on_contract", *DRIFT_BUDGET, "--fail-on", "contract", label=CONTRACT_ONLY
        ),  # also the run of empty_401_body
        remote("budget_spent", "--max-requests", "7"),
        remote("wrong_key", key="sk_not_a_key_of_this_mock"),
        remote("missing_key", key=None),
        Job("usage_error", ["--base-url", "ftp://example.invalid", "--api-key", "k"]),
    ]


@pytest.fixture(scope="module")
def layer() -> Iterator[DriftServer]:
    names = [*DRIFTS, CONTRACT_ONLY, "budget_spent", "wrong_key", "missing_key", "pytest_env", "repeat"]
    server = DriftServer(free_port(), [DriftServer.key_of(name) for name in names]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def runs(layer: DriftServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every kit run of this module, by name: the entry-point processes beside the forked runs."""
    base = tmp_path_factory.mktemp("kit")
    mock = LiveMock([]).start()
    try:
        jobs = kit_jobs(layer, mock)
        for job in jobs:
            (base / job.name).mkdir()
        processes = [j for j in jobs if j.command is not None]
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            beside = pool.submit(lambda: {j.name: run_process(j, base / j.name / "reports") for j in processes})
            done = run_forked([j for j in jobs if j.command is None], base)
            done.update(beside.result())
    finally:
        mock.stop()
    labels = {j.name: j.label for j in jobs}
    result = {
        name: Run(r.code, r.output, r.reports, layer.layer.counts.get(labels[name]) if labels[name] else None)
        for name, r in done.items()
    }
    result["empty_401_body"] = result["fail_on_contract"]
    return result


# --- no false positives ---------------------------------------------------------------------------
def test_in_process_mock_conforms_with_zero_findings(runs: dict[str, Run]) -> None:
    run = runs["in_process"]
    assert run.code == exit_codes.CONFORMANT, run.output
    assert run.summary["findings"] == []
    assert "the in-process mock (no credits spent)" in run.output
    suite = ET.parse(run.reports / "junit.xml").getroot().find("testsuite")
    assert (
        suite is not None
        and int(suite.get("tests", "0")) >= 7
        and suite.get("failures") == "0"
        and suite.get("errors") == "0"
    )
    examined = run.summary["examined"]
    for check in (
        "pagination_walk",
        "auth_enforced",
        "error_body_documented",
        "rate_limit_headers",
        "example_field_types",
        "ignored_auth",
        "unsupported_method",
        "negative_data_rejection",
    ):
        assert examined.get(check, 0) > 0, f"{check} never ran"
    assert "CONFORMANT" in (run.reports / "drift-report.md").read_text()


def test_unmodified_mock_behind_the_layer_conforms(runs: dict[str, Run]) -> None:
    """Also: `pytest contract_tests` works, and reads DUMPLING_BASE_URL / DUMPLING_API_KEY."""
    run = runs["pytest_env"]
    assert run.code == exit_codes.CONFORMANT, run.output
    assert run.summary["findings"] == []
    assert "this run may spend up to 60 x 10 = 600 credits" in run.output
    assert run.sent == run.summary["requests"] == 60  # the default budget, used in full and counted exactly


# --- drift is caught, by the right check ----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(DRIFTS))
def test_drift_is_caught_by_the_right_check(runs: dict[str, Run], name: str) -> None:
    run, expected = runs[name], DRIFTS[name].expected_check
    failing = exit_codes.CONFORMANT if name == "empty_401_body" else exit_codes.FINDINGS  # run with --fail-on contract
    assert run.code == failing, run.output
    assert expected in run.checks, f"{DRIFTS[name].description}: expected {expected}, found {sorted(run.checks)}"
    messages = [
        m for f in run.summary["findings"] if f["check"] == expected for m in [f["message"], *f["messages"].values()]
    ]
    assert any(DRIFTS[name].evidence in m for m in messages), messages
    report = (run.reports / "drift-report.md").read_text()
    assert f"`{expected}`" in report
    assert expected in run.output  # the run's own output names the check
    if failing == exit_codes.FINDINGS:
        assert expected in (run.reports / "junit.xml").read_text()  # so does the failing test
    assert DriftServer.key_of(name) not in run.report_text() + run.output  # the key is masked everywhere
    assert run.sent is not None and run.sent <= (60 if name in DEFAULT_BUDGET_DRIFTS else 20)


def test_findings_are_classified(runs: dict[str, Run]) -> None:
    # The vendor YAML types create_time as an integer: a string breaks the contract itself.
    assert runs["create_time_string"].checks["response_schema_conformance"] == {"contract"}
    # The vendor YAML gives 401 no body; only the page's prose documents {"error": ...}.
    assert runs["empty_401_body"].checks["error_body_documented"] == {"documentation"}
    # A plain-text 400 breaks the vendor's ErrorResponse; a plain-text 401 only the prose: one finding
    # (one cause), a contract violation, that says which status is which.
    [plain] = [f for f in runs["non_json_error_body"].summary["findings"] if f["check"] == "error_body_documented"]
    assert (
        plain["class"] == "contract"
        and plain["statuses"]["400"] == "contract"
        and plain["statuses"]["401"] == "documentation"
    )
    assert (
        "documentation drift on 401 (only the prose overlay documents that part); counted once, as a contract violation"
        in plain["classification"]
    )
    # Pagination semantics and rate-limit headers exist only in the prose.
    assert runs["duplicate_across_pages"].checks["pagination_walk"] == {"documentation"}
    assert runs["missing_rate_limit_header"].checks["rate_limit_headers"] == {"documentation"}


def test_one_drift_is_one_finding_per_check(runs: dict[str, Run]) -> None:
    """A renamed error key used to be 6 contract violations and 2 documentation drifts."""
    findings = runs["error_key_renamed"].summary["findings"]
    assert sorted(f["check"] for f in findings) == ["error_body_documented", "response_schema_conformance"]
    for finding in findings:
        assert finding["class"] == "contract" and {"400", "401"} <= set(finding["statuses"])
    report = (runs["error_key_renamed"].reports / "drift-report.md").read_text()
    assert "Statuses: 400 (contract), 401 (documentation)" in report and "On 400:" in report


def test_a_join_drift_at_the_start_and_at_the_end_is_one_finding(runs: dict[str, Run]) -> None:
    [finding] = runs["cursor_past_oldest"].summary["findings"]
    assert finding["count"] == 2 and finding["message"].startswith(
        "page join 1->2: 1 video(s) between the oldest of page 1"
    )


def test_the_end_of_a_profile_is_checked_on_the_default_budget(runs: dict[str, Run]) -> None:
    """The walk reads 3 of 22 pages; the end search finds the last page and confirms the end."""
    for name in ("pytest_env", "make_run"):
        notes = runs[name].summary["notes"]
        [end] = [n for n in notes if n.startswith("pagination_end:")]
        assert "has_more=0, confirmed by one more request" in end, notes
        assert runs[name].summary["requests"] == 60


def test_html_report_and_progress_lines(runs: dict[str, Run]) -> None:
    run = runs["non_json_error_body"]
    html = (run.reports / "drift-report.html").read_text()
    assert html.startswith("<!doctype html>") and "default-src 'none'" in html
    assert "<script" not in html and "src=" not in html and "href=" not in html  # one file, nothing loaded
    assert (
        "received 400 with a text/plain; charset=utf-8 body &#x27;Bad Request&#x27;" in html
        or "received 400 with a text/plain; charset=utf-8 body 'Bad Request'" in html
    )
    # Not a terminal: one plain line per test, requests of the budget, credits, elapsed.
    assert "dumpling-contract: 20/20 requests, at most " in run.output and " s (after test_fuzzing_phase)" in run.output
    assert "requests, no credits (in-process)" in runs["in_process"].output


def test_fail_on_contract_lets_documentation_drift_pass(runs: dict[str, Run]) -> None:
    run = runs["fail_on_contract"]
    assert run.code == exit_codes.CONFORMANT, run.output
    assert "error_body_documented" in run.checks  # still reported
    assert "reported only" in (run.reports / "drift-report.md").read_text()
    assert "error_body_documented" in run.output  # named in the run's own output too


# --- budget, key, entry points -------------------------------------------------------------------
def test_budget_cap_is_exact_at_the_server(runs: dict[str, Run]) -> None:
    spent = runs["budget_spent"]
    assert "this run may spend up to 7 x 10 = 70 credits" in spent.output
    assert spent.code == exit_codes.INCOMPLETE, spent.output
    assert spent.sent == 7
    assert "INCOMPLETE" in spent.output and "Traceback" not in spent.output
    fits = runs["pytest_env"]
    assert fits.code == exit_codes.CONFORMANT, fits.output
    assert fits.sent == fits.summary["requests"] == 60  # used in full, counted exactly


def test_wrong_key_fails_loudly(runs: dict[str, Run]) -> None:
    run = runs["wrong_key"]
    assert run.code == exit_codes.KEY_REJECTED, run.output
    assert "the API key was rejected" in run.output
    assert run.sent == 1  # the preflight only
    assert "sk_not_a_key_of_this_mock" not in run.output + run.report_text()


def test_missing_key_fails_before_sending(runs: dict[str, Run]) -> None:
    run = runs["missing_key"]
    assert run.code == exit_codes.KEY_REJECTED, run.output
    assert "no API key" in run.output
    assert not run.sent


def test_bad_option_is_a_usage_error(runs: dict[str, Run]) -> None:
    run = runs["usage_error"]
    assert run.code == exit_codes.USAGE
    assert "--base-url" in run.output


def test_same_seed_sends_the_same_requests(runs: dict[str, Run], layer: DriftServer) -> None:
    assert runs["repeat"].code == runs["pytest_env"].code == exit_codes.CONFORMANT
    assert len(layer.layer.log["repeat"]) == 60
    assert layer.layer.log["repeat"] == layer.layer.log["pytest_env"]  # (method, path, body), in order


def test_make_contract_against_a_mock_started_like_make_run(runs: dict[str, Run]) -> None:
    run = runs["make_run"]
    assert run.code == exit_codes.CONFORMANT, run.output
    assert run.summary["findings"] == [] and run.summary["requests"] == 60
    assert "this run may spend up to 60 x 10 = 600 credits" in run.output
