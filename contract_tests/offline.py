"""`dumpling-contract --har FILE.har`: the contract kit on recorded traffic, offline. Zero
requests are sent, so a team can check traffic captured in production for drift without
spending a credit.

Each recorded exchange of a contract operation goes through the kit's own response checks:
schemathesis' checks (status codes, content type, headers, schema) and the domain checks of
checks.py (error bodies, rate-limit headers, the documented example's field types), with the
kit's classification (findings.py) and report files (report.py, plus junit.xml). The pagination
walk (pagination.py) follows each handle's recorded pages: the recorded cursors lead to the
recorded next pages. What only a new request could show is not checked, and the report says so:
auth_enforced, the join probe between pages, the search for a profile's end, and a has_more=0
that was never confirmed by one more request.

As information, the notes list what the real 2xx responses contain that the mock does not
generate (fields, value formats), so the data generator can follow reality.
"""

from __future__ import annotations

import copy
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import requests
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response
from schemathesis.openapi import from_dict
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import ignored_auth

from contract_tests import exit_codes, report
from contract_tests.budget import Budget
from contract_tests.checks import TITLES, DomainChecks, kind
from contract_tests.findings import Classifier, Finding, Recorder, cause_of
from contract_tests.pagination import Problem, walk
from mock_server.contract.document import Contract, Operation, load_contract
from mock_server.contract.links import PageLink, page_link
from mock_server.contract.validator import ContractValidator
from mock_server.data.pages import Pages
from mock_server.exceptions import HarError
from mock_server.recording import har
from mock_server.recording.replay import operation_of
from mock_server.server.secrets import bearer_key
from mock_server.settings import Settings

RESPONSES_TEST = "har::recorded_responses"
WALK_TEST = "har::pagination_walk"
MAX_REALITY_NOTES = 40
NOT_RECORDED = b'{"aweme_list":[],"has_more":0}'  # stands for a page nobody asked for (never checked)


@dataclass
class Offline:
    """One offline run: the contract, the checks wired to a recorder, and what was seen."""

    contract: Contract
    schema: BaseSchema
    recorder: Recorder
    checks: DomainChecks
    budget: Budget
    notes: list[str]


def setup(secrets: Iterable[str]) -> Offline:
    contract = load_contract()
    budget = Budget(None)
    recorder = Recorder(Classifier(load_contract(overlay=False)), secrets, TITLES)
    config = SchemathesisConfig.from_dict(
        {
            "suppress-health-check": ["all"],
            "checks": {"positive_data_acceptance": {"enabled": False}, "negative_data_rejection": {"enabled": False}},
        }
    )
    schema = from_dict(copy.deepcopy(contract.document), config=config)

    def after_validate(context: Any, case: Case[Any], response: Response, results: list[Any]) -> None:
        recorder.on_results(response, results)

    schema.hook(after_validate)
    return Offline(contract, schema, recorder, DomainChecks(contract, ContractValidator(contract), budget), budget, [])


def as_response(exchange: har.Exchange) -> Response:
    """A recorded exchange as the response schemathesis' checks read (its request included)."""
    headers = [(n, v) for n, v in exchange.request_headers if n.lower() not in ("content-length", "host")]
    prepared = requests.Request(
        exchange.method, exchange.url, headers=dict(headers), data=exchange.request_body or None
    ).prepare()
    grouped: dict[str, list[str]] = defaultdict(list)
    for name, value in exchange.response_headers:
        grouped[name.lower()].append(value)
    return Response(
        exchange.status,
        dict(grouped),
        exchange.response_body,
        prepared,
        exchange.time_ms / 1000,
        True,
        message=exchange.status_text,
    )


