"""`/__admin/health` and `/__admin/reset`: is the mock up, and back to how it started."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from mock_server import __version__
from mock_server.faults.spec import check_configured, install
from mock_server.pipeline.context import Context


async def health(request: Request, body: Any, ctx: Context) -> Any:
    return {
        "status": "ok",
        "version": __version__,
        "seed": ctx.settings.seed,
        "operations": len(ctx.contract.operations),
    }


async def reset(request: Request, body: Any, ctx: Context) -> Any:
    ctx.store.reset()
    if ctx.settings.faults:  # back to the configured start, configured faults included
        install(ctx.store, check_configured(ctx.settings.faults, ctx.contract))
    return {"status": "reset"}
