"""`dumpling-mock verify-client`: the seed page's own examples pass, each faulty client is caught by
its rule, the misbehaviour options reach the client, and the exit codes say so.

verify-client runs in-process (main([...])); the clients are real processes (node, sh + curl,
python tests/clients/faulty.py FAULT) talking HTTP to the mock on a loopback port.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from mock_server.app.factory import build_context
from mock_server.cli.main import main
from mock_server.contract.document import build_contract, load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.journal.entry import JOURNAL_BODY_BYTES
from mock_server.journal.summary import response_summary
from mock_server.settings import Settings
from mock_server.testing.verify_client import Misbehaviour, install_faults
from mock_server.verify.rules import RULE, Pagination, analyse, pagination

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "openapi" / "vendor-page.md"
FAULTY = [sys.executable, str(ROOT / "tests" / "clients" / "faulty.py")]
VENDOR_BASE = "https://app.dumplingai.com"
OPERATION = "listTikTokProfileVideos"


def verify(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Run verify-client in-process; (exit code, the JSON report)."""
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)
    code = main(["verify-client", "--report-json", str(report), *args])
    return code, json.loads(report.read_text()) if report.exists() else {}


def rules(report: dict[str, Any]) -> set[str]:
    return {f["rule"] for r in report["requests"] for f in r["findings"]}


def page_example(heading: str, language: str) -> str:
    """A code block of the vendor's page, as the page has it."""
    match = re.search(
        rf"### {re.escape(heading)}\s*```{language}[^\n]*\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S
    )
    assert match, f"no {language} block under '### {heading}' in {PAGE}"
    return match.group(1)


# --- the page's own examples ---------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_pages_node_fetch_example_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = page_example("Node.js (fetch)", "javascript")
    assert code.count(f"'{VENDOR_BASE}") == 1
    # The only changes: the base URL, and the page's own commented "Example usage" line is run.
    code = code.replace(f"'{VENDOR_BASE}", "process.env.DUMPLING_BASE_URL + '")
    code = code.replace(
        "// getTikTokProfileVideos('YOUR_API_KEY', 'stoolpresidente');",
        "getTikTokProfileVideos('YOUR_API_KEY', 'stoolpresidente');",
    )
    script = tmp_path / "example.mjs"
    script.write_text(code)

    exit_code, report = verify(tmp_path, "--api-key", "YOUR_API_KEY", "--", "node", str(script))

    assert exit_code == 0, report
    assert [(r["method"], r["status"], r["handle"]) for r in report["requests"]] == [("POST", 200, "stoolpresidente")]
    assert report["summary"] == {"requests": 1, "violations": 0, "warnings": 1}
    assert rules(report) == {"stopped-early"}  # it fetches one page of a longer profile, as written
    out = capsys.readouterr().out
    assert "verify-client: 1 request, 0 violations, 1 warning\nverify-client: OK\n" in out


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_pages_curl_command_passes(tmp_path: Path) -> None:
    command = page_example("cURL", "bash")
    assert command.count(VENDOR_BASE) == 1
    script = tmp_path / "example.sh"
    script.write_text(command.replace(VENDOR_BASE, '"$DUMPLING_BASE_URL"'))

    exit_code, report = verify(tmp_path, "--api-key", "YOUR_API_KEY", "--", "sh", str(script))

    assert exit_code == 0, report
    assert [r["status"] for r in report["requests"]] == [200]
    assert report["summary"]["violations"] == 0
    assert rules(report) == {"stopped-early"}


