"""Stage 1, route: one Starlette route per operation of the contract. Its endpoint runs the
pipeline, data flowing one way:

    check_request -> overrides -> respond -> state.settle -> check_response -> send
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mock_server.contract.document import Operation
from mock_server.faults.transport import TransportFault, wire_status
from mock_server.journal.entry import bounded
from mock_server.journal.summary import response_summary
from mock_server.pipeline.context import Context
from mock_server.pipeline.inject_faults import from_faults, latency_only, retry_after
from mock_server.pipeline.negotiate import Override, from_handle, from_prefer
from mock_server.pipeline.problems import Problem
from mock_server.pipeline.respond import Outcome, problem_outcome, respond
from mock_server.pipeline.validate_request import Checked, check_request, request_headers
from mock_server.pipeline.validate_response import check_response, header_value, violations_header
from mock_server.server.secrets import bearer_key, mask, mask_text

LEDGER_REASONS = {503: "rate limit exceeded for this key", 403: "fewer credits left than this request costs"}
RATE_HEADERS = {"x-ratelimit-limit": "limit", "x-ratelimit-remaining": "remaining"}

Respond = Callable[[Checked, Override | None, Context, Request], Awaitable[Outcome]]


async def mock_respond(checked: Checked, override: Override | None, ctx: Context, request: Request) -> Outcome:
    return respond(checked, override, ctx)


def starlette_path(path: str) -> str:
    """OpenAPI `{param}` paths are Starlette paths already; only reject odd characters."""
    return re.sub(r"\{([^}/]+)\}", lambda m: "{" + re.sub(r"\W", "_", m.group(1)) + "}", path)


def operation_routes(ctx: Context, responder: Respond = mock_respond) -> list[Route]:
    """One route per path, serving each of its methods (so other methods get 405 with Allow)."""
    by_path: dict[str, dict[str, Operation]] = {}
    for op in ctx.contract.operations:
        by_path.setdefault(op.path, {})[op.method] = op
    return [
        Route(starlette_path(path), _Endpoint(ops, ctx, responder), methods=list(ops), name=path)
        for path, ops in by_path.items()
    ]


class _Endpoint:
    """A plain ASGI app (Starlette routes to it as is): the pipeline never raises HTTPException,
    so Starlette's per-request exception-handling wrapper would only add cost. An unexpected
    error still reaches the app's 500 handler (app.unexpected_error)."""

    def __init__(self, ops: dict[str, Operation], ctx: Context, responder: Respond) -> None:
        self.ops, self.ctx, self.responder = ops, ctx, responder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        op = self.ops[request.method] if request.method in self.ops else self.ops[next(iter(self.ops))]
        response = await handle(request, op, self.ctx, self.responder)
        await response(scope, receive, send)


