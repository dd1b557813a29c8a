"""`dumpling-mock proxy --upstream URL --record FILE.har`: the proxy's responder, wrapped so that
every exchange with the upstream is kept in a HAR 1.2 file (WireMock's recording, as a `Respond`
around forward.Forwarder).

What is recorded is what the upstream answered (status, headers, body), before the proxy adds
its own headers; a request the proxy did not forward (too large, upstream unreachable) is not an
interaction and is not recorded. Credentials are scrubbed (har.scrub) before the file is
written, and the file is replaced atomically after each interaction, so a recorder killed at any
moment leaves a valid HAR of everything recorded until then. Each write holds every interaction
so far (appending in place could leave half an entry): cheap for the hundreds of paid requests a
recording holds, and --max-requests bounds it.

Recording spends real credits: after each interaction one line on stderr says how many were
recorded and what they cost (`recorded 3 interactions, 30 credits`: 2xx answers times the
operation's documented credit cost). `--max-requests N` stops forwarding after N requests: the
next ones get the contract's 503 with an X-Mock-Reason, and reach neither the upstream nor the file.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from starlette.requests import Request

from mock_server.pipeline.context import Context
from mock_server.pipeline.negotiate import Override
from mock_server.pipeline.problems import Problem
from mock_server.pipeline.respond import Outcome, problem_outcome
from mock_server.pipeline.routes import Respond
from mock_server.pipeline.validate_request import Checked
from mock_server.recording import har
from mock_server.server.secrets import bearer_key, url_secrets


class Recorder:
    """A Respond that forwards through `forward` and records each interaction into `path`."""

    def __init__(
        self,
        forward: Respond,
        upstream: str,
        path: Path,
        max_requests: int | None = None,
        out: Callable[[], TextIO] = lambda: sys.stderr,
    ) -> None:
        self.forward = forward
        self.upstream = upstream.rstrip("/")
        self.path = path
        self.max_requests = max_requests
        self.out = out
        self.exchanges: list[har.Exchange] = []
        self.forwarded = 0  # requests sent upstream, whatever came back
        self.credits = 0
        self.seen_keys: set[str] = set(
            url_secrets(upstream)
        )  # every key seen so far (and the upstream URL's password), masked in every later exchange; memory only
        self._lock = asyncio.Lock()
        har.write(path, [])  # a valid (empty) HAR from the start; fails early on a bad path

    async def __call__(self, checked: Checked, override: Override | None, ctx: Context, request: Request) -> Outcome:
        if checked.raw is None:
            return await self.forward(checked, override, ctx, request)  # not forwardable: nothing to record
        if self.max_requests is not None and self.forwarded >= self.max_requests:
            reason = f"recording stopped: --max-requests {self.max_requests} reached; this request was not forwarded"
            return problem_outcome(checked, Problem(503, None, reason))
        self.forwarded += 1
        started = datetime.now(UTC)
        clock = time.perf_counter()
        outcome = await self.forward(checked, override, ctx, request)
        if outcome.reason:  # the proxy's own answer (upstream unreachable or failed): no interaction
            return outcome
        exchange = har.Exchange(
            method=request.method,
            url=self.upstream + request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            request_headers=tuple(
                (name, value) for name, value in request.headers.items() if name not in ("host", "content-length")
            ),
            request_body=checked.raw,
            status=outcome.status,
            response_headers=tuple(outcome.headers.items()),
            response_body=outcome.body,
            started=started.isoformat(),
            time_ms=(time.perf_counter() - clock) * 1000,
        )
        async with self._lock:  # one writer at a time: each write holds every interaction so far
            self.seen_keys.update(
                k
                for k in (
                    checked.presented,
                    bearer_key(request.headers.get("authorization")),
                    *har.credentials(exchange),
                )
                if k
            )
            self.exchanges.append(
                har.scrub(exchange, sorted(self.seen_keys | set(ctx.known_keys), key=len, reverse=True))
            )
            if 200 <= outcome.status < 300:
                self.credits += checked.op.credit_cost
            har.write(self.path, self.exchanges)
            print(
                f"recorded {len(self.exchanges)} interaction{'s' if len(self.exchanges) != 1 else ''}, {self.credits} credits",
                file=self.out(),
                flush=True,
            )
        return outcome
