"""`--cors ORIGINS`: lets a front-end prototype in a browser call the mock (Starlette's
CORSMiddleware), preflights included. Off by default. The admin API stays out of it: a web page
from an allowed origin must not be able to reset the mock or change its keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.contract.document import Contract

ADMIN_PREFIX = "/__admin"
MOCK_HEADERS = ("X-Mock-Reason", "X-Mock-Violations")


def exposed_headers(contract: Contract) -> list[str]:
    """The response headers a browser script may read: every header the contract documents
    (X-RateLimit-*), plus the mock's own."""
    names = {name for op in contract.operations for status in op.statuses for name in op.header_names(status)}
    return sorted(names) + list(MOCK_HEADERS)


class _Cors(CORSMiddleware):
    """A refused preflight in the contract's error shape, with `X-Mock-Reason` like every error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode("latin-1")  # "Disallowed CORS origin, method"
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        headers["X-Mock-Reason"] = f"CORS preflight refused: {reason[len('Disallowed CORS ') :]} not allowed by --cors"
        return JSONResponse({"error": reason}, status_code=response.status_code, headers=headers)


class CorsOutsideAdmin:
    """CORS for the contract's operations and pages; `/__admin` answers as if CORS were off."""

    def __init__(self, app: ASGIApp, origins: Sequence[str], expose: Sequence[str]) -> None:
        self.app = app
        self.cors = _Cors(
            app,
            allow_origins=list(origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=list(expose),
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(ADMIN_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
