"""An upstream that drifted, for the proxy and the recorder: an ASGI wrapper around the mock that
turns `has_more` into a string, drops X-RateLimit-Limit and rewords every error message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def drifting(app: Any, has_more: Callable[[Any], Any] = lambda value: "yes") -> Any:
    """`app` with drift on `/api/` responses; `has_more(value)` gives the drifted `has_more`."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}

        async def rewrite(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body = json.loads(message["body"])
            if "has_more" in body:
                body["has_more"] = has_more(body["has_more"])
            if "error" in body:
                body["error"] = "Something went wrong."
            raw = json.dumps(body).encode()
            headers = [
                (k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"x-ratelimit-limit")
            ]
            await send({**start, "headers": [*headers, (b"content-length", str(len(raw)).encode())]})
            await send({"type": "http.response.body", "body": raw})

        await app(scope, receive, rewrite)

    return wrapper
