"""`/__admin/faults`: injected faults (faults/spec.py says what one is; the ledger keeps them)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from mock_server.exceptions import FaultError
from mock_server.faults.spec import parse_fault, public
from mock_server.pipeline.context import Context


async def list_faults(request: Request, body: Any, ctx: Context) -> Any:
    return {"faults": [public(f) for f in ctx.store.faults()]}


async def add_fault(request: Request, body: Any, ctx: Context) -> Any:
    try:
        spec, count = parse_fault(body, ctx.contract)
    except FaultError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    fault_id = ctx.store.add_fault(spec, count)
    return next(public(f) for f in ctx.store.faults() if f["id"] == fault_id)


async def clear_faults(request: Request, body: Any, ctx: Context) -> Any:
    ctx.store.clear_faults()
    return {"status": "cleared"}
