"""Findings: what a check found, classified, with the request (key masked) and the response.

Classification rule (issue 3): a finding is a **contract violation** when the vendor's own YAML,
without the prose overlay, also flags the exchange; otherwise it is **documentation drift** (only
the overlay's prose facts flag it: 401 body, 503, X-RateLimit-* headers, error messages, the
example's field types, pagination semantics).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from schemathesis.core.transport import Response

from contract_tests.wording import normalize, reword
from mock_server.contract.document import Contract
from mock_server.contract.validator import ContractValidator
from mock_server.server.secrets import mask_excerpt, mask_text

CONTRACT = "contract"
DOCUMENTATION = "documentation"
# Checks about behaviour the vendor's YAML already demands (a secured operation, its methods, no 5xx).
BEHAVIOUR_CHECKS = frozenset(
    {
        "not_a_server_error",
        "positive_data_acceptance",
        "missing_required_header",
        "unsupported_method",
        "allow_header_conformance",
        "ignored_auth",
        "auth_enforced",
        "use_after_free",
        "ensure_resource_availability",
        "object_level_authorization",
        "response_too_large",  # kit.py: a body over the cap is cut, so it is not validated either
    }
)
EXCERPT = 400  # characters of a body shown in a report


@dataclass
class Finding:
    check: str
    kind: str  # CONTRACT or DOCUMENTATION
    title: str
    message: str
    request: str
    response: str
    tests: list[str] = field(default_factory=list)
    count: int = 1
    cause: str = ""  # the message without its status and values: what groups findings
    statuses: dict[int, str] = field(default_factory=dict)  # status -> class of the exchange on that status
    messages: dict[int, str] = field(default_factory=dict)  # status -> the first message seen on it

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "class": self.kind,
            "title": self.title,
            "message": self.message,
            "request": self.request,
            "response": self.response,
            "tests": self.tests,
            "count": self.count,
            "cause": self.cause,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "messages": {str(k): v for k, v in sorted(self.messages.items())},
            "classification": self.classification(),
        }

    def classification(self) -> str:
        """Why one cause is a contract violation on some statuses and documentation drift on others."""
        contract = [str(s) for s, kind in sorted(self.statuses.items()) if kind == CONTRACT]
        documentation = [str(s) for s, kind in sorted(self.statuses.items()) if kind == DOCUMENTATION]
        if not contract or not documentation:
            return ""
        return (
            f"a contract violation on {', '.join(contract)} (the vendor's YAML alone flags those responses) and documentation "
            f"drift on {', '.join(documentation)} (only the prose overlay documents that part); counted once, as a contract violation"
        )


class Classifier:
    """Decides the class of a finding by asking the vendor-only contract about the same exchange."""

    def __init__(self, vendor: Contract) -> None:
        self.vendor = vendor
        self.validator = ContractValidator(vendor)

    def classify(self, check: str, response: Response | None) -> str:
        if check in BEHAVIOUR_CHECKS or response is None:
            return CONTRACT
        request = response.request
        op = self.vendor.operation(str(request.method), _path(self.vendor, str(request.url)))
        if op is None:
            return CONTRACT
        if check == "negative_data_rejection":
            body = _json(request.body)
            rejected = body is _NOT_JSON or bool(self.validator.request_body(op, body))
            return CONTRACT if rejected else DOCUMENTATION
        violations = self.validator.response(op, response.status_code, flat_headers(response), response.content)
        return CONTRACT if any(v.kind == CONTRACT for v in violations) else DOCUMENTATION


class Recorder:
    """Collects findings (deduplicated) and how many responses each check examined."""

    def __init__(self, classifier: Classifier, secrets: Iterable[str], titles: dict[str, str]) -> None:
        self.classifier = classifier
        self.titles = titles  # custom checks' finding titles, by check
        self.secrets = [s for s in secrets if s]
        self.findings: dict[tuple[str, str], Finding] = {}
        self.examined: Counter[str] = Counter()
        self.current_test = ""

    def on_results(self, response: Response, results: Iterable[Any]) -> None:
        """schemathesis' `after_validate` hook: one result per check that ran on `response`."""
        for result in results:
            self.examined[result.name] += 1
            if result.failure is None:
                continue
            if result.name in self.titles:  # the kit's own checks word their messages themselves
                self.add(result.name, response, self.titles[result.name], result.failure.message)
            else:
                self.add(result.name, response, *reword(result.name, result.failure, response))

    def passed(self, check: str) -> None:
        self.examined[check] += 1

    def add(self, check: str, response: Response | None, title: str, message: str, cause: str = "") -> Finding:
        """One finding per check and cause, whatever the status: the same drift on 400 and 404 is one
        finding that lists both statuses (and, when they differ, the class of each: see classification)."""
        status = response.status_code if response is not None else 0
        cause = self.mask(cause) if cause else cause_of(self.mask(message), status)  # a cause is written too
        key = (check, cause)
        kind = self.classifier.classify(check, response)
        finding = self.findings.get(key)
        if finding is None:
            finding = Finding(
                check=check,
                kind=kind,
                title=title,
                message=self.mask(message.strip()),
                request=self.mask(request_excerpt(response, self.secrets)) if response is not None else "",
                response=self.mask(response_excerpt(response, self.secrets)) if response is not None else "",
                cause=cause,
            )
            self.findings[key] = finding
        else:
            finding.count += 1
            if kind == CONTRACT and finding.kind != CONTRACT:
                finding.kind = CONTRACT  # the graver class wins; classification() says why
        if status and status not in finding.statuses:
            finding.statuses[status] = kind
            finding.messages[status] = self.mask(message.strip())
        elif status and kind == CONTRACT:
            finding.statuses[status] = CONTRACT
        if self.current_test and self.current_test not in finding.tests:
            finding.tests.append(self.current_test)
        return finding

    def for_test(self, test: str) -> list[Finding]:
        return [f for f in self.findings.values() if test in f.tests]

    def mask(self, text: str) -> str:
        return mask_text(text, self.secrets, fragments=True)  # schemathesis may have cut a key already


