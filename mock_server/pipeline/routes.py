"""Stage 1, route: one Starlette route per operation of the contract. Its endpoint runs the
pipeline, one module per stage, data flowing one way (`handle`):

    validate_request -> decide (negotiate, inject_faults) -> respond | forward | replay
        -> settle (journal + ledger) -> send (headers, validate_response, access log)
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mock_server.contract.document import Operation
from mock_server.pipeline.context import Context
from mock_server.pipeline.decide import decide
from mock_server.pipeline.negotiate import Override
from mock_server.pipeline.respond import Outcome, respond
from mock_server.pipeline.send import send
from mock_server.pipeline.settle import settle
from mock_server.pipeline.validate_request import Checked, check_request, request_headers

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
    """The pipeline, one stage per line; data flows down, nothing goes back up."""
    started = time.perf_counter()
    # A matched path without parameters IS the operation's path (request.url costs a URL parse).
    path = op.path if "{" not in op.path else request.url.path
    headers_in = request_headers(request)
    checked = await check_request(request, headers_in, op, ctx)  # validate request
    override = decide(headers_in, checked, ctx)  # a broken request's error, Prefer, a fault, a reserved handle
    if override is not None and override.latency_ms:
        await asyncio.sleep(override.latency_ms / 1000)
    outcome = await responder(checked, override, ctx, request)  # respond: mock, forward or replay
    settled = settle(request.method, path, headers_in, checked, override, outcome, ctx)  # journal + ledger
    return send(request.method, path, checked, override, settled, ctx, started)  # headers, validate response, log
