"""Stage 4, respond (mock): turn a checked request into an `Outcome`, the response the mock
would like to send. The ledger (settle.py) may still turn it into a 503 or a 403.

A documented error, a forced example (Prefer / fault / reserved handle), TikTok data from the
rich provider, or schema-valid data for any other operation of the contract.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from mock_server.data import from_schema, tiktok
from mock_server.data.tiktok import TIKTOK_OPERATION
from mock_server.exceptions import UnknownExample
from mock_server.pipeline.context import Context
from mock_server.pipeline.negotiate import Override
from mock_server.pipeline.problems import Problem, error_body
from mock_server.pipeline.validate_request import Checked

JSON = "application/json"


@dataclass
class Outcome:
    status: int
    body: bytes
    media_type: str = JSON
    example: str | None = None  # the contract example the body came from, if any
    reason: str = ""  # why (errors), for X-Mock-Reason and the journal
    cost: int = 0  # credits this response costs if it is sent
    headers: dict[str, str] = field(default_factory=dict)
    replayed: str | None = None  # "FILE.har#N" when the body is a recorded one (replay.py)


def respond(checked: Checked, override: Override | None, ctx: Context) -> Outcome:
    op = checked.op
    if override is not None and override.status:
        if override.error:
            return Outcome(400, orjson.dumps({"error": override.error}), reason=override.error)
        if 200 <= override.status < 300:
            return _example_success(checked, override)
        return problem_outcome(checked, Problem(override.status, override.example, f"requested by {override.source}"))
    if checked.problem is not None:
        return problem_outcome(checked, checked.problem)
    if op.operation_id == TIKTOK_OPERATION:
        return _tiktok(checked, ctx)
    return _generic(checked, ctx)


def problem_outcome(checked: Checked, problem: Problem) -> Outcome:
    try:
        example, body = error_body(checked.op, problem, handle=checked.handle)
    except UnknownExample as exc:
        return Outcome(400, orjson.dumps({"error": str(exc)}), reason=str(exc))
    return Outcome(problem.status, orjson.dumps(body), example=example, reason=problem.reason)


def _success_status(checked: Checked) -> int:
    return next((s for s in checked.op.statuses if 200 <= s < 300), 200)


def _example_success(checked: Checked, override: Override) -> Outcome:
    status = override.status
    examples = checked.op.examples(status)
    name = override.example or next(iter(examples), None)
    body: Any = examples.get(name) if name else None
    if body is None:
        schema = checked.op.response_schema(status) or {}
        body = from_schema.generate({}, schema, 0) if "$ref" not in schema else {}
    return Outcome(status, orjson.dumps(body), example=name, cost=checked.op.credit_cost)


def _tiktok(checked: Checked, ctx: Context) -> Outcome:
    body = checked.body or {}
    try:
        page = ctx.pages.get(checked.handle, body.get("maxCursor"), bool(body.get("trim", False)))
    except tiktok.InvalidCursor as exc:
        if ctx.settings.validation != "vendor" or not isinstance(body.get("maxCursor"), str):
            return problem_outcome(checked, Problem(400, "service_issue", f"maxCursor: {exc}"))
        # The vendor's YAML takes any string: a cursor no response gave starts again at page 1.
        checked.warnings.append(
            f"maxCursor {body['maxCursor'][:40]!r} is not a cursor the mock gave ({exc}); served the first page"
        )
        page = ctx.pages.get(checked.handle, None, bool(body.get("trim", False)))
    return Outcome(_success_status(checked), page, cost=checked.op.credit_cost)


def _generic(checked: Checked, ctx: Context) -> Outcome:
    status = _success_status(checked)
    examples = checked.op.examples(status)
    if examples:
        return Outcome(
            status,
            orjson.dumps(next(iter(examples.values()))),
            example=next(iter(examples)),
            cost=checked.op.credit_cost,
        )
    schema = checked.op.response_schema(status)
    if schema is None:
        return Outcome(status, b"", media_type="", cost=checked.op.credit_cost)
    # Same seed + same request body = same data; a stable digest, never hash() (salted per process).
    request = orjson.dumps([checked.op.operation_id, checked.body], option=orjson.OPT_SORT_KEYS)
    seed = ctx.settings.seed ^ int.from_bytes(hashlib.blake2b(request, digest_size=8).digest(), "big")
    value = from_schema.generate(ctx.contract.document, schema, seed)
    return Outcome(status, orjson.dumps(value), cost=checked.op.credit_cost)
