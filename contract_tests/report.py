"""The human report (`drift-report.md`) and its machine twin (`findings.json`), keys masked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from contract_tests import exit_codes, html_report
from contract_tests.findings import CONTRACT, DOCUMENTATION, Finding

TITLES = {
    CONTRACT: ("Contract violations", "the target breaks the vendor's own OpenAPI YAML (`openapi/vendor.yaml`)"),
    DOCUMENTATION: (
        "Documentation drift",
        "the target departs from what the documentation page adds in prose (`openapi/prose.overlay.yaml`)",
    ),
}


@dataclass(frozen=True)
class Summary:
    target: str
    exit_code: int
    requests: int
    successes: int
    budget: int | None
    credit_cost: int
    fail_on: frozenset[str]
    findings: list[Finding]
    examined: dict[str, int]
    notes: list[str]
    problem: str  # key problem or incomplete reason, "" when none
    secrets: tuple[str, ...] = ()  # keys to mask in what is written (the findings are masked already)


def verdict(summary: Summary) -> str:
    if summary.exit_code == exit_codes.CONFORMANT:
        return "CONFORMANT: no finding"
    counts = ", ".join(
        f"{sum(1 for f in summary.findings if f.kind == kind)} {TITLES[kind][0].lower()}" for kind in TITLES
    )
    label = exit_codes.MEANING.get(summary.exit_code, f"exit code {summary.exit_code}").upper()
    return f"{label}: {counts}" + (f" ({summary.problem})" if summary.problem else "")


def markdown(summary: Summary) -> str:
    budget = f" of a budget of {summary.budget}" if summary.budget is not None else " (in-process, no budget)"
    lines = [
        "# Contract kit report",
        "",
        f"- **Result:** {verdict(summary)} (exit code {summary.exit_code})",
        f"- **Target:** {summary.target}",
        "- **Contract:** effective contract = `openapi/vendor.yaml` + `openapi/prose.overlay.yaml`",
        f"- **Requests sent:** {summary.requests}{budget}; {summary.successes} succeeded (2xx), so at most {summary.successes * summary.credit_cost} credits were spent",
        f"- **Failing classes:** {', '.join(sorted(summary.fail_on))}",
        "",
    ]
    for kind, (title, meaning) in TITLES.items():
        findings = sorted((f for f in summary.findings if f.kind == kind), key=lambda f: (f.check, f.title))
        fails = "fails the run" if kind in summary.fail_on else "reported only"
        lines += [f"## {title} ({len(findings)})", "", f"_{meaning}; {fails}._", ""]
        if not findings:
            lines += ["None.", ""]
        for finding in findings:
            lines += _finding(finding)
    lines += ["## Checks", "", "| check | responses examined | findings |", "|---|---:|---:|"]
    for check in sorted(summary.examined):
        count = sum(1 for f in summary.findings if f.check == check)
        lines.append(f"| `{check}` | {summary.examined[check]} | {count} |")
    if summary.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in summary.notes]
    return "\n".join(lines) + "\n"


def _finding(finding: Finding) -> list[str]:
    seen = f" (seen {finding.count} times)" if finding.count > 1 else ""
    lines = [f"### `{finding.check}`: {finding.title}{seen}", ""]
    if finding.statuses:
        lines += [
            "Statuses: " + ", ".join(f"{status} ({kind})" for status, kind in sorted(finding.statuses.items())),
            "",
        ]
    if finding.classification():
        lines += [f"_Classified as a contract violation: {finding.classification()}._", ""]
    lines.append(_fence(finding.message))
    others = {status: message for status, message in sorted(finding.messages.items()) if message != finding.message}
    for status, message in others.items():
        lines += [f"On {status}:", "", _fence(message)]
    if finding.request:
        lines += ["Request:", "", _fence(finding.request)]
    if finding.response:
        lines += ["Response:", "", _fence(finding.response)]
    if finding.tests:
        lines += [f"Found by: {', '.join(f'`{t}`' for t in finding.tests)}", ""]
    return lines


def _fence(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}text\n{text}\n{fence}\n"


def write(summary: Summary, directory: Path) -> tuple[Path, Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    report = directory / "drift-report.md"
    text = markdown(summary)
    report.write_text(text, encoding="utf-8")
    html = html_report.write(
        directory / "drift-report.html", text, f"Contract kit report: {verdict(summary)}", list(summary.secrets)
    )
    data = {
        "result": verdict(summary),
        "exit_code": summary.exit_code,
        "target": summary.target,
        "requests": summary.requests,
        "successes": summary.successes,
        "budget": summary.budget,
        "problem": summary.problem,
        "findings": [f.as_dict() for f in summary.findings],
        "examined": summary.examined,
        "notes": summary.notes,
    }
    machine = directory / "findings.json"
    machine.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return report, html, machine
