"""Stage 4, respond (forward): proxy mode (`dumpling-mock proxy --upstream URL`), Stoplight
Prism's `proxy` idea. The request, checked by stage 2 but never rejected for it, goes to the
upstream unchanged except for hop-by-hop headers; the upstream's answer comes back as an
`Outcome`, so stage 4 validates it like any mock response and the violations of both (request
and response) reach the `X-Mock-Violations` header and the journal.

The upstream decides on keys and credits. When it cannot be reached or does not answer in time,
the client gets the contract's documented 502, never a traceback. Nothing here logs a header.

A hostile or broken upstream is bounded: its body is streamed and decompressed under
`MAX_RESPONSE_BYTES` (body_limits.py: an endless body or a gzip bomb costs at most that), and the
whole answer (headers and the last body byte) must arrive within `DEADLINE_S`; past either, the
client gets the documented 502 (`upstream_error`), with the reason in `X-Mock-Reason`.
"""

from __future__ import annotations

import asyncio
import logging
import zlib

import httpx
from starlette.requests import Request

from mock_server.exceptions import BodyTooLarge
from mock_server.pipeline.context import Context
from mock_server.pipeline.negotiate import Override
from mock_server.pipeline.problems import Problem
from mock_server.pipeline.respond import Outcome, problem_outcome
from mock_server.pipeline.validate_request import Checked
from mock_server.server.body_limits import MAX_RESPONSE_BYTES, CappedBody

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# httpx sets host and content-length, and asks only for the encodings it can decode (it decodes
# the body to validate it), so the client's accept-encoding is not passed on.
NOT_SENT = HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
NOT_RETURNED = HOP_BY_HOP | {"content-length", "content-encoding"}  # the body is passed on decoded
ACCEPT_ENCODING = "gzip, deflate"  # what body_limits.CappedBody decodes under its cap
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEADLINE_S = 30.0  # the whole upstream answer, from sending the request to the last body byte
UNREACHABLE = "service_unavailable"  # 502 example: "The video service is currently unavailable."
FAILED = "upstream_error"  # 502 example: "Error fetching video data from the upstream service."

logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry full URLs


class Forwarder:
    """The proxy's responder (routes.Respond). One connection pool per event loop."""

    def __init__(
        self,
        upstream: str,
        timeout: httpx.Timeout = TIMEOUT,
        deadline_s: float = DEADLINE_S,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.timeout = timeout
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
            self._loop = loop
        return self._client

    async def __call__(self, checked: Checked, override: Override | None, ctx: Context, request: Request) -> Outcome:
        if checked.raw is None:  # too large, too slow or cut: there is nothing whole to forward
            assert checked.problem is not None
            return problem_outcome(checked, checked.problem)
        path = (request.scope.get("raw_path") or request.url.path.encode()).decode(
            "latin-1"
        )  # as sent, still %-encoded
        url = self.upstream + path + (f"?{request.url.query}" if request.url.query else "")
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name not in _dropped(request.headers.get("connection"), NOT_SENT)
        ]
        headers.append(("accept-encoding", ACCEPT_ENCODING))
        where = httpx.URL(self.upstream).netloc.decode()
        client = self.client()
        try:
            async with asyncio.timeout(self.deadline_s):
                response = await client.send(
                    client.build_request(request.method, url, content=checked.raw, headers=headers), stream=True
                )
                try:
                    body = CappedBody(response.headers.get("content-encoding"), self.max_bytes)
                    async for chunk in response.aiter_raw():
                        body.feed(chunk)
                    content = body.finish()
                finally:
                    await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return problem_outcome(
                checked, Problem(502, UNREACHABLE, f"upstream {where} unreachable ({type(exc).__name__})")
            )
        except TimeoutError:
            return problem_outcome(
                checked,
                Problem(502, FAILED, f"upstream {where} did not answer completely within {self.deadline_s:g} s"),
            )
        except BodyTooLarge:
            return problem_outcome(
                checked,
                Problem(
                    502, FAILED, f"upstream {where} answered a body over {self.max_bytes} bytes (after decompression)"
                ),
            )
        except (httpx.HTTPError, zlib.error) as exc:
            return problem_outcome(checked, Problem(502, FAILED, f"upstream {where} failed ({type(exc).__name__})"))
        returned: dict[str, str] = {}
        skip = _dropped(
            response.headers.get("connection"), NOT_RETURNED if body.decoded else NOT_RETURNED - {"content-encoding"}
        )
        for name, value in response.headers.multi_items():
            if name not in skip:
                returned[name] = f"{returned[name]}, {value}" if name in returned else value
        return Outcome(response.status_code, content, media_type="", headers=returned)


def _dropped(connection: str | None, always: frozenset[str]) -> frozenset[str]:
    """`always`, plus the headers a Connection header names (RFC 9110 section 7.6.1)."""
    named = {token.strip().lower() for token in (connection or "").split(",") if token.strip()}
    return always | named
