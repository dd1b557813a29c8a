"""verify-client's retry rules (verify.rules.retry_rules): a small client with a good retry
policy and one client per bad policy (tests/clients/retrying.py) go through the same recovering
scenarios; the good one passes with no finding, each bad one is named by its rule. Plus the
rules on hand-made journal entries, where timing is exact.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server.cli.main import main
from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.verify.rules import RULE, VIOLATION, WARNING, analyse, gave_up_silently

ROOT = Path(__file__).resolve().parents[2]
RETRYING = [sys.executable, str(ROOT / "tests" / "clients" / "retrying.py")]
SCENARIOS = ["--inject", "rate-limit:2,recover-after:2", "--inject", "flaky:3", "--inject", "reset:4"]
SLOW_PAGE = {"steps": [{"delay_ms": 700}], "match": {"handle": "videos-35", "page": 2}}  # a slow success


def verify(tmp_path: Path, policy: str) -> tuple[int, dict[str, Any]]:
    config = tmp_path / "mock.yaml"
    config.write_text(yaml.safe_dump({"faults": [SLOW_PAGE]}), encoding="utf-8")
    report = tmp_path / "report.json"
    code = main(
        ["verify-client", "--config", str(config), *SCENARIOS, "--report-json", str(report), "--", *RETRYING, policy]
    )
    return code, json.loads(report.read_text())


def rules(report: dict[str, Any]) -> set[str]:
    return {f["rule"] for r in report["requests"] for f in r["findings"]}


def test_a_client_with_a_good_retry_policy_passes_every_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = verify(tmp_path, "good")
    out = capsys.readouterr().out
    assert "- (injected: CONNECTION_RESET_BY_PEER)" in out and out.endswith(
        "verify-client: 9 requests, 0 violations, 0 warnings\nverify-client: OK\n"
    )
    assert code == 0 and report["ok"], report
    assert rules(report) == set()
    shown = [(r["status"], r["example"], r["fault"]) for r in report["requests"]]
    assert shown == [
        (200, None, None), (200, None, None),  # the rate limit's first 2 requests
        (503, "rate_limited", None), (503, "rate_limited", None), (502, "invalid_data_format", None),  # page 3
        (200, None, None),
        (0, None, "CONNECTION_RESET_BY_PEER"), (200, None, None),  # page 4
        (404, "profile_not_found", None),  # the second profile does not exist: skipped, not retried
    ]  # fmt: skip
    assert report["notes"] == [
        "--inject rate-limit:2,recover-after:2: the 2 requests after the first 2 got the documented 503, then service recovered",
        "--inject flaky:3: the first request for page 3 of a handle got a 502, the next one service",
        "--inject reset:4: the first request for page 4 of a handle had its connection reset",
    ]


BAD_POLICIES = {
    # policy: (rules named, exit code of verify-client)
    "gives-up": ({"gave-up-silently", "stopped-early"}, 1),
    "retries-client-errors": ({"retried-client-error"}, 0),
    "no-backoff": ({"no-backoff"}, 0),
    "short-timeout": ({"retried-after-success"}, 0),
}


@pytest.mark.parametrize("policy", list(BAD_POLICIES))
def test_each_bad_retry_policy_is_named(tmp_path: Path, policy: str) -> None:
    expected, expected_code = BAD_POLICIES[policy]
    code, report = verify(tmp_path, policy)
    assert rules(report) == expected, report["requests"]
    assert code == expected_code
    assert set(report["rules"]) == expected


# --- the rules on journal entries ------------------------------------------------------------------
OPERATION = "listTikTokProfileVideos"


@pytest.fixture(scope="module")
def validator() -> ContractValidator:
    return ContractValidator(load_contract())


def entry(at: float, status: int, body: str = '{"handle": "videos-3"}', **fields: Any) -> dict[str, Any]:
    return {"at": at, "method": "POST", "path": "/api/v1/get-tiktok-profile-videos", "operation": OPERATION, "key": "sk_m…",
            "content_type": "application/json", "body": body, "status": status, "violations": [], "forced": None,
            "response": {"has_more": 0, "max_cursor": "1"} if status == 200 else None, **fields}  # fmt: skip


def findings(entries: list[dict[str, Any]], validator: ContractValidator, exit_code: int | None = 0) -> list[list[str]]:
    analysis = analyse(entries, validator)
    gave_up_silently(analysis, exit_code)
    return [[f.rule for f in r.findings] for r in analysis.requests]


def test_no_backoff_counts_three_retries_within_a_second(validator: ContractValidator) -> None:
    burst = [entry(0.0, 503), entry(0.1, 503), entry(0.2, 503), entry(0.9, 200)]
    assert findings(burst, validator) == [[], [], [], ["no-backoff"]]
    patient = [entry(0.0, 503), entry(0.2, 503), entry(0.6, 503), entry(1.4, 200)]
    assert findings(patient, validator) == [[], [], [], []]


def test_gave_up_silently_needs_an_injected_failure_and_exit_zero(validator: ContractValidator) -> None:
    injected = [entry(0.0, 502, forced="fault 1")]
    assert findings(injected, validator) == [["gave-up-silently"]]
    assert findings(injected, validator, exit_code=1) == [[]], "a client that says it failed did not fail silently"
    assert findings([entry(0.0, 0, forced="fault 1 step 1 of 2", fault="EMPTY_RESPONSE")], validator) == [
        ["gave-up-silently"]
    ]
    assert findings([entry(0.0, 503)], validator) == [[]], "the ledger's own 503 is not an injected one"
    assert findings([entry(0.0, 500, forced="fault 1")], validator) == [[]], "the page's 500s are not retryable"


def test_retried_client_errors_and_successes(validator: ContractValidator) -> None:
    assert findings([entry(0.0, 404), entry(5.0, 404)], validator) == [[], ["retried-client-error"]]
    assert findings([entry(0.0, 400, forced="Prefer header"), entry(1.0, 200)], validator) == [[], []], (
        "Prefer was per request"
    )
    other = '{"handle": "videos-4"}'
    assert findings([entry(0.0, 200), entry(1.0, 503), entry(2.0, 200)], validator) == [
        [],
        [],
        ["retried-after-success"],
    ]
    assert findings([entry(0.0, 200), entry(1.0, 200, body=other), entry(2.0, 200)], validator) == [
        [],
        [],
        ["page-refetch"],
    ]


def test_the_retry_rules_are_documented_with_their_severity() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, severity in [
        ("gave-up-silently", VIOLATION),
        ("retried-client-error", WARNING),
        ("no-backoff", WARNING),
        ("retried-after-success", WARNING),
    ]:
        assert RULE[name].severity == severity
        assert f"| `{name}` | {severity} | {RULE[name].what} |" in readme


def test_every_error_counts_only_its_own_errors_beside_a_scenario(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    faulty = [sys.executable, str(ROOT / "tests" / "clients" / "faulty.py"), "stops-early"]  # one request
    main(
        ["verify-client", "--inject", "flaky:1", "--inject", "every-error", "--report-json", str(report), "--", *faulty]
    )
    data = json.loads(report.read_text())
    assert [(r["status"], r["forced"]) for r in data["requests"]] == [(502, "fault 1")]
    assert data["notes"][0].startswith("--inject every-error: none of the "), "flaky's 502 is not one of every-error's"