# --- one faulty client per rule -----------------------------------------------------------------
FAULTS = {
    # fault: (rules it must trigger, exit code)
    "good": (set(), 0),
    "not-json": ({"body-not-json"}, 1),
    "no-content-type": ({"content-type"}, 1),
    "wrong-content-type": ({"content-type"}, 1),
    "no-auth": ({"auth"}, 1),
    "malformed-auth": ({"auth"}, 1),
    "unknown-key": ({"auth"}, 1),
    "empty-handle": ({"handle"}, 1),
    "missing-handle": ({"handle"}, 1),
    "at-handle": ({"handle-at"}, 0),
    "wrong-cursor": ({"max-cursor", "stopped-early"}, 1),
    "numeric-cursor": ({"max-cursor", "stopped-early"}, 1),
    "unknown-source": ({"unknown-value"}, 1),
    "unknown-field": ({"unknown-field"}, 0),
    "refetch": ({"page-refetch"}, 0),
    "stops-early": ({"stopped-early"}, 0),
    "past-end": ({"past-last-page"}, 0),
    "wrong-path": ({"unknown-path"}, 1),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_faulty_client_is_caught(tmp_path: Path, fault: str) -> None:
    expected, expected_code = FAULTS[fault]
    exit_code, report = verify(tmp_path, "--", *FAULTY, fault)
    assert rules(report) == expected, report["requests"]
    assert exit_code == expected_code
    for request in report["requests"]:
        for finding in request["findings"]:
            assert finding["severity"] == RULE[finding["rule"]].severity
            assert finding["message"]
    assert report["ok"] is (expected_code == 0)


def test_the_cursor_violation_names_the_expected_cursor(tmp_path: Path) -> None:
    _, report = verify(tmp_path, "--", *FAULTY, "wrong-cursor")
    first, second = report["requests"][:2]
    [finding] = [f for f in second["findings"] if f["rule"] == "max-cursor"]
    assert "the max_cursor of the last response for handle 'stoolpresidente' (request #1)" in finding["message"]
    assert not first["findings"]


# --- exit codes ------------------------------------------------------------------------------------
def test_warnings_fail_only_with_warnings_as_errors(tmp_path: Path) -> None:
    assert verify(tmp_path, "--", *FAULTY, "stops-early")[0] == 0
    code, report = verify(tmp_path, "--warnings-as-errors", "--", *FAULTY, "stops-early")
    assert code == 1
    assert report["failures"] == ["1 warning (--warnings-as-errors)"]


def test_a_failing_command_fails_the_run(tmp_path: Path) -> None:
    code, report = verify(tmp_path, "--", *FAULTY, "exit-3")
    assert code == 1
    assert report["exit_code"] == 3
    assert report["summary"]["violations"] == 0
    assert report["failures"] == ["the command exited with 3"]


def test_a_command_that_makes_no_request_fails(tmp_path: Path) -> None:
    code, report = verify(tmp_path, "--", *FAULTY, "no-request")
    assert code == 1
    assert report["failures"] == ["the command made no request to the mock"]


def test_a_missing_command_or_a_hung_one_fails(tmp_path: Path) -> None:
    code, report = verify(tmp_path, "--", "no-such-client-binary-here")
    assert code == 1
    assert report["failures"][0] == "command not found: no-such-client-binary-here"
    code, report = verify(tmp_path, "--timeout", "0.5", "--", sys.executable, "-c", "import time; time.sleep(60)")
    assert code == 1
    assert report["failures"][0] == "the command did not finish within 0.5 s and was killed"


@pytest.mark.parametrize(
    "args",
    [
        [],  # no command
        ["--"],
        ["--inject", "chaos", "--", "true"],
        ["--inject", "every-error:3", "--", "true"],
        ["--latency", "fast", "--", "true"],
        ["--latency", "60001", "--", "true"],
        ["--timeout", "0", "--", "true"],
        ["--api-key", "has space", "--", "true"],
        ["--seed", "-1", "--", "true"],
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-client", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dumpling-mock: error: ")


# --- misbehaviour --------------------------------------------------------------------------------
def test_every_error_reaches_the_client_once_in_turn(tmp_path: Path) -> None:
    op = load_contract().by_id(OPERATION)
    documented = [(status, name) for status in op.statuses if status >= 400 for name in op.examples(status)]
    assert len(documented) >= 7

    code, report = verify(tmp_path, "--inject", "every-error", "--latency", "1", "--", *FAULTY, "retry")

    assert code == 0, report
    requests = report["requests"]
    assert [(r["status"], r["example"]) for r in requests[:-1]] == documented
    assert all(r["forced"] for r in requests[:-1])
    assert requests[-1]["status"] == 200 and requests[-1]["forced"] is None
    # An injected 401 is not the client's fault; retrying it at once, as this client does, is:
    # the retry rules name it (warnings: the run still passes).
    assert rules(report) == {"retried-client-error", "no-backoff"}


def test_rate_limit_exhaustion_reaches_the_client(tmp_path: Path) -> None:
    code, report = verify(tmp_path, "--inject", "rate-limit:2", "--", *FAULTY, "good")
    assert [r["status"] for r in report["requests"]] == [200, 200, 503]
    assert rules(report) == {"stopped-early"}  # the faulty client gives up on the 503
    assert code == 0


def test_latency_is_queued_before_the_errors() -> None:
    ctx = build_context(Settings())
    try:
        queued = install_faults(ctx, Misbehaviour(every_error=True, latency_ms=250))
        faults = ctx.store.faults()
    finally:
        ctx.store.close()
    assert faults[0]["latency_ms"] == 250 and faults[0]["remaining"] is None and "status" not in faults[0]
    assert queued == len(faults) - 1 and all(f["remaining"] == 1 for f in faults[1:])


# --- the checks themselves, on journal entries ----------------------------------------------------
@pytest.fixture(scope="module")
def validator() -> ContractValidator:
    return ContractValidator(load_contract())


def entry(body: str, status: int = 200, **fields: Any) -> dict[str, Any]:
    base = {
        "method": "POST",
        "path": "/api/v1/get-tiktok-profile-videos",
        "operation": OPERATION,
        "key": "sk_…emo",
        "content_type": "application/json",
        "body": body,
        "status": status,
        "violations": [],
        "forced": None,
        "response": None,
    }
    return {**base, **fields}


def test_pagination_is_read_from_the_contracts_link(validator: ContractValidator) -> None:
    op = validator.contract.by_id(OPERATION)
    assert pagination(op) == Pagination(subject="handle", cursor="maxCursor", source="max_cursor")
    document = copy.deepcopy(validator.contract.document)
    del document["paths"]["/api/v1/get-tiktok-profile-videos"]["post"]["responses"]["200"]["links"]
    unlinked = ContractValidator(build_contract(document))
    assert pagination(unlinked.contract.by_id(OPERATION)) is None
    page = entry('{"handle": "x"}', response={"max_cursor": "5", "has_more": 1})
    assert rules_of(analyse([page], validator)) == {"stopped-early"}
    assert rules_of(analyse([page], unlinked)) == set()


def rules_of(analysis: Any) -> set[str]:
    return {f.rule for r in analysis.requests for f in r.findings}


def test_an_injected_401_is_not_an_auth_violation(validator: ContractValidator) -> None:
    injected = entry('{"handle": "x"}', 401, forced="fault 1", reason="requested by fault 1")
    refused = entry("", 401, reason="inactive API key")
    analysis = analyse([injected, refused], validator)
    assert [[f.rule for f in r.findings] for r in analysis.requests] == [[], ["auth"]]
    assert "inactive API key" in analysis.requests[1].findings[0].message


def test_bodies_the_journal_cannot_replay(validator: ContractValidator) -> None:
    long_body = '{"handle": "x", "pad": "' + "a" * JOURNAL_BODY_BYTES + '"}'
    cut = entry(long_body[:JOURNAL_BODY_BYTES], 200)
    latin1 = entry('{"handle": "caf\ufffd"}', 400)
    empty = entry("", 400)
    analysis = analyse([cut, latin1, empty], validator)
    assert [[f.rule for f in r.findings] for r in analysis.requests] == [
        ["body-unchecked"],
        ["body-not-json"],
        ["body-not-json"],
    ]


def test_a_cursor_from_elsewhere_is_a_warning(validator: ContractValidator) -> None:
    analysis = analyse([entry('{"handle": "x", "maxCursor": "1736092800000"}')], validator)
    assert rules_of(analysis) == {"max-cursor-unseen"}
    assert analysis.violations == 0 and analysis.warnings == 1


def test_response_summary_keeps_top_level_scalars_of_successes() -> None:
    body = json.dumps(
        {"aweme_list": [{"aweme_id": "1"}], "max_cursor": "9", "has_more": 1, "extra": {"now": 1}}
    ).encode()
    assert response_summary(200, body) == {
        "max_cursor": "9",
        "has_more": 1,
        "aweme_list#count": 1,
    }  # the list: only its length (and pins)
    assert response_summary(404, b'{"error": "x"}') is None
    assert response_summary(200, b"not json") is None
    assert response_summary(200, b"[1]") is None


def test_the_report_is_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    verify(tmp_path, "--", *FAULTY, "wrong-cursor")
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#"))
    assert lines[header].split() == ["#", "METHOD", "PATH", "STATUS", "HANDLE", "FINDINGS"]
    assert lines[header + 1].split()[:5] == ["1", "POST", "/api/v1/get-tiktok-profile-videos", "200", "stoolpresidente"]
    assert any(line.strip().startswith("violation max-cursor: maxCursor") for line in lines)
    assert lines[-2] == "verify-client: 3 requests, 1 violation, 1 warning"
    assert lines[-1] == "verify-client: FAILED: 1 request broke the contract"


def test_settings_are_a_fresh_loopback_mock(tmp_path: Path) -> None:
    """A config file's state/port/upstream never leak into verify-client's private mock."""
    import argparse

    from mock_server.testing.verify_client import mock_settings

    config = tmp_path / "mock.yaml"
    config.write_text(f"seed: 7\nport: 9999\nstate: {tmp_path / 'state.sqlite3'}\nupstream: http://127.0.0.1:9\n")
    args = argparse.Namespace(seed=None, config=str(config), api_key="sk_test_key:30")
    settings = mock_settings(args, {}, Misbehaviour(rate_limit_after=4))
    assert (settings.seed, settings.port, settings.state, settings.upstream, settings.host) == (
        7,
        0,
        None,
        None,
        "127.0.0.1",
    )
    assert [(k.key, k.credits) for k in settings.api_keys] == [("sk_test_key", 30)]
    assert (settings.rate_limit.requests, dataclasses.asdict(settings.rate_limit)["period_s"]) == (4, 86_400)


def test_a_missing_handle_gets_the_documented_handle_message(tmp_path: Path) -> None:
    """The mock answers the client without a handle with the page's own 400 message."""
    _, report = verify(tmp_path, "--", *FAULTY, "missing-handle")
    [request] = report["requests"]
    assert (request["status"], request["example"]) == (400, "handle_required")
