"""What a client did wrong, read back from the request journal (verify-client, the proxy's journal).

Each finding belongs to a named rule (RULES) and is a *violation* (the contract forbids it) or a
*warning* (the documentation advises against it, or it wastes credits). Everything the rules need
is read from the effective contract through THE validator: the request media type, the schema of
each body field (enums, patterns, required fields), the known fields, and the pagination link
(`links.NextPage`: which request field names the profile and which one must carry which response
field). Only `has_more` is named here: the page documents it in prose alone.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from mock_server.contract.document import Contract, Operation
from mock_server.contract.links import page_link
from mock_server.contract.refs import resolve
from mock_server.contract.validator import ContractValidator, Violation
from mock_server.exceptions import BadJson
from mock_server.journal.entry import JOURNAL_BODY_BYTES
from mock_server.journal.summary import PAGE_ITEMS
from mock_server.pipeline.validate_request import load_json

VIOLATION = "violation"
WARNING = "warning"
MORE_FIELDS = ("has_more", "hasMore")  # the page's Notes: "has_more ... (1 = yes, 0 = no)"


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str
    what: str  # one line, for the README and the JSON report


RULES: tuple[Rule, ...] = (
    Rule("unknown-path", VIOLATION, "the method and path are not an operation of the contract"),
    Rule("auth", VIOLATION, "Authorization is missing, is not 'Bearer <key>', or the key was refused (401)"),
    Rule("content-type", VIOLATION, "Content-Type is missing or is not the contract's request media type"),
    Rule("body-not-json", VIOLATION, "the body is empty, not UTF-8, or not JSON"),
    Rule("handle", VIOLATION, "the profile field of the pagination link (handle) is missing, empty or not a string"),
    Rule("handle-at", WARNING, "the handle contains '@' (the page: 'Do not include the @ symbol')"),
    Rule("unknown-value", VIOLATION, "a field's value is not one of the contract's enum values (e.g. requestSource)"),
    Rule(
        "max-cursor", VIOLATION, "the cursor field (maxCursor) is not the string the last response for that handle gave"
    ),
    Rule("body-schema", VIOLATION, "any other departure of the body from the contract's request schema"),
    Rule("unknown-field", WARNING, "a body field the contract does not know (sent, but ignored)"),
    Rule("body-unchecked", WARNING, "the body is longer than the journal keeps; only the mock's own verdict applies"),
    Rule("max-cursor-unseen", WARNING, "a cursor that no response of this run gave (resumed from elsewhere?)"),
    Rule("page-refetch", WARNING, "re-requests a page it already fetched (every success costs credits)"),
    Rule("past-last-page", WARNING, "asks for the page after one whose has_more was 0"),
    Rule("stopped-early", WARNING, "stopped paginating a handle while has_more was 1"),
    # TikTok's pagination quirks (README "Data fidelity and TikTok's pagination quirks") name why:
    Rule(
        "stopped-at-empty-page",
        WARNING,
        "stopped at an empty page whose has_more was 1 (TikTok's empty-page quirk): the videos after it are lost",
    ),
    Rule(
        "page-size-assumed",
        WARNING,
        "stopped after a page shorter than an earlier one while has_more was 1: page sizes vary, only has_more ends a walk",
    ),
    Rule(
        "pinned-order",
        WARNING,
        "stopped after page one, which opens with pinned (is_top 1) older videos: a sync that stops at the first video older than its last run stops at a pinned one (a check: a careful sync that stops on page one gets it too)",
    ),
    Rule(
        "zero-cursor-followed",
        WARNING,
        'sent maxCursor "0" after the last page gave it (has_more 0): "0" is page one again',
    ),
    # Retry behaviour (retry_rules): a violation loses data while reporting success; a warning costs
    # time, rate limit or credits, and the client survives it.
    Rule(
        "gave-up-silently",
        VIOLATION,
        "exited 0 although a request got an injected, retryable failure (502, 503, a broken connection) and was never retried",
    ),
    Rule(
        "retried-client-error",
        WARNING,
        "sent the same request again after a 400/401/403/404, which the same request always gets",
    ),
    Rule(
        "no-backoff",
        WARNING,
        "retried a failed request 3 times within 1000 ms: no back-off (and no Retry-After honoured)",
    ),
    Rule(
        "retried-after-success",
        WARNING,
        "sent the same request again, with no other request between, after it had succeeded: the page is paid twice",
    ),
)
RULE = {rule.name: rule for rule in RULES}


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str

    @property
    def severity(self) -> str:
        return RULE[self.rule].severity

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message}


@dataclass
class RequestReport:
    """One request of the client, in the order the mock received them (number from 1)."""

    number: int
    method: str
    path: str
    status: int
    handle: str = ""
    forced: str | None = None  # how the response was forced (injected fault, Prefer, ...), if it was
    example: str | None = None  # the contract's named example the mock answered with, if any
    findings: list[Finding] = field(default_factory=list)
    fault: str | None = None  # the fault below HTTP that broke the connection, if one did

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "handle": self.handle,
            "forced": self.forced,
            "example": self.example,
            "fault": self.fault,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass
class Analysis:
    requests: list[RequestReport]
    unretried: list[int] = field(
        default_factory=list
    )  # requests whose injected, retryable failure was their last attempt

    def count(self, severity: str) -> int:
        return sum(1 for r in self.requests for f in r.findings if f.severity == severity)

    @property
    def violations(self) -> int:
        return self.count(VIOLATION)

    @property
    def warnings(self) -> int:
        return self.count(WARNING)

    def as_dict(self) -> dict[str, Any]:
        """The findings as JSON (`POST /__admin/requests/verify`): `ok` when no violation."""
        used = sorted({f.rule for r in self.requests for f in r.findings})
        return {
            "ok": self.violations == 0,
            "summary": {"requests": len(self.requests), "violations": self.violations, "warnings": self.warnings},
            "requests": [r.as_dict() for r in self.requests],
            "rules": {name: {"severity": RULE[name].severity, "what": RULE[name].what} for name in used},
        }


@dataclass(frozen=True)
class Pagination:
    """A self-link of an operation: the next request repeats `subject` and sets `cursor` to the
    response's `source` field (here: handle, maxCursor <- max_cursor)."""

    subject: str
    cursor: str
    source: str


