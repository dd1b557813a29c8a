"""Domain checks schemathesis cannot know, run on every response as schemathesis custom checks
(`(ctx, response, case)`, raising AssertionError). Each reads the effective contract, never a copy:

* `error_body_documented`: an error body is `{"error": <string>}` and, where the contract
  documents messages for the status, one of them (placeholders such as `[handle]` allowed);
* `rate_limit_headers`: the X-RateLimit-* headers the contract declares are present when required,
  integers, `Remaining <= Limit`, and `Remaining` never rises within a window;
* `example_field_types`: a success body has the fields of the documented example with the same
  types: integers stay integers, numeric strings stay numeric strings, a Unix time keeps the unit
  (seconds or milliseconds) the example uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from schemathesis import Case, CheckContext, CheckFunction
from schemathesis.core.transport import Response

from contract_tests.budget import Budget
from contract_tests.findings import flat_headers
from contract_tests.wording import body_words
from mock_server.contract.document import Contract, Operation
from mock_server.contract.refs import resolve
from mock_server.contract.validator import ContractValidator

TITLES = {  # finding titles (schemathesis would say "Custom check failed")
    "error_body_documented": "Error body is not the documented one",
    "rate_limit_headers": "Rate-limit headers break the documentation",
    "example_field_types": "Body differs from the documented example",
}
UNIX_TIME_DIGITS = {10: "seconds", 13: "milliseconds"}  # how many digits a 2001-2286 Unix time has


class DomainChecks:
    def __init__(self, contract: Contract, validator: ContractValidator, budget: Budget) -> None:
        self.contract = contract
        self.validator = validator
        self.budget = budget
        self._last_remaining: tuple[int, int] | None = None  # (value, budget.used when seen)

    def all(self) -> list[CheckFunction]:
        return [self.error_body_documented, self.rate_limit_headers, self.example_field_types]

    def operation(self, case: Case[Any]) -> Operation | None:
        return self.contract.operation(case.method, case.operation.path)

    # --- error bodies -------------------------------------------------------------------------
    def error_body_documented(self, ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        op = self.operation(case)
        if op is None or response.status_code < 400:
            return
        problems = error_body_problems(self.validator, op, response)
        if problems:
            raise AssertionError("\n".join(problems))

    # --- rate-limit headers -------------------------------------------------------------------
    def rate_limit_headers(self, ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        op = self.operation(case)
        if op is None:
            return
        declared = (op.responses.get(str(response.status_code)) or {}).get("headers") or {}
        names = [name for name in declared if "ratelimit" in name.lower().replace("-", "")]
        if not names:
            return
        headers = flat_headers(response)
        problems: list[str] = []
        values: dict[str, int] = {}
        for name in names:
            raw = headers.get(name.lower())
            if raw is None:
                if declared[name].get("required"):
                    problems.append(f"{name} is missing (the contract requires it on {response.status_code})")
            elif not re.fullmatch(r"\d{1,18}", raw.strip()):
                problems.append(f"{name} is {raw!r}, not a non-negative integer")
            else:
                values[name.lower()] = int(raw)
        limit = next((v for k, v in values.items() if k.endswith("-limit")), None)
        remaining = next((v for k, v in values.items() if k.endswith("-remaining")), None)
        if limit is not None and remaining is not None:
            if remaining > limit:
                problems.append(f"X-RateLimit-Remaining {remaining} is more than X-RateLimit-Limit {limit}")
            problems += self._window_problems(remaining, limit)
        if problems:
            raise AssertionError("\n".join(problems))

    def _window_problems(self, remaining: int, limit: int) -> list[str]:
        """Remaining may only rise when a new window may have started: then it is back near Limit,
        within the number of requests sent since the previous observation."""
        last, self._last_remaining = self._last_remaining, (remaining, self.budget.used)
        if last is None or remaining <= last[0]:
            return []
        since = self.budget.used - last[1]
        if remaining >= limit - since:
            return []
        return [
            f"X-RateLimit-Remaining rose from {last[0]} to {remaining} within a window ({since} request(s) later, limit {limit})"
        ]

    # --- the documented example's field types --------------------------------------------------
    def example_field_types(self, ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        op = self.operation(case)
        if op is None or not 200 <= response.status_code < 300:
            return
        example = next(iter(op.examples(response.status_code).values()), None)
        if example is None:
            return
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return  # content_type_conformance / response_schema_conformance report a body that is not JSON
        request = case.body if isinstance(case.body, dict) else {}
        schema = op.response_schema(response.status_code) or {}
        problems = field_problems(
            example,
            body,
            path="",
            presence=request.get("trim") is not True,  # a trimmed response may leave fields out
            echoes=_echoes(request),
            nullable=lambda path: _nullable(self.contract.document, schema, path),
        )
        if problems:
            raise AssertionError("\n".join(summarize(problems)))


def _echoes(request: dict[str, Any]) -> set[str]:
    """Request strings a response may echo: as sent and, for digits, as the number ("00641" -> "641")."""
    sent = {v for v in request.values() if isinstance(v, str)}
    return sent | {str(int(v)) for v in sent if v.isascii() and v.isdigit() and len(v) <= 19}


def error_body_problems(validator: ContractValidator, op: Operation, response: Response) -> list[str]:
    headers = flat_headers(response)
    content_type = headers.get("content-type", "")
    status = response.status_code
    problems = []
    if content_type.split(";")[0].strip().lower() != "application/json":
        problems.append(
            f"received {status} with Content-Type {content_type or '(none)'}; the contract expects application/json on a {status} error"
        )
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return [
            *problems,
            f'received {status} with {body_words(response)}; the contract expects the JSON body {{"error": <string>}}',
        ]
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return [*problems, f'received {status} with {body_words(response)}; the contract expects {{"error": <string>}}']
    if validator.error_message(op, status, body):
        documented = [
            v.get("error")
            for v in op.examples(status).values()
            if isinstance(v, dict) and isinstance(v.get("error"), str)
        ]
        quoted = ", ".join(orjson.dumps(d).decode() for d in documented)
        problems.append(
            f"received {status} with the error message {orjson.dumps(body['error']).decode()}; the contract documents for {status}: {quoted}"
        )
    return problems


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "numeric string" if value.isascii() and value.isdigit() else "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


COMPATIBLE = {("number", "integer"), ("string", "numeric string")}  # (documented, received) that are fine


Problem = tuple[str, str, str]  # (where, what is wrong, the value received: "" when none)


def field_problems(
    example: Any, actual: Any, path: str, presence: bool, echoes: set[str], nullable: Callable[[str], bool]
) -> list[Problem]:
    """Differences between a body and the documented example, field by field."""
    where = path or "body"
    if actual is None and example is not None:
        return [] if nullable(path) else [(where, f"the documented example gives {kind(example)}, got null", "")]
    documented, received = kind(example), kind(actual)
    if documented != received and (documented, received) not in COMPATIBLE:
        return [(where, f"the documented example gives {documented}, got {received}", _short(actual))]
    if isinstance(example, dict):
        problems = []
        for key, value in example.items():
            sub = f"{path}.{key}" if path else key
            if key in actual:
                problems += field_problems(value, actual[key], sub, presence, echoes, nullable)
            elif presence:
                problems.append((sub, "missing (the documented example has it)", ""))
        return problems
    if isinstance(example, list):
        if not example:
            return []
        return [
            p
            for i, item in enumerate(actual)
            for p in field_problems(example[0], item, f"{path}[{i}]", presence, echoes, nullable)
        ]
    return _unit_problems(example, actual, where, echoes)


def _unit_problems(example: Any, actual: Any, where: str, echoes: set[str]) -> list[Problem]:
    """A Unix time must keep the example's unit: 10 digits are seconds, 13 milliseconds."""
    if kind(example) not in ("integer", "numeric string") or kind(actual) != kind(example):
        return []
    unit = UNIX_TIME_DIGITS.get(len(str(example)))
    if unit is None or int(actual) == 0 or str(actual) in echoes:
        return []  # not a time; 0 is the documented start; a cursor may echo the request's
    digits = len(str(int(actual)))
    if digits == len(str(example)):
        return []
    seen = UNIX_TIME_DIGITS.get(digits, f"{digits} digits")
    return [(where, f"a Unix time in {seen}, the documented example uses {unit} ({example})", str(actual))]


def summarize(problems: list[Problem]) -> list[str]:
    """One line per field and problem: the items of a list count together (`aweme_list[*]`)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for where, what, value in problems:
        grouped.setdefault((re.sub(r"\[\d+\]", "[*]", where), what), []).append(value)
    lines = []
    for (where, what), values in grouped.items():
        shown = f"; received {values[0]}" if values[0] else ""
        times = f" ({len(values)} items)" if len(values) > 1 else ""
        lines.append(f"{where}: {what}{shown}{times}")
    return lines


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _nullable(document: dict[str, Any], schema: dict[str, Any], path: str) -> bool:
    """Whether the response schema marks the field at `path` (e.g. `aweme_list[3].desc`) nullable."""
    node: Any = resolve(document, schema)
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if not isinstance(node, dict):
            return False
        node = (
            resolve(document, node.get("items", {}))
            if part.startswith("[")
            else resolve(document, (node.get("properties") or {}).get(part, {}))
        )
    return isinstance(node, dict) and node.get("nullable") is True
