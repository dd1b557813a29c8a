"""Documented error bodies, taken from the contract's named examples (never written in code)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from mock_server.contract.document import Operation
from mock_server.exceptions import UnknownExample


@dataclass(frozen=True)
class Problem:
    """A decision to answer with a documented error instead of data."""

    status: int
    example: str | None = None  # a named example of that status; None = the first one
    reason: str = ""  # why, for the X-Mock-Reason header and the journal (never in the body)


def example_names(op: Operation, status: int) -> list[str]:
    return list(op.examples(status))


def error_body(op: Operation, problem: Problem, handle: str = "") -> tuple[str | None, Any]:
    """(example name, JSON body) for a problem; placeholders like [handle] are filled in."""
    examples = op.examples(problem.status)
    if not examples:
        return None, {"error": _phrase(problem.status)}
    name = problem.example or next(iter(examples))
    if name not in examples:
        raise UnknownExample(f"{problem.status} has no example {name!r}; it has: {', '.join(examples)}")
    values = {**op.placeholders(problem.status, name), "handle": handle}
    return name, fill(examples[name], values, default=problem.reason or "simulated by the mock")


PLACEHOLDER = re.compile(r"\[([^\[\]]{1,64})\]")


def fill(value: Any, values: dict[str, str], default: str) -> Any:
    """Fill the page's placeholders: `[handle]`, and `[specific error message]` with what the
    example's `x-placeholders` says (the contract's words); any other `[..]` with `default`."""
    if isinstance(value, dict):
        return {k: fill(v, values, default) for k, v in value.items()}
    if isinstance(value, str) and "[" in value:
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), default), value)
    return value


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
