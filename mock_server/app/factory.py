"""Build the FastAPI app from the effective contract at start-up.

Routes come from the contract (pipeline/routes.py), plus the served contract itself (`/openapi.json`,
`/openapi.yaml`), the admin API and the front door (`/`, `/docs`: front.py). FastAPI's own
generated docs are off: the vendor contract is the only description of this API, and `/docs`
shows that.
"""

from __future__ import annotations

import gc
import os
import random
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server import __version__
from mock_server.admin.routes import admin_routes
from mock_server.app.cors import CorsOutsideAdmin, exposed_headers
from mock_server.app.front import front_routes
from mock_server.contract.document import Contract, load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.data import tiktok
from mock_server.exceptions import FaultError, SettingsError
from mock_server.faults import spec as faults
from mock_server.ledger import open_store
from mock_server.pipeline.context import Context
from mock_server.pipeline.problems import Problem, error_body
from mock_server.pipeline.routes import Respond, mock_respond, operation_routes
from mock_server.pipeline.validate_response import header_value
from mock_server.server import logs
from mock_server.server.secrets import bearer_key, mask_text
from mock_server.server.serving import exit_with_parent
from mock_server.settings import Settings, settings_from_json

SETTINGS_ENV = "DUMPLING_MOCK__RESOLVED_SETTINGS"  # how `serve --workers N` hands settings to workers


def build_context(
    settings: Settings,
    contract: Contract | None = None,
    validator: ContractValidator | None = None,
    install_faults: bool = True,
) -> Context:
    """`contract` and `validator`, when given, were built from settings.contract/overlay already
    (the pytest plugin parses and compiles them once per run, not once per mock).
    `install_faults=False` for `--workers` children: the parent installed the configured faults
    in the shared state file once (each worker would add them again)."""
    tiktok.page(tiktok.Profile(0, "warm-up", 1), None)  # build Faker now, not on the first request
    contract = contract or load_contract(settings.contract, settings.overlay, settings.validation)
    try:
        configured = faults.check_configured(settings.faults, contract) if settings.faults else []
    except FaultError as exc:
        raise SettingsError(f"--fault / faults: {exc}") from None
    store = open_store(
        settings.state, settings.keys, settings.rate_limit, settings.journal_limit, settings.journal_max_bytes
    )
    if install_faults and configured:
        store.clear_faults()  # configured faults replace those a state file kept from the last run
        faults.install(store, configured)
    return Context(settings, contract, validator or ContractValidator(contract), store, random.Random(settings.seed))


def create_app(
    settings: Settings | None = None, responder: Respond = mock_respond, ctx: Context | None = None
) -> FastAPI:
    ctx = ctx or build_context(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.event("started", operations=len(ctx.contract.operations), seed=ctx.settings.seed, pid=os.getpid())
        try:
            yield
        finally:
            ctx.access_log.flush()
            ctx.store.close()

    async def openapi_json(request: Request) -> Response:
        return Response(ctx.contract.json_bytes, media_type="application/json")

    async def openapi_yaml(request: Request) -> Response:
        return Response(ctx.contract.yaml_text, media_type="application/yaml")

    routes = [
        *operation_routes(ctx, responder),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/openapi.yaml", openapi_yaml, methods=["GET"]),
        *admin_routes(ctx),
        *front_routes(ctx),
    ]
    app = FastAPI(
        title="dumpling-mock",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: unexpected_error_handler(ctx)},
    )
    if ctx.settings.cors:
        app.add_middleware(CorsOutsideAdmin, origins=ctx.settings.cors, expose=exposed_headers(ctx.contract))
    app.state.ctx = ctx
    return app


async def http_error(request: Request, exc: HTTPException) -> Response:
    """Unknown paths and methods get the contract's error shape, with `Allow` on a 405, and like
    every error response an `X-Mock-Reason` saying why."""
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        headers["X-Mock-Reason"] = header_value(f"no operation of the contract at {request.url.path}", 512)
    elif exc.status_code == 405:
        allowed = headers.get("Allow") or headers.get("allow") or ""
        headers["X-Mock-Reason"] = header_value(
            f"{request.method} is not an operation at {request.url.path}; allowed: {allowed}", 512
        )
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)


def unexpected_error_handler(ctx: Context) -> Callable[[Request, Exception], Coroutine[Any, Any, Response]]:
    """A bug must never show a traceback to the client: log it (keys masked, the request's own
    included: an exception's message may quote them), answer the documented 500 (the contract's
    first 500 example, its placeholder filled as the contract says), built once."""
    body = b'{"error":"Internal Server Error"}'  # a contract that documents no 500 example
    for op in ctx.contract.operations:
        if op.examples(500):
            body = orjson.dumps(error_body(op, Problem(500))[1])
            break

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        presented = bearer_key(request.headers.get("authorization"))
        keys = [presented, *ctx.known_keys] if presented else ctx.known_keys
        trace = "".join(traceback.format_exception(exc))
        logs.EVENTS.error(
            "unhandled error on %s %s\n%s", request.method, mask_text(request.url.path, keys), mask_text(trace, keys)
        )
        return Response(body, status_code=500, media_type="application/json")

    return unexpected_error


def create_app_from_env() -> FastAPI:
    """uvicorn factory for `--workers N`: each worker rebuilds the app from the parent's settings."""
    exit_with_parent()  # a worker never outlives the `serve` process that started it
    settings = settings_from_json(os.environ[SETTINGS_ENV])
    logs.configure(settings.log_level)
    app = create_app(ctx=build_context(settings, install_faults=False))
    freeze_startup_objects()
    return app


def freeze_startup_objects() -> None:
    """What start-up built (contract, Faker's word lists, the app) lives as long as the server
    process: out of the garbage collector's sight, a full collection takes well under a
    millisecond instead of ~30 ms, a pause that every request in flight would wait out.
    Server processes only: in a test process, frozen garbage would never be collected."""
    gc.collect()
    gc.freeze()