# --- contract lookups ----------------------------------------------------------------------------
def pagination(op: Operation) -> Pagination | None:
    """The operation's link to itself from a success response (contract/links.py), when the next
    request carries a subject (the handle) from the previous one."""
    link = page_link(op)
    if link is None or not link.carried:
        return None
    return Pagination(link.carried[0], link.cursor_param, link.cursor_field)


def request_media_types(contract: Contract, op: Operation) -> list[str]:
    body = resolve(contract.document, op.raw.get("requestBody") or {})
    return [media.split(";")[0].strip().lower() for media in (body.get("content") or {})]


def _matches(op: Operation, method: str, path: str) -> bool:
    pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(op.path))
    return op.method == method.upper() and re.fullmatch(pattern, path) is not None


# --- per-request rules ---------------------------------------------------------------------------
def _auth(entry: Mapping[str, Any]) -> list[Finding]:
    recorded = [
        v
        for v in entry.get("violations") or []
        if v.get("where") == "request.headers" and v.get("pointer") == "/authorization"
    ]
    if recorded:
        return [Finding("auth", f"{recorded[0]['message']}; send 'Authorization: Bearer <key>'")]
    if entry.get("status") == 401 and not entry.get("forced"):
        why = entry.get("reason") or "the upstream answered 401"
        return [Finding("auth", f"the key was refused: {why}")]
    return []


def _content_type(entry: Mapping[str, Any], expected: list[str]) -> list[Finding]:
    sent = str(entry.get("content_type") or "")
    if not expected or sent.split(";")[0].strip().lower() in expected:
        return []
    wanted = " or ".join(expected)
    if not sent:
        return [Finding("content-type", f"no Content-Type header; the contract expects {wanted}")]
    return [Finding("content-type", f"Content-Type is {sent!r}; the contract expects {wanted}")]