def _body(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


def check_responses(run: Offline, exchanges: list[tuple[Operation, har.Exchange]]) -> None:
    """Every recorded response through the kit's checks, as Kit.validate does for a sent one."""
    run.recorder.current_test = RESPONSES_TEST
    for number, (op, exchange) in enumerate(exchanges, start=1):
        run.budget.used = number  # requests "sent" so far: the rate-limit window check counts them
        headers = {
            n: v for n, v in exchange.request_headers if n.lower() in ("authorization", "content-type", "prefer")
        }
        case = run.schema[op.path][op.method].Case(
            body=_body(exchange.request_body),
            headers=headers,
            media_type=exchange.header("content-type", response=False) or "application/json",
        )
        try:
            case.validate_response(
                as_response(exchange), additional_checks=run.checks.all(), excluded_checks=[ignored_auth]
            )
        except FailureGroup:
            pass  # recorded by the after_validate hook


def check_walks(run: Offline, op: Operation, link: PageLink, exchanges: list[har.Exchange]) -> None:
    """The pagination walk of each handle over its recorded pages: the walk starts at every page no
    other recorded page leads to, and a cursor leads to the page recorded for it."""
    run.recorder.current_test = WALK_TEST
    pages: dict[tuple[str, bool], dict[str, har.Exchange]] = defaultdict(dict)
    for exchange in exchanges:
        body = _body(exchange.request_body)
        if not isinstance(body, dict) or not isinstance(body.get("handle"), str):
            continue
        cursor = body.get(link.cursor_param)
        asked = "" if cursor in (None, "", "0", 0) else str(cursor)
        pages[(body["handle"].lstrip("@"), bool(body.get("trim", False)))].setdefault(asked, exchange)
    for (handle, trim), by_cursor in sorted(pages.items()):
        following = {str(c) for ex in by_cursor.values() if 200 <= ex.status < 300 for c in [_cursor(ex, link)] if c}
        roots = [asked for asked, ex in by_cursor.items() if 200 <= ex.status < 300 and asked not in following]
        for asked in roots:
            unconfirmed: list[str] = []

            def fetch(
                cursor: str, by_cursor: dict[str, har.Exchange] = by_cursor, unconfirmed: list[str] = unconfirmed
            ) -> Response:
                recorded = by_cursor.get(cursor)
                if recorded is not None:
                    return as_response(recorded)
                unconfirmed.append(cursor)  # only after a has_more=0 page: the walk stops here either way
                return as_response(
                    har.Exchange(
                        "POST",
                        "http://not-recorded/",
                        (),
                        b"",
                        200,
                        (("content-type", "application/json"),),
                        NOT_RECORDED,
                    )
                )

            result = walk(as_response(by_cursor[asked]), fetch, link, _chain(by_cursor, asked, link), asked=asked)
            for problem in result.problems:
                _record(run, problem)
            if not result.problems:
                run.recorder.passed("pagination_walk")
            ended = (
                "has_more=0 on the last recorded page (the request that would confirm the end was not recorded)"
                if unconfirmed
                else result.ended
            )
            start = f"{link.cursor_param}={asked}" if asked else "the first page"
            run.notes.append(
                f"pagination_walk: handle {handle!r}{' (trim)' if trim else ''} from {start}: {result.pages} recorded page(s), {result.items} item(s); stopped at {ended}"
            )


def _record(run: Offline, problem: Problem) -> None:
    cause = cause_of(problem.message, problem.response.status_code)
    run.recorder.add("pagination_walk", problem.response, "Pagination is inconsistent", problem.message, cause)


def _cursor(exchange: har.Exchange, link: PageLink) -> str:
    body = _body(exchange.response_body)
    value = body.get(link.cursor_field) if isinstance(body, dict) else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "" else ""


def _chain(by_cursor: dict[str, har.Exchange], asked: str, link: PageLink) -> int:
    """How many recorded pages follow one another from `asked` (the walk's bound: it never asks
    for a page after has_more=1 that nobody recorded)."""
    count, seen, current = 0, set(), asked
    while current in by_cursor and current not in seen:
        seen.add(current)
        count += 1
        exchange = by_cursor[current]
        if not 200 <= exchange.status < 300:
            break
        current = _cursor(exchange, link)
    return max(count, 1)


# --- what reality has that the mock does not generate ------------------------------------------
def shapes(value: Any, path: str = "") -> dict[str, set[str]]:
    """Field path (list items as [*]) -> the kinds and formats of its values."""
    found: dict[str, set[str]] = defaultdict(set)
    if isinstance(value, dict):
        for key, item in value.items():
            for sub, kinds in shapes(item, f"{path}.{key}" if path else key).items():
                found[sub] |= kinds
    elif isinstance(value, list):
        for item in value:
            for sub, kinds in shapes(item, f"{path}[*]").items():
                found[sub] |= kinds
    if path:
        found[path].add(_format(value))
    return found


def _format(value: Any) -> str:
    if isinstance(value, str):
        if re.match(r"https?://", value):
            return "URL string"
        if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)?", value):
            return "date-time string"
        if value == "":
            return "empty string"
    return kind(value)


def reality_notes(recorded: list[har.Exchange], settings: Settings) -> list[str]:
    """Fields and value formats of the recorded 2xx bodies that the mock's pages never have."""
    real: dict[str, set[str]] = defaultdict(set)
    handles: set[str] = set()
    for exchange in recorded:
        body, request = _body(exchange.response_body), _body(exchange.request_body)
        if (
            200 <= exchange.status < 300
            and isinstance(body, dict)
            and isinstance(request, dict)
            and request.get("trim") is not True
        ):
            for path, kinds in shapes(body).items():
                real[path] |= kinds
            if isinstance(request.get("handle"), str):
                handles.add(request["handle"].lstrip("@"))
    if not real:
        return []
    pages = Pages(settings)
    mock: dict[str, set[str]] = defaultdict(set)
    for handle in sorted(handles)[:5] or ["stoolpresidente"]:
        try:
            generated = orjson.loads(pages.get(handle, None, False))
        except Exception:  # a handle the mock cannot page (reserved, invalid): compare with another
            generated = orjson.loads(pages.get("stoolpresidente", None, False))
        for path, kinds in shapes(generated).items():
            mock[path] |= kinds
    notes = []
    for path in sorted(real):
        if path not in mock:
            notes.append(
                f"reality: `{path}` ({', '.join(sorted(real[path]))}) is in the recorded responses; the mock never generates it"
            )
        elif real[path] - mock[path]:
            notes.append(
                f"reality: `{path}` is {', '.join(sorted(real[path] - mock[path]))} in the recorded responses; the mock generates {', '.join(sorted(mock[path]))}"
            )
    if len(notes) > MAX_REALITY_NOTES:
        notes = notes[:MAX_REALITY_NOTES] + [f"reality: … and {len(notes) - MAX_REALITY_NOTES} more field(s)"]
    return notes


