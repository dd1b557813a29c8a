"""`/__admin/requests`: the journal, its filters (journal/query.py), its count, and the
verify-client rules applied to it (verify/rules.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from mock_server.exceptions import QueryError
from mock_server.journal.query import FILTERS, JournalQuery, everything, parse_query, select
from mock_server.pipeline.context import Context
from mock_server.verify.rules import analyse


def _query(request: Request, allowed: tuple[str, ...] | None = None) -> JournalQuery | JSONResponse:
    try:
        items = request.query_params.multi_items()
        return parse_query(items) if allowed is None else parse_query(items, allowed)
    except QueryError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


async def list_requests(request: Request, body: Any, ctx: Context) -> Any:
    query = _query(request)
    if isinstance(query, JSONResponse):
        return query
    found, next_since, more = select(ctx.store, query, ctx.settings.journal_limit)
    return {"requests": found, "next": next_since, "has_more": more}


async def count_requests(request: Request, body: Any, ctx: Context) -> Any:
    query = _query(request, FILTERS)
    if isinstance(query, JSONResponse):
        return query
    return {"count": len(everything(ctx.store, query, ctx.settings.journal_limit))}


async def verify_requests(request: Request, body: Any, ctx: Context) -> Any:
    query = _query(request, FILTERS)
    if isinstance(query, JSONResponse):
        return query
    return analyse(everything(ctx.store, query, ctx.settings.journal_limit), ctx.validator).as_dict()


async def clear_requests(request: Request, body: Any, ctx: Context) -> Any:
    ctx.store.clear_journal()
    return {"status": "cleared"}