def _parse_body(op: Operation, entry: Mapping[str, Any]) -> tuple[Any, list[Finding]]:
    """(parsed body or None, findings). Parsed with the mock's own JSON rules."""
    text = str(entry.get("body") or "")
    if len(text.encode("utf-8", "surrogatepass")) >= JOURNAL_BODY_BYTES:
        recorded = [v for v in entry.get("violations") or [] if str(v.get("where", "")).startswith("request.body")]
        findings = [
            Finding(
                "body-unchecked",
                f"the body is longer than the {JOURNAL_BODY_BYTES} bytes the journal keeps; the mock answered {entry.get('status')}",
            )
        ]
        findings += [
            Finding("body-schema", str(Violation(v["where"], v.get("pointer", ""), v["message"]))) for v in recorded
        ]
        return None, findings
    if not text:
        return None, [
            Finding("body-not-json", "the body is empty; the contract requires a JSON body")
        ] if op.request_required else []
    if "\ufffd" in text:
        return None, [Finding("body-not-json", "the body is not valid UTF-8 (JSON text is UTF-8)")]
    try:
        return load_json(text.encode("utf-8")), []
    except BadJson as exc:
        return None, [Finding("body-not-json", str(exc))]


def _body_rules(op: Operation, body: Any, validator: ContractValidator, paging: Pagination | None) -> list[Finding]:
    document = validator.contract.document
    schema = resolve(document, op.request_schema or {})
    whole = validator.request_body(op, body)
    if not isinstance(body, dict) or schema.get("type") != "object":
        return [Finding("body-schema", str(v)) for v in whole]
    subject = paging.subject if paging else None
    cursor = paging.cursor if paging else None
    findings: list[Finding] = []
    for name in schema.get("required") or []:
        if name not in body:
            findings.append(Finding("handle" if name == subject else "body-schema", f"{name} is required and missing"))
    properties: dict[str, Any] = schema.get("properties") or {}
    for name, prop in properties.items():
        if name not in body:
            continue
        value = body[name]
        problems = validator.schema_violations(prop, value, "request.body")
        if not problems:
            continue
        allowed = resolve(document, prop).get("enum")
        detail = "; ".join(v.message for v in problems)
        if name == subject:
            findings.append(Finding("handle", f"{name} {_show(value)}: {detail} (it must be a non-empty string)"))
        elif paging is not None and name == cursor:
            findings.append(
                Finding(
                    "max-cursor",
                    f"{name} {_show(value)}: {detail} (pass the {paging.source} string of the previous response)",
                )
            )
        elif allowed and value not in allowed:
            findings.append(
                Finding(
                    "unknown-value",
                    f"{name} {_show(value)} is not one of the contract's values: {', '.join(map(str, allowed))}",
                )
            )
        else:
            findings.append(Finding("body-schema", f"{name} {_show(value)}: {detail}"))
    if whole and not findings:
        findings += [Finding("body-schema", str(v)) for v in whole]
    value = body.get(subject) if subject else None
    if isinstance(value, str) and "@" in value:
        rest = " (nothing is left without it)" if not value.replace("@", "") else ""
        findings.append(
            Finding("handle-at", f"{subject} {value!r} contains '@'; the documentation says not to include it{rest}")
        )
    for name in validator.unknown_fields(op, body):
        close = difflib.get_close_matches(name, list(properties), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (it knows: {', '.join(properties)})"
        findings.append(Finding("unknown-field", f"field {name!r} is not in the contract and is ignored{hint}"))
    return findings


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- pagination rules (across requests) ----------------------------------------------------------
@dataclass
class _Trail:
    """What the client has seen of one profile so far."""

    fetched: dict[str | None, int] = field(default_factory=dict)  # cursor sent -> request number
    last: dict[str, Any] | None = None  # summary of the last success
    last_number: int = 0


def _has_more(summary: Mapping[str, Any]) -> bool:
    return any(
        summary.get(name) is True or (type(summary.get(name)) is int and summary.get(name) == 1) for name in MORE_FIELDS
    )


def _page_rules(
    report: RequestReport, body: dict[str, Any], entry: Mapping[str, Any], paging: Pagination, trails: dict[str, _Trail]
) -> None:
    subject = body.get(paging.subject)
    sent = body.get(paging.cursor)
    if not isinstance(subject, str) or not (sent is None or isinstance(sent, str)):
        return
    cursor = sent or None
    trail = trails.setdefault(subject, _Trail())
    given = trail.last.get(paging.source) if trail.last else None
    if cursor in trail.fetched:
        page = f"{paging.cursor} {cursor!r}" if cursor else f"no {paging.cursor}: the first page"
        report.findings.append(
            Finding(
                "page-refetch",
                f"{paging.subject} {subject!r}, {page}, was already fetched by request #{trail.fetched[cursor]}",
            )
        )
    elif cursor is not None and trail.last is None:
        report.findings.append(
            Finding(
                "max-cursor-unseen",
                f"{paging.cursor} {cursor!r} for {paging.subject} {subject!r} was not given by any response of this run",
            )
        )
    elif cursor is not None and cursor != given:
        report.findings.append(
            Finding(
                "max-cursor",
                f"{paging.cursor} {cursor!r} is not {given!r}, the {paging.source} of the last response for {paging.subject} {subject!r} (request #{trail.last_number})",
            )
        )
    elif cursor is not None and trail.last is not None and not _has_more(trail.last):
        report.findings.append(
            Finding(
                "past-last-page",
                f"request #{trail.last_number} for {paging.subject} {subject!r} said there were no more pages",
            )
        )
    summary = entry.get("response")
    if 200 <= report.status < 300 and isinstance(summary, dict):
        trail.fetched.setdefault(cursor, report.number)
        trail.last = summary
        trail.last_number = report.number


def _stopped_early(reports: list[RequestReport], paging: Pagination, trails: dict[str, _Trail]) -> None:
    for subject, trail in trails.items():
        if trail.last is not None and _has_more(trail.last):
            report = reports[trail.last_number - 1]
            report.findings.append(
                Finding(
                    "stopped-early",
                    f"stopped paginating {paging.subject} {subject!r} while has_more was 1 (next: {paging.cursor} {trail.last.get(paging.source)!r})",
                )
            )


# --- the whole run --------------------------------------------------------------------------------
def analyse(entries: Iterable[Mapping[str, Any]], validator: ContractValidator) -> Analysis:
    """Findings for a run's requests. `entries` are journal entries (plus, from verify-client,
    entries without `operation` for requests that matched no route), in the order received."""
    contract = validator.contract
    reports: list[RequestReport] = []
    trails: dict[tuple[str, str], dict[str, _Trail]] = {}
    entries = list(entries)
    for number, entry in enumerate(entries, start=1):
        method, path = str(entry.get("method", "")), str(entry.get("path", ""))
        report = RequestReport(
            number,
            method,
            path,
            int(entry.get("status") or 0),
            str(entry.get("handle") or ""),
            entry.get("forced"),
            entry.get("example"),
            fault=entry.get("fault"),
        )
        reports.append(report)
        op = next((o for o in contract.operations if o.operation_id == entry.get("operation")), None)
        op = op or next((o for o in contract.operations if _matches(o, method, path)), None)
        if op is None:
            known = ", ".join(f"{o.method} {o.path}" for o in contract.operations)
            report.findings.append(
                Finding(
                    "unknown-path",
                    f"{method} {path} is not an operation of the contract (it has: {known}); the mock answered {report.status}",
                )
            )
            continue
        if op.secured:
            report.findings += _auth(entry)
        if op.request_schema is None:
            continue
        report.findings += _content_type(entry, request_media_types(contract, op))
        if not entry.get("body") and any(f.rule == "auth" for f in report.findings):
            continue  # the mock answered the 401 before reading the body
        body, found = _parse_body(op, entry)
        report.findings += found
        if body is None:
            continue
        paging = pagination(op)
        report.findings += _body_rules(op, body, validator, paging)
        if paging and not report.handle and isinstance(body, dict) and isinstance(body.get(paging.subject), str):
            report.handle = body[paging.subject]  # the mock rejected it before reading the handle
        if paging and isinstance(body, dict) and not any(RULE[f.rule].severity == VIOLATION for f in report.findings):
            _page_rules(report, body, entry, paging, trails.setdefault((op.method, op.path), {}))
    for (method, path), by_subject in trails.items():
        op = next(o for o in contract.operations if o.method == method and o.path == path)
        paging = pagination(op)
        if paging:
            _stopped_early(reports, paging, by_subject)
            _quirk_rules(entries, reports, paging, by_subject)
    return Analysis(reports, retry_rules(reports, entries))


def _quirk_rules(
    entries: list[Mapping[str, Any]], reports: list[RequestReport], paging: Pagination, trails: dict[str, _Trail]
) -> None:
    """Why a client lost videos to one of TikTok's quirks, read from what it asked and was given."""
    pages: dict[str, list[tuple[str | None, dict[str, Any]]]] = {}  # handle -> (cursor sent, response summary)
    for number, entry in enumerate(entries, start=1):
        summary = entry.get("response")
        report = reports[number - 1]
        try:
            body = orjson.loads(str(entry.get("body") or ""))
        except orjson.JSONDecodeError:
            continue
        if not isinstance(body, dict) or not isinstance(body.get(paging.subject), str):
            continue
        sent = body.get(paging.cursor)
        history = pages.setdefault(body[paging.subject], [])
        if (
            isinstance(sent, str)
            and sent
            and set(sent) == {"0"}
            and history
            and history[-1][1].get(paging.source) == "0"
            and not _has_more(history[-1][1])
        ):
            report.findings.append(
                Finding(
                    "zero-cursor-followed",
                    f'{paging.cursor} {sent!r} repeats the {paging.source} "0" of the last page (has_more 0): that is page one again, so a client that follows it re-reads the profile and never ends',
                )
            )
        if 200 <= report.status < 300 and isinstance(summary, dict):
            history.append((sent if isinstance(sent, str) and sent else None, summary))
    count = f"{PAGE_ITEMS}#count"
    for subject, trail in trails.items():
        history = pages.get(subject) or []
        if trail.last is None or not _has_more(trail.last) or not history:
            continue
        report = reports[trail.last_number - 1]
        last = history[-1][1]
        sizes = [n for _, s in history[:-1] if isinstance(n := s.get(count), int) and n]
        if last.get(count) == 0:
            report.findings.append(
                Finding(
                    "stopped-at-empty-page",
                    f"{paging.subject} {subject!r}: the last page read was empty with has_more 1; asking with its {paging.source} {last.get(paging.source)!r} goes on, so the videos after it were lost",
                )
            )
        elif isinstance(last.get(count), int) and sizes and last[count] < max(sizes):
            report.findings.append(
                Finding(
                    "page-size-assumed",
                    f"{paging.subject} {subject!r}: stopped after a page of {last[count]} video(s), fewer than the {max(sizes)} of an earlier page, while has_more was 1; page sizes vary, only has_more 0 ends a walk",
                )
            )
        elif len(history) == 1 and history[0][0] is None and last.get(f"{PAGE_ITEMS}#pinned"):
            report.findings.append(
                Finding(
                    "pinned-order",
                    f"{paging.subject} {subject!r}: stopped after page one, whose first {last[f'{PAGE_ITEMS}#pinned']} video(s) are pinned (is_top 1) and older than the rest; a client that stops at the first video older than its last sync stops there and misses newer videos",
                )
            )


# --- retry behaviour (across requests) -----------------------------------------------------------
RETRYABLE = frozenset({502, 503})  # the page: upstream trouble and "Please try again later"
CLIENT_ERRORS = frozenset({400, 401, 403, 404})  # about the request itself: the same request, the same answer
NO_BACKOFF_RETRIES = 3
NO_BACKOFF_MS = 1000


def _failed(entry: Mapping[str, Any]) -> bool:
    return bool(entry.get("fault")) or not 200 <= int(entry.get("status") or 0) < 300


def _retryable(entry: Mapping[str, Any]) -> bool:
    """A failure worth retrying: a 502/503 (the 500s the page documents are configuration errors
    that a retry does not fix), or a connection a fault broke."""
    return bool(entry.get("fault")) or int(entry.get("status") or 0) in RETRYABLE


def _what(report: RequestReport) -> str:
    if report.fault:
        return report.fault
    return f"{report.status} {report.example}" if report.example else str(report.status)


def retry_rules(reports: list[RequestReport], entries: list[Mapping[str, Any]]) -> list[int]:
    """Add the retry findings; return the numbers of requests whose last attempt got an injected,
    retryable failure (for gave_up_silently, which also needs the exit status). A retry is the
    same request (operation, key, body) sent again."""
    last: dict[tuple[Any, ...], int] = {}  # attempt -> index of its latest report
    run: dict[
        tuple[Any, ...], tuple[tuple[Any, ...], int | None]
    ] = {}  # (operation, key) -> (attempt repeated, its first success)
    burst: dict[
        tuple[Any, ...], tuple[float, int, int]
    ] = {}  # attempt -> (first failure's time, its number, retries since)
    for index, (report, entry) in enumerate(zip(reports, entries, strict=False)):
        if not entry.get("operation"):
            continue
        attempt = (entry.get("operation"), entry.get("key"), entry.get("body"))
        previous = last.get(attempt)
        repeated, paid = run.get(attempt[:2], (None, None))
        if repeated != attempt:
            paid = None
        if previous is not None:
            before, first = reports[previous], entries[previous]
            if before.status in CLIENT_ERRORS and not before.fault and before.forced != "Prefer header":
                report.findings.append(
                    Finding(
                        "retried-client-error",
                        f"repeats request #{before.number}, which got {_what(before)}: the same request gets the same answer; fix the request instead",
                    )
                )
            elif _retryable(first):
                started, origin, retries = burst.get(attempt, (float(first.get("at") or 0), before.number, 0))
                retries += 1
                burst[attempt] = (started, origin, retries)
                elapsed = (float(entry.get("at") or 0) - started) * 1000
                if retries == NO_BACKOFF_RETRIES and elapsed < NO_BACKOFF_MS:
                    report.findings.append(
                        Finding(
                            "no-backoff",
                            f"{retries} retries of request #{origin} within {elapsed:.0f} ms; wait longer after each failure (exponential back-off, or Retry-After when sent)",
                        )
                    )
        if paid is not None:  # a re-request of a page just paid for: named below when it is paid again
            report.findings = [f for f in report.findings if f.rule != "page-refetch"]
        if paid is not None and not _failed(entry):
            report.findings.append(
                Finding(
                    "retried-after-success",
                    f"the same request as #{paid}, which had already succeeded: the page was paid twice (a retry of an answer the client did not wait for?)",
                )
            )
        if not _retryable(entry):
            burst.pop(attempt, None)
        last[attempt] = index
        run[attempt[:2]] = (attempt, paid if paid is not None else (None if _failed(entry) else report.number))
    return [
        reports[index].number
        for index in last.values()
        if _retryable(entries[index]) and str(entries[index].get("forced") or "").startswith("fault")
    ]


def gave_up_silently(analysis: Analysis, exit_code: int | None) -> None:
    """A client that exits 0 after an injected, retryable failure it never retried has lost data
    and said nothing: the one retry finding that is a violation."""
    if exit_code != 0:
        return
    for number in analysis.unretried:
        report = analysis.requests[number - 1]
        report.findings.append(
            Finding(
                "gave-up-silently",
                f"got {_what(report)} (injected), was never retried, and the command still exited 0: its data is missing and nothing said so",
            )
        )
