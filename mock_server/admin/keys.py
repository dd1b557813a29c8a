"""`/__admin/keys`: the keys and their credits, as the ledger holds them (masked)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from mock_server.ledger.base import KEY_FIELDS
from mock_server.pipeline.context import Context
from mock_server.settings import DEFAULT_CREDITS, ApiKey


async def list_keys(request: Request, body: Any, ctx: Context) -> Any:
    return {"keys": ctx.store.keys()}


async def put_key(request: Request, body: Any, ctx: Context) -> Any:
    """A partial update (only the fields sent change); a new key starts with the default credits."""
    fields = [name for name in KEY_FIELDS if name in body]
    return ctx.store.put_key(
        ApiKey(body["key"], body.get("credits", DEFAULT_CREDITS), body.get("active", True)), fields
    )
