"""Stage 6, send: the documented headers (X-RateLimit-*, Retry-After), the mock's own
(X-Mock-Reason, X-Mock-Violations), the response checked against the contract
(validate_response.py), and the access log line. A transport fault goes on the wire from here."""

from __future__ import annotations

import time

from starlette.responses import Response

from mock_server.faults.transport import TransportFault
from mock_server.pipeline.context import Context
from mock_server.pipeline.inject_faults import retry_after
from mock_server.pipeline.negotiate import Override
from mock_server.pipeline.settle import Settled, journal_violations
from mock_server.pipeline.validate_request import Checked
from mock_server.pipeline.validate_response import check_response, header_value, violations_header
from mock_server.server.secrets import mask_text

RATE_HEADERS = {"x-ratelimit-limit": "limit", "x-ratelimit-remaining": "remaining"}


def send(
    method: str, path: str, checked: Checked, override: Override | None, settled: Settled, ctx: Context, started: float
) -> Response:
    outcome = settled.outcome
    headers = _headers(checked, override, settled, ctx)
    if settled.transport:
        ctx.access_log.write(
            {
                "method": method,
                "path": path,
                "status": settled.wire_status,
                "fault": settled.transport,
                "key": settled.key,
                "handle": settled.handle,
            }
        )
        stall_ms = override.stall_ms if override else 0
        return TransportFault(settled.transport, ctx.settings.seed, outcome.status, headers, outcome.body, stall_ms)
    violations = check_response(ctx.validator, checked.op, outcome.status, headers, outcome.body)
    proxying = ctx.settings.upstream is not None  # a proxy forwards bad requests too: it shows them
    shown = [*checked.violations, *violations] if proxying else violations
    if shown:
        headers["X-Mock-Violations"] = violations_header(shown, settled.secrets)
    journal_violations(settled, [v.as_dict() for v in violations], ctx)
    ctx.access_log.write(
        {
            "method": method,
            "path": path,
            "status": outcome.status,
            "key": settled.key,
            "handle": settled.handle,  # masked: a client may send its key as the handle
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    )
    return Response(outcome.body, status_code=outcome.status, headers=headers)


def _headers(checked: Checked, override: Override | None, settled: Settled, ctx: Context) -> dict[str, str]:
    outcome = settled.outcome
    headers = dict(outcome.headers)
    if settled.limit is not None:
        values = {"limit": settled.limit, "remaining": settled.remaining}
        for name in checked.op.header_names(outcome.status):
            source = RATE_HEADERS.get(name.lower())
            if source:
                headers[name] = str(values[source])
    if outcome.reason and outcome.status >= 400:
        headers["X-Mock-Reason"] = header_value(mask_text(outcome.reason, settled.secrets), 512)
    if outcome.media_type:
        headers["content-type"] = outcome.media_type
    wait = retry_after(outcome.status, override, ctx.settings)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    return headers
