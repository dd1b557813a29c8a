"""The admin API under /__admin (WireMock's convention): the route table, described by
openapi/admin.yaml and validated by the same validator as the vendor contract, with the access
guard (loopback, or `--admin-token`). One module per resource holds its handlers: `system`
(health, reset), `keys`, `requests` (the journal), `faults`."""

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

from mock_server.admin import faults, keys, requests, system
from mock_server.contract.document import Contract, bundled_path, load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.exceptions import BadJson
from mock_server.pipeline.context import Context
from mock_server.pipeline.validate_request import load_json

Handler = Callable[[Request, Any, Context], Awaitable[Any]]  # (request, validated body, context) -> JSON or a Response


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

    handlers: dict[str, Handler] = {
        "health": system.health,
        "reset": system.reset,
        "listKeys": keys.list_keys,
        "putKey": keys.put_key,
        "listRequests": requests.list_requests,
        "clearRequests": requests.clear_requests,
        "countRequests": requests.count_requests,
        "verifyRequests": requests.verify_requests,
        "listFaults": faults.list_faults,
        "addFault": faults.add_fault,
        "clearFaults": faults.clear_faults,
    }  # fmt: skip  (one line per resource module)

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
            result = await handlers[op.operation_id](request, body, ctx)
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
