"""Stage 3, decide: what this request gets instead of normal service, in the README's order:
a broken request earns its documented error (only the standing latency still applies); then a
`Prefer` header; then an injected fault's step; then a reserved handle (`error-404`, ...)."""

from __future__ import annotations

from collections.abc import Mapping

from mock_server.pipeline.context import Context
from mock_server.pipeline.inject_faults import from_faults, latency_only
from mock_server.pipeline.negotiate import Override, from_handle, from_prefer
from mock_server.pipeline.validate_request import Checked


def decide(headers: Mapping[str, str], checked: Checked, ctx: Context) -> Override | None:
    """The override for this request, or None for normal service."""
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
