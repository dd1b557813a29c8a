"""Documented error bodies, taken from the contract's named examples (never written in code)."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from mock_server.contract import Operation


@dataclass(frozen=True)
class Problem:
    """A decision to answer with a documented error instead of data."""

    status: int
    example: str | None = None  # a named example of that status; None = the first one
    reason: str = ""  # why, for the X-Mock-Reason header and the journal (never in the body)


class UnknownExample(LookupError):
    """`Prefer` or a reserved handle asked for an example the contract does not have."""


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
    return name, fill(examples[name], handle=handle, reason=problem.reason or "simulated by the mock")


def fill(value: Any, handle: str, reason: str) -> Any:
    """Fill the page's placeholders: `[handle]` and `[specific error message]` (any other [..])."""
    if isinstance(value, dict):
        return {k: fill(v, handle, reason) for k, v in value.items()}
    if isinstance(value, str) and "[" in value:
        value = value.replace("[handle]", handle)
        start = value.find("[")
        end = value.find("]", start)
        if start != -1 and end != -1:
            value = value[:start] + reason + value[end + 1 :]
    return value


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
