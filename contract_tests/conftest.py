"""pytest glue of the contract kit: options, the run's start and end, per-test outcomes, reports.

`pytest contract_tests --base-url ... --api-key ...` and `dumpling-contract` both come here.
A test fails when findings of a failing class (--fail-on) were recorded while it ran; a test
stopped by the spent budget is reported as skipped and the run as incomplete.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from contract_tests import exit_codes, options, report
from contract_tests import kit as kit_module
from contract_tests.budget import BudgetSpent, ShareSpent
from contract_tests.limits import RunOutOfTime
from contract_tests.progress import LiveView

Report = TypeVar("Report", pytest.TestReport, pytest.CollectReport)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "budget_share(fraction): the share of the remaining request budget this test may use"
    )
    kit = kit_module.start(options.from_pytest(config))
    if not config.option.xmlpath:  # JUnit XML by default, next to the drift report
        config.option.xmlpath = str(kit.options.reports_dir / "junit.xml")


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Say what the run may cost before the first request."""
    kit = kit_module.current()
    line = plan_line(kit)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line, bold=True)
    else:
        print(line, file=sys.stderr, flush=True)
    kit.view = LiveView(
        kit.budget.cap, kit.operation.credit_cost, lambda: (kit.budget.used, kit.state.successes), kit.recorder.secrets
    )
    kit.view.reporter = reporter


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    kit = kit_module._current
    if kit is not None and kit.view is not None:
        kit.view.test_started(nodeid)


@pytest.hookimpl(trylast=True)
def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """In CI (no terminal), one plain progress line per finished test."""
    kit = kit_module._current
    if kit is None or kit.view is None or not kit.view.plain():
        return
    reporter = kit.view.reporter
    if reporter is not None:
        reporter.write_line(kit.view.plain())
    else:
        print(kit.view.plain(), file=sys.stderr, flush=True)


def plan_line(kit: kit_module.Kit) -> str:
    cost = kit.operation.credit_cost
    if kit.options.base_url is None:  # not remote
        return "dumpling-contract: target = the in-process mock (no credits spent)"
    cap = kit.budget.cap or 0
    rate = f", at most {options.rate_text(kit.options.rate_limit)}" if kit.options.rate_limit else ""
    return f"dumpling-contract: target = {kit.mask(kit.options.base_url)}; this run may spend up to {cap} x {cost} = {cap * cost} credits ({cap} requests{rate})"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    kit = kit_module.current()
    kit.recorder.current_test = item.nodeid
    marker = item.get_closest_marker("budget_share")
    if marker is not None:
        kit.budget.share(float(marker.args[0]))
    else:
        kit.budget.end_share()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, pytest.TestReport]:
    rep: pytest.TestReport = yield
    kit = kit_module.current()
    if rep.when == "call":
        _outcome(kit, item, call, rep)
    return mask_report(kit, rep)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, pytest.CollectReport]:
    rep: pytest.CollectReport = yield
    return mask_report(kit_module.current(), rep) if kit_module._current is not None else rep


def mask_report(kit: kit_module.Kit, rep: Report) -> Report:
    """What pytest prints and junit.xml holds of a report (its longrepr, captured output), masked:
    an exception text may quote the target's answer, which may echo the key."""
    longrepr = rep.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        rep.longrepr = (longrepr[0], longrepr[1], kit.mask(str(longrepr[2])))
    elif longrepr is not None:
        rep.longrepr = kit.mask(str(longrepr))
    rep.sections = [(title, kit.mask(content)) for title, content in rep.sections]
    return rep


