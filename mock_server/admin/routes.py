"""The admin API under /__admin (WireMock's convention), described by openapi/admin.yaml and
validated by the same validator as the vendor contract."""

from __future__ import annotations

import asyncio
import functools
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server import __version__
from mock_server.contract.document import Contract, bundled_path, load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.exceptions import BadJson, FaultError, QueryError
from mock_server.faults import spec as faults
from mock_server.journal.query import FILTERS, everything, parse_query, select
from mock_server.ledger.base import KEY_FIELDS
from mock_server.pipeline.context import Context
from mock_server.pipeline.validate_request import load_json
from mock_server.settings import DEFAULT_CREDITS, ApiKey
from mock_server.verify.rules import analyse

Handler = Callable[[Request, Any], Awaitable[Any]]


@functools.lru_cache(maxsize=1)
def load_admin_contract() -> Contract:
    """Bundled with the package and never changed: parsed once per process (a fresh mock per
    test would otherwise parse it each time)."""
    return load_contract(bundled_path("admin.yaml"), overlay=False)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _allowed(request: Request, ctx: Context) -> bool:
    token = ctx.settings.admin_token
    if token:
        presented = request.headers.get("x-admin-token", "")
        return hmac.compare_digest(presented.encode(), token.encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refusal(ctx: Context) -> str:
    """Why a caller was refused: with a token set, the token is what is missing, wherever it calls from."""
    if ctx.settings.admin_token:
        return "an admin token is required: send X-Admin-Token with the value of --admin-token (missing or wrong)"
    return "the admin API answers only on loopback (start the mock with --admin-token to open it to token holders)"


def admin_routes(ctx: Context) -> list[Route]:
    contract = load_admin_contract()
    validator = ContractValidator(contract)
    store = ctx.store

    async def health(request: Request, body: Any) -> Any:
        return {
            "status": "ok",
            "version": __version__,
            "seed": ctx.settings.seed,
            "operations": len(ctx.contract.operations),
        }

    async def list_keys(request: Request, body: Any) -> Any:
        return {"keys": store.keys()}

    async def put_key(request: Request, body: Any) -> Any:
        # A partial update (only the fields sent change); a new key starts with the default credits.
        fields = [name for name in KEY_FIELDS if name in body]
        return store.put_key(
            ApiKey(body["key"], body.get("credits", DEFAULT_CREDITS), body.get("active", True)), fields
        )

    async def reset(request: Request, body: Any) -> Any:
        store.reset()
        if ctx.settings.faults:  # back to the configured start, configured faults included
            faults.install(store, faults.check_configured(ctx.settings.faults, ctx.contract))
        return {"status": "reset"}

    async def list_requests(request: Request, body: Any) -> Any:
        try:
            query = parse_query(request.query_params.multi_items())
        except QueryError as exc:
            return _error(400, str(exc))
        found, next_since, more = select(store, query, ctx.settings.journal_limit)
        return {"requests": found, "next": next_since, "has_more": more}

    async def count_requests(request: Request, body: Any) -> Any:
        try:
            query = parse_query(request.query_params.multi_items(), FILTERS)
        except QueryError as exc:
            return _error(400, str(exc))
        return {"count": len(everything(store, query, ctx.settings.journal_limit))}

    async def verify_requests(request: Request, body: Any) -> Any:
        try:
            query = parse_query(request.query_params.multi_items(), FILTERS)
        except QueryError as exc:
            return _error(400, str(exc))
        return analyse(everything(store, query, ctx.settings.journal_limit), ctx.validator).as_dict()

    async def clear_requests(request: Request, body: Any) -> Any:
        store.clear_journal()
        return {"status": "cleared"}

    async def list_faults(request: Request, body: Any) -> Any:
        return {"faults": [faults.public(f) for f in store.faults()]}

    async def add_fault(request: Request, body: Any) -> Any:
        try:
            spec, count = faults.parse_fault(body, ctx.contract)
        except FaultError as exc:
            return _error(400, str(exc))
        fault_id = store.add_fault(spec, count)
        return next(faults.public(f) for f in store.faults() if f["id"] == fault_id)

    async def clear_faults(request: Request, body: Any) -> Any:
        store.clear_faults()
        return {"status": "cleared"}

    handlers: dict[str, Handler] = {
        "health": health, "listKeys": list_keys, "putKey": put_key, "reset": reset,
        "listRequests": list_requests, "clearRequests": clear_requests,
        "countRequests": count_requests, "verifyRequests": verify_requests,
        "listFaults": list_faults, "addFault": add_fault, "clearFaults": clear_faults,
    }  # fmt: skip

    def endpoint(path: str) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            op = contract.operation(request.method, path)
            if op is None:
                return _error(405, "method not allowed")
            if op.secured and not _allowed(request, ctx):
                return _error(403, _refusal(ctx))
            body: Any = None
            if op.request_schema is not None:
                try:
                    async with asyncio.timeout(ctx.settings.client_timeout):  # as for API bodies
                        raw = await request.body()
                except (TimeoutError, ClientDisconnect):
                    return _error(400, f"body not received within {ctx.settings.client_timeout:g} s")
                try:
                    body = load_json(raw)
                except BadJson as exc:
                    return _error(400, f"body must be a JSON object ({exc})")
                problems = validator.request_body(op, body)
                if problems:
                    return _error(400, "; ".join(str(p) for p in problems))
            result = await handlers[op.operation_id](request, body)
            return result if isinstance(result, Response) else JSONResponse(result)

        return run

    routes = [
        Route(path, endpoint(path), methods=[op.method for op in contract.operations if op.path == path])
        for path in dict.fromkeys(op.path for op in contract.operations)
    ]
    routes.append(Route("/__admin/openapi.json", endpoint_openapi(contract), methods=["GET"]))
    return routes


def endpoint_openapi(contract: Contract) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        return Response(contract.json_bytes, media_type="application/json")

    return run