async def handle(request: Request, op: Operation, ctx: Context, responder: Respond) -> Response:
    started = time.perf_counter()
    # A matched path without parameters IS the operation's path (request.url costs a URL parse).
    path = op.path if "{" not in op.path else request.url.path
    proxying = ctx.settings.upstream is not None  # the upstream decides on keys and credits
    headers_in = request_headers(request)
    checked = await check_request(request, headers_in, op, ctx)
    override = _override(headers_in, checked, ctx)
    if override is not None and override.latency_ms:
        await asyncio.sleep(override.latency_ms / 1000)
    outcome = await responder(checked, override, ctx, request)

    presented = checked.presented if op.secured else bearer_key(headers_in.get("authorization"))
    secrets = [presented, *ctx.known_keys] if presented else ctx.known_keys  # masked wherever they appear
    entry = {
        "method": request.method,
        "path": path,
        "operation": op.operation_id,
        "key": mask(presented),
        "content_type": headers_in.get("content-type", ""),
        "body": checked.body_text,
        "handle": checked.handle,
        "example": outcome.example,
        "reason": outcome.reason,
        "warnings": checked.warnings,
        "violations": [v.as_dict() for v in checked.violations],
        "forced": override.source if override is not None and (override.status or override.transport) else None,
        "replayed": outcome.replayed,  # the recording the body came from (serve --replay), else None
        "response": _summary(ctx, outcome.status, outcome.body),
    }
    # A fault below HTTP is journaled with the status it puts on the wire (0: none) and costs nothing.
    transport = override.transport if override is not None else ""
    if transport:
        entry["fault"] = transport
    candidate = wire_status(transport, outcome.status) if transport else outcome.status
    entry = bounded(entry, secrets)  # masked, then each field cut
    settlement = ctx.store.settle(checked.key, candidate, 0 if transport else outcome.cost, entry)
    if settlement.status != candidate:
        outcome = problem_outcome(checked, Problem(settlement.status, None, LEDGER_REASONS[settlement.status]))
        if settlement.journal_id is not None:  # the journal names what was sent, not the page that was not
            amend = {"fault": None} if transport else {}  # the connection was not broken
            ctx.store.amend_journal(
                settlement.journal_id,
                example=outcome.example,
                reason=outcome.reason,
                response=None,
                replayed=None,
                **amend,
            )
        transport = ""  # the ledger's documented answer comes first, as for any fault

    headers = dict(outcome.headers)
    if settlement.limit is not None:
        values = {"limit": settlement.limit, "remaining": settlement.remaining}
        for name in op.header_names(outcome.status):
            source = RATE_HEADERS.get(name.lower())
            if source:
                headers[name] = str(values[source])
    if outcome.reason and outcome.status >= 400:
        headers["X-Mock-Reason"] = header_value(mask_text(outcome.reason, secrets), 512)
    if outcome.media_type:
        headers["content-type"] = outcome.media_type
    wait = retry_after(outcome.status, override, ctx.settings)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    if transport:
        ctx.access_log.write(
            {
                "method": request.method,
                "path": path,
                "status": candidate,
                "fault": transport,
                "key": entry["key"],
                "handle": entry["handle"],
            }
        )
        return TransportFault(
            transport, ctx.settings.seed, outcome.status, headers, outcome.body, override.stall_ms if override else 0
        )
    violations = check_response(ctx.validator, op, outcome.status, headers, outcome.body)
    shown = [*checked.violations, *violations] if proxying else violations  # a proxy forwards bad requests too
    if shown:
        headers["X-Mock-Violations"] = violations_header(shown, secrets)
    if violations and settlement.journal_id is not None:
        ctx.store.amend_journal(
            settlement.journal_id, response_violations=bounded({"v": [v.as_dict() for v in violations]}, secrets)["v"]
        )
    ctx.access_log.write(
        {
            "method": request.method,
            "path": path,
            "status": outcome.status,
            "key": entry["key"],
            "handle": entry["handle"],  # masked: a client may send its key as the handle
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    )
    return Response(outcome.body, status_code=outcome.status, headers=headers)


def _summary(ctx: Context, status: int, body: bytes) -> dict[str, Any] | None:
    """response_summary parses the whole body: once per distinct body is enough."""
    return ctx.summaries.get((status, body), body, lambda: response_summary(status, body))


def _override(headers: Mapping[str, str], checked: Checked, ctx: Context) -> Override | None:
    if checked.op.secured and checked.key is None:
        return None  # no key: the documented 401 comes first
    if checked.problem is not None:
        # A broken request earns its documented error before any Prefer or fault (README order),
        # so a client test cannot pass while the client sends a broken request. Latency still applies.
        return latency_only(ctx.store, checked.op.operation_id)
    prefer = from_prefer(headers.get("prefer"), checked.op)
    if prefer is not None:
        return prefer
    fault = from_faults(ctx.store, checked, ctx.settings, ctx.rng)
    if fault is not None and (fault.status or fault.transport):
        return fault
    by_handle = from_handle(checked.handle, checked.op) if checked.handle else None
    if by_handle is not None and fault is not None:
        return Override(by_handle.status, by_handle.example, by_handle.source, fault.latency_ms, by_handle.error)
    return by_handle or fault
