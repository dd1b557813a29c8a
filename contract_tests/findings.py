"""Findings: what a check found, classified, with the request (key masked) and the response.

Classification rule (issue 3): a finding is a **contract violation** when the vendor's own YAML,
without the prose overlay, also flags the exchange; otherwise it is **documentation drift** (only
the overlay's prose facts flag it: 401 body, 503, X-RateLimit-* headers, error messages, the
example's field types, pagination semantics).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import urlsplit

import orjson
from schemathesis.core.transport import Response

from mock_server.contract import Contract
from mock_server.secrets import mask_excerpt, mask_text
from mock_server.validator import ContractValidator

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
        }


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
        self.findings: dict[tuple[str, str, int, str], Finding] = {}
        self.examined: Counter[str] = Counter()
        self.current_test = ""

    def on_results(self, response: Response, results: Iterable[Any]) -> None:
        """schemathesis' `after_validate` hook: one result per check that ran on `response`."""
        for result in results:
            self.examined[result.name] += 1
            if result.failure is not None:
                title = self.titles.get(result.name, result.failure.title)
                self.add(result.name, response, title, result.failure.message)

    def passed(self, check: str) -> None:
        self.examined[check] += 1

    def add(self, check: str, response: Response | None, title: str, message: str) -> Finding:
        # One finding per check, title, status and message shape: the same problem on another
        # status may belong to the other class (a plain-text 400 breaks the YAML, a plain-text 401 not).
        first_line = (message.strip().splitlines() or [""])[0]
        status = response.status_code if response is not None else 0
        key = (check, title, status, re.sub(r"\d+", "N", first_line)[:160])
        finding = self.findings.get(key)
        if finding is None:
            finding = Finding(
                check=check,
                kind=self.classifier.classify(check, response),
                title=title,
                message=self.mask(message.strip()),
                request=self.mask(request_excerpt(response, self.secrets)) if response is not None else "",
                response=self.mask(response_excerpt(response, self.secrets)) if response is not None else "",
            )
            self.findings[key] = finding
        else:
            finding.count += 1
        if self.current_test and self.current_test not in finding.tests:
            finding.tests.append(self.current_test)
        return finding

    def for_test(self, test: str) -> list[Finding]:
        return [f for f in self.findings.values() if test in f.tests]

    def mask(self, text: str) -> str:
        return mask_text(text, self.secrets, fragments=True)  # schemathesis may have cut a key already


def flat_headers(response: Response) -> dict[str, str]:
    return {name: ", ".join(values) for name, values in response.headers.items()}


def request_excerpt(response: Response, secrets: Iterable[str] = ()) -> str:
    request = response.request
    lines = [f"{request.method} {request.url}"]
    for name in ("Authorization", "Content-Type", "Prefer"):
        if name in request.headers:
            lines.append(f"{name}: {request.headers[name]}")
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
    return "\n".join(lines)


def _cut(text: str, secrets: Iterable[str]) -> str:
    """Masked BEFORE the cut: a key cut in two would otherwise leave all but its tail."""
    return mask_text(text, secrets) if len(text) <= EXCERPT else mask_excerpt(text, secrets, EXCERPT) + f"… ({len(text)} characters)"


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