def _outcome(kit: kit_module.Kit, item: pytest.Item, call: pytest.CallInfo[None], rep: pytest.TestReport) -> None:
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, (BudgetSpent, RunOutOfTime)):
        kit.state.incomplete = str(error)
        rep.outcome = "skipped"
        rep.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {error}; the run is incomplete")
        item.session.shouldstop = (
            str(error)
            if isinstance(error, RunOutOfTime)
            else f"the request budget of {kit.budget.cap} requests is spent"
        )
        return
    if isinstance(error, ShareSpent):  # a planned stop: the test used its share of the budget
        rep.outcome = "passed"
        rep.longrepr = None
    failing = [f for f in kit.recorder.for_test(item.nodeid) if f.kind in kit.options.fail_on]
    if failing and rep.outcome == "passed":
        rep.outcome = "failed"
        lines = [f"{f.check} [{f.kind}]: {f.title}: {(f.message.splitlines() or [''])[0]}" for f in failing]
        rep.longrepr = f"{len(failing)} finding(s): " + "; ".join(f.check for f in failing) + "\n" + "\n".join(lines)
    if kit.state.key_problem or kit.state.unreachable:
        item.session.shouldstop = kit.state.key_problem or kit.state.unreachable


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    kit = kit_module._current
    if kit is None:
        return
    if kit.view is not None:
        kit.view.stop()
    for phase, count in kit.state.sent.items():
        stopped = kit.state.stopped.get(phase, "")
        kit.state.notes.append(
            f"{phase} phase: {count} generated case(s) sent" + (f", then stopped at {stopped}" if stopped else "")
        )
    if kit.options.remote:
        kit.state.notes.append(
            "ignored_auth: not run against a remote target (its probes bypass the request budget); auth_enforced sends the same probes, counted"
        )
    findings = list(kit.recorder.findings.values())
    failing = [f for f in findings if f.kind in kit.options.fail_on]
    if kit.state.key_problem:
        code = exit_codes.KEY_REJECTED
    elif kit.state.unreachable:
        code = exit_codes.UNREACHABLE
    elif failing:
        code = exit_codes.FINDINGS
    elif kit.state.incomplete:
        code = exit_codes.INCOMPLETE
    elif exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        code = int(exitstatus)  # interrupted, internal error: pytest's own code
    elif exitstatus == pytest.ExitCode.TESTS_FAILED:
        code = exit_codes.FINDINGS  # a test failed without a recorded finding (its traceback says why)
    else:
        code = exit_codes.CONFORMANT
    summary = report.Summary(  # every text masked here, so that every report writer gets it masked
        target=kit.mask(kit.options.base_url or "the in-process mock"),
        exit_code=code,
        requests=kit.budget.used,
        successes=kit.state.successes,
        budget=kit.budget.cap,
        credit_cost=kit.operation.credit_cost,
        fail_on=kit.options.fail_on,
        findings=findings,
        examined=dict(kit.recorder.examined),
        notes=[kit.mask(note) for note in kit.state.notes],
        problem=kit.mask(kit.state.key_problem or kit.state.unreachable or kit.state.incomplete),
        secrets=tuple(kit.recorder.secrets),
    )
    kit.state.report_paths = [str(path) for path in report.write(summary, kit.options.reports_dir)]
    kit.state.verdict = report.verdict(summary)
    session.exitstatus = code


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    kit = kit_module._current
    if kit is None or not kit.state.verdict:
        return
    terminalreporter.section("dumpling-contract")

    def write(line: str, **markup: bool) -> None:
        terminalreporter.write_line(kit.mask(line), **markup)

    if kit.state.key_problem or kit.state.unreachable:
        write(f"ERROR: {kit.state.key_problem or kit.state.unreachable}", red=True, bold=True)
    if kit.state.incomplete:
        write(f"INCOMPLETE: {kit.state.incomplete}; the checks after that point did not run", yellow=True, bold=True)
    for finding in sorted(kit.recorder.findings.values(), key=lambda f: (f.kind, f.check)):
        fails = "" if finding.kind in kit.options.fail_on else ", reported only"
        write(
            f"{finding.check} [{finding.kind}{fails}]: {finding.title}: {(finding.message.splitlines() or [''])[0][:160]}"
        )
    budget = f" of {kit.budget.cap}" if kit.budget.cap is not None else ""
    write(f"{kit.state.verdict}; {kit.budget.used}{budget} requests sent")
    for path in [*kit.state.report_paths, config.option.xmlpath]:
        write(f"report: {Path(path)}")
    sys.stdout.flush()