# --- the run --------------------------------------------------------------------------------
def run(path: Path, reports_dir: Path, fail_on: frozenset[str]) -> tuple[int, report.Summary]:
    """Check the recording at `path`; the exit code and the summary the reports were written from."""
    exchanges = har.read(path)
    secrets = [
        k
        for ex in exchanges
        for k in [bearer_key(ex.header("authorization", response=False))]
        if k and "REDACTED" not in k
    ]
    offline = setup(secrets)
    op_link = next(
        ((op, link) for op in offline.contract.operations for link in [page_link(op)] if link is not None), None
    )
    ours: list[tuple[Operation, har.Exchange]] = []
    for exchange in exchanges:
        operation_id = operation_of(offline.contract, exchange.method, exchange.url)
        if operation_id is not None:
            ours.append((offline.contract.by_id(operation_id), exchange))
    offline.notes.append(
        f"recording: {path.name}, {len(exchanges)} entries, {len(ours)} to operations of the contract; 0 requests sent"
    )
    check_responses(offline, ours)
    if op_link is not None:
        op, link = op_link
        check_walks(offline, op, link, [ex for o, ex in ours if o is op])
    offline.notes.append(
        "not checked offline (they need a new request): auth_enforced, ignored_auth, the join probe between pages, the search for a profile's end"
    )
    offline.notes += reality_notes([ex for _, ex in ours], Settings())
    findings = list(offline.recorder.findings.values())
    problem = "" if ours else "the recording holds no request to an operation of the contract"
    if any(f.kind in fail_on for f in findings):
        code = exit_codes.FINDINGS
    elif not ours:
        code = exit_codes.INCOMPLETE
    else:
        code = exit_codes.CONFORMANT
    successes = sum(1 for _, ex in ours if 200 <= ex.status < 300)
    summary = report.Summary(
        target=f"the recording {path} (offline)",
        exit_code=code,
        requests=0,
        successes=0,
        budget=0,
        credit_cost=ours[0][0].credit_cost if ours else 0,
        fail_on=fail_on,
        findings=findings,
        examined=dict(offline.recorder.examined),
        notes=[
            *offline.notes,
            f"{successes} recorded 2xx response(s) checked; the recording cost them, this run cost nothing",
        ],
        problem=problem,
        secrets=tuple(offline.recorder.secrets),
    )
    report.write(summary, reports_dir)
    write_junit(reports_dir / "junit.xml", findings, fail_on, dict(offline.recorder.examined))
    return code, summary


def write_junit(path: Path, findings: list[Finding], fail_on: frozenset[str], examined: dict[str, int]) -> None:
    """junit.xml of an offline run: one test case per check that examined a response."""
    suite = ET.Element("testsuite", name="dumpling-contract --har", tests=str(len(examined)))
    failures = 0
    for check in sorted(examined):
        case = ET.SubElement(suite, "testcase", classname="har", name=check)
        failing = [f for f in findings if f.check == check and f.kind in fail_on]
        if failing:
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{len(failing)} finding(s)")
            failure.text = "\n".join(f"{f.check} [{f.kind}]: {f.title}: {f.message}" for f in failing)
    suite.set("failures", str(failures))
    path.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def main(path: Path, reports_dir: Path, fail_on: frozenset[str]) -> int:
    try:
        code, summary = run(path, reports_dir, fail_on)
    except HarError as exc:
        print(f"dumpling-contract: error: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    for finding in sorted(summary.findings, key=lambda f: (f.kind, f.check)):
        fails = "" if finding.kind in fail_on else ", reported only"
        print(
            f"{finding.check} [{finding.kind}{fails}]: {finding.title}: {(finding.message.splitlines() or [''])[0][:160]}"
        )
    print(f"{report.verdict(summary)}; 0 requests sent (offline, {path.name})")
    for name in ("drift-report.md", "drift-report.html", "findings.json", "junit.xml"):
        print(f"report: {reports_dir / name}")
    return code