def cause_of(message: str, status: int) -> str:
    """The first line of a message without the status and the values received in it."""
    first = (message.strip().splitlines() or [""])[0]
    first = re.sub(rf"\b{status}\b", "<status>", first) if status else first
    first = re.sub(r"received .*?(;|$)", r"received …\1", first)
    return normalize(first)


def flat_headers(response: Response) -> dict[str, str]:
    return {name: ", ".join(values) for name, values in response.headers.items()}


def request_excerpt(response: Response, secrets: Iterable[str] = ()) -> str:
    request = response.request
    lines = [f"{request.method} {request.url}"]
    for name in ("Authorization", "Content-Type", "Prefer"):
        if name in request.headers:
            lines.append(f"{name}: {request.headers[name]!s}")  # requests types a value str | bytes
    body = request.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        lines.append(_cut(text, secrets))
    return "\n".join(lines)


def response_excerpt(response: Response, secrets: Iterable[str] = ()) -> str:
    headers = flat_headers(response)
    lines = [f"{response.status_code} {response.message}".rstrip()]
    for name in ("content-type", "x-ratelimit-limit", "x-ratelimit-remaining"):
        if name in headers:
            lines.append(f"{name}: {headers[name]}")
    if response.content:
        lines.append(_cut(response.content.decode("utf-8", "replace"), secrets))
    else:
        lines.append("(empty body)")
    return "\n".join(lines)


def _cut(text: str, secrets: Iterable[str]) -> str:
    """Masked BEFORE the cut: a key cut in two would otherwise leave all but its tail."""
    return (
        mask_text(text, secrets)
        if len(text) <= EXCERPT
        else mask_excerpt(text, secrets, EXCERPT) + f"… ({len(text)} characters)"
    )


_NOT_JSON = object()


def _json(body: Any) -> Any:
    if body is None:
        return None
    try:
        return orjson.loads(body)
    except (orjson.JSONDecodeError, TypeError):
        return _NOT_JSON


def _path(contract: Contract, url: str) -> str:
    """The contract path an absolute request URL was sent to (a base URL may carry a prefix)."""
    path = urlsplit(url).path
    for op in contract.operations:
        if path.endswith(op.path):
            return op.path
    return path
