"""Tests only: the real mock behind a response-mutating layer, to prove the contract kit catches drift.

One uvicorn server (in a thread, on a free loopback port) serves `create_app(...)` wrapped in an
ASGI middleware. The first path segments choose a drift: `/drift/<name>/api/v1/...` reaches the
mock at `/api/v1/...` with drift `<name>` applied to the request and/or the response, so each kit
run uses its own base URL `http://127.0.0.1:PORT/drift/<name>` (`<name>__<label>` applies drift
`<name>` under another label; an unknown name applies none). The layer counts every request per
label, which is how the tests check the kit's request budget at the server.

Each drift is something a real vendor change could do. Nothing here is part of the product.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

from mock_server.app.factory import create_app
from mock_server.data import tiktok
from mock_server.settings import ApiKey, Settings

PREFIX = re.compile(r"^/drift/([a-z0-9_]+)(/.*)$")  # /drift/<label>/<path of the mock>
WALK_HANDLE = "stoolpresidente"  # the contract's request example, which the kit walks by default
WALK_VIDEOS = 215  # 22 pages (the count seed 1 gives it anyway): the kit's 3-page walk does not reach the end
SEED = 1


@dataclass
class Exchange:
    """One request and its response as the layer sees them; drifts edit it in place."""

    request_headers: dict[str, str]
    request_body: bytes
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    memory: dict[str, Any] = field(default_factory=dict)  # per drift, across requests

    def request_json(self) -> Any:
        try:
            return orjson.loads(self.request_body)
        except orjson.JSONDecodeError:
            return None

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = orjson.dumps(value)


Mutation = Callable[[Exchange], None]


@dataclass(frozen=True)
class Drift:
    description: str
    expected_check: str  # the check of the kit that must name it
    evidence: str  # text its finding must contain, so that the right problem is named
    on_request: Mutation | None = None
    on_response: Mutation | None = None


def _each_video(change: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(ex: Exchange) -> None:
        body = ex.json()
        if ex.status == 200 and isinstance(body, dict):
            for video in body.get("aweme_list") or []:
                change(video)
            ex.set_json(body)

    return mutate


def _page(change: Callable[[dict[str, Any], Exchange], None]) -> Mutation:
    def mutate(ex: Exchange) -> None:
        body = ex.json()
        if ex.status == 200 and isinstance(body, dict):
            change(body, ex)
            ex.set_json(body)

    return mutate


def _rename(video: dict[str, Any]) -> None:
    video["awemeId"] = video.pop("aweme_id")


def _retype_play_count(video: dict[str, Any]) -> None:
    video["statistics"]["play_count"] = str(video["statistics"]["play_count"])


def _retype_create_time(video: dict[str, Any]) -> None:
    video["create_time"] = str(video["create_time"])


def _has_more_on_last_page(body: dict[str, Any], ex: Exchange) -> None:
    if body.get("aweme_list") and body.get("has_more") == 0:
        body["has_more"] = 1


def _duplicate_across_pages(body: dict[str, Any], ex: Exchange) -> None:
    """The last video of the previous page comes back first on every next page (TikTok repeats one
    now and then, which the kit notes; on every page, it is drift)."""
    request = ex.request_json() or {}
    videos = body.get("aweme_list") or []
    previous = ex.memory.get(request.get("handle"))
    if request.get("maxCursor") and previous is not None:
        body["aweme_list"] = [previous, *videos]
    if videos:
        ex.memory[request.get("handle")] = videos[-1]


def _profile(ex: Exchange) -> tiktok.Profile | None:
    """The profile the mock serves for this request's handle (drifts at the end need its size)."""
    handle = (ex.request_json() or {}).get("handle") if isinstance(ex.request_json(), dict) else None
    if not isinstance(handle, str) or not handle:
        return None
    return tiktok.Profile(SEED, handle, tiktok.video_count(SEED, handle, {WALK_HANDLE: WALK_VIDEOS}))


def _videos_after(ex: Exchange, cursor: Any) -> int | None:
    """How many videos are older than `cursor` (a millisecond string) in this request's profile."""
    profile = _profile(ex)
    if profile is None or not isinstance(cursor, str) or not cursor.isdigit():
        return None
    return profile.video_count - tiktok._first_older(profile, int(cursor))


def _has_more_one_page_early(body: dict[str, Any], ex: Exchange) -> None:
    """has_more is 0 on the page before the last: a client stops one page early."""
    left = _videos_after(ex, body.get("max_cursor"))
    if body.get("has_more") == 1 and left is not None and 0 < left <= tiktok.DEFAULT_PAGE_SIZE:
        body["has_more"] = 0


def _past_end_error(ex: Exchange) -> None:
    """Asking past the last page gets a documented 400 instead of an empty page."""
    body = ex.json()
    if (
        ex.status == 200
        and isinstance(body, dict)
        and body.get("aweme_list") == []
        and (ex.request_json() or {}).get("maxCursor")
    ):
        ex.status = 400
        ex.set_json({"error": "The video service reported an issue."})


def _empty_page_has_more(body: dict[str, Any], ex: Exchange) -> None:
    if body.get("aweme_list") == []:
        body["has_more"] = 1


def _last_page_loops(body: dict[str, Any], ex: Exchange) -> None:
    """The last page says has_more=1 and gives back the cursor it was asked with."""
    asked = (ex.request_json() or {}).get("maxCursor")
    if body.get("aweme_list") and body.get("has_more") == 0 and isinstance(asked, str) and asked.strip("0"):
        body["has_more"] = 1
        body["max_cursor"] = asked


def _last_page_reversed(body: dict[str, Any], ex: Exchange) -> None:
    if len(body.get("aweme_list") or []) > 1 and body.get("has_more") == 0:
        body["aweme_list"] = body["aweme_list"][::-1]


def _skips_first_after_cursor(body: dict[str, Any], ex: Exchange) -> None:
    """An off-by-one after a cursor: every page but the first loses its newest video."""
    if (ex.request_json() or {}).get("maxCursor") not in (None, "", "0") and body.get("aweme_list"):
        body["aweme_list"] = body["aweme_list"][1:]


def _cursor_past_oldest(body: dict[str, Any], ex: Exchange) -> None:
    """max_cursor is the time of the next page's first video, not the page's oldest: that video is lost."""
    profile = _profile(ex)
    cursor = body.get("max_cursor")
    if profile is None or body.get("has_more") != 1 or not isinstance(cursor, str) or not cursor.isdigit():
        return
    following = tiktok._first_older(profile, int(cursor))
    if following < profile.video_count:
        body["max_cursor"] = str(tiktok._create_time(profile, following) * 1000)


def _cursors_in_seconds_request(ex: Exchange) -> None:
    request = ex.request_json()
    if isinstance(request, dict) and isinstance(request.get("maxCursor"), str) and request["maxCursor"].isdigit():
        request["maxCursor"] = str(int(request["maxCursor"]) * 1000)  # the vendor reads seconds
        ex.request_body = orjson.dumps(request)


def _cursors_in_seconds(body: dict[str, Any], ex: Exchange) -> None:
    for name in ("max_cursor", "min_cursor"):
        if isinstance(body.get(name), str) and body[name].isdigit():
            body[name] = str(int(body[name]) // 1000)


def _undocumented_status(ex: Exchange) -> None:
    if ex.status == 400:
        ex.status = 422  # a framework default creeping in


def _drop_remaining(ex: Exchange) -> None:
    ex.headers.pop("x-ratelimit-remaining", None)


def _non_json_errors(ex: Exchange) -> None:
    if ex.status >= 400:
        ex.headers["content-type"] = "text/plain; charset=utf-8"
        ex.body = b"Bad Request"


def _error_key_renamed(ex: Exchange) -> None:
    body = ex.json()
    if ex.status >= 400 and isinstance(body, dict) and "error" in body:
        ex.set_json({"message": body["error"]})


def _empty_401(ex: Exchange) -> None:
    if ex.status == 401:
        ex.headers.pop("content-type", None)
        ex.body = b""


def _wrong_content_type(ex: Exchange) -> None:
    if ex.status == 200:
        ex.headers["content-type"] = "text/html; charset=utf-8"


def _auth_not_enforced(key: str) -> Mutation:
    def mutate(ex: Exchange) -> None:
        ex.request_headers["authorization"] = f"Bearer {key}"  # whatever the client sent, or nothing

    return mutate


def drifts(key_of: Callable[[str], str]) -> dict[str, Drift]:
    """Every drift by name; `key_of(name)` is the valid key of that drift's kit run."""
    return {
        "field_removed": Drift(
            "videos lose `statistics`",
            "example_field_types",
            "statistics: missing",
            on_response=_each_video(lambda v: v.pop("statistics")),
        ),
        "field_renamed": Drift(
            "`aweme_id` renamed `awemeId`", "example_field_types", "aweme_id: missing", on_response=_each_video(_rename)
        ),
        "field_retyped": Drift(
            "`statistics.play_count` becomes a string",
            "example_field_types",
            "play_count: the documented example gives integer",
            on_response=_each_video(_retype_play_count),
        ),
        "create_time_string": Drift(
            "`create_time` becomes a string (breaks the vendor YAML)",
            "response_schema_conformance",
            "aweme_list[0].create_time is the string",
            on_response=_each_video(_retype_create_time),
        ),
        "cursors_in_seconds": Drift(
            "cursors in seconds (consistently)",
            "example_field_types",
            "max_cursor: a Unix time in seconds, the documented example uses milliseconds",
            on_request=_cursors_in_seconds_request,
            on_response=_page(_cursors_in_seconds),
        ),
        "has_more_on_last_page": Drift(
            "`has_more` stays 1 on the last page",
            "pagination_walk",
            "is empty; the contract expects has_more=0 on the last page",
            on_response=_page(_has_more_on_last_page),
        ),
        # --- at the end of a walk (the kit's default 3-page walk does not get there: its end search must)
        "has_more_one_page_early": Drift(
            "`has_more` is 0 on the page before the last",
            "pagination_walk",
            "the contract expects has_more=1 while older videos exist",
            on_response=_page(_has_more_one_page_early),
        ),
        "past_end_error": Drift(
            "asking past the last page gets a 400, not an empty page",
            "pagination_walk",
            "got status 400; the contract expects a 200 with the videos older than it",
            on_response=_past_end_error,
        ),
        "empty_page_has_more": Drift(
            "an empty page says has_more=1",
            "pagination_walk",
            "has_more=1 on an empty page (maxCursor=1, status 200)",
            on_response=_page(_empty_page_has_more),
        ),
        "last_page_loops": Drift(
            "the last page says has_more=1 and echoes its cursor",
            "pagination_walk",
            "a client following it would loop",
            on_response=_page(_last_page_loops),
        ),
        "last_page_reversed": Drift(
            "the last page lists its videos oldest first",
            "pagination_walk",
            "create_time goes up on end page",
            on_response=_page(_last_page_reversed),
        ),
        # --- where two pages join
        "skips_first_after_cursor": Drift(
            "every page after a cursor loses its newest video",
            "pagination_walk",
            "the target skips the video(s) right after a cursor",
            on_response=_page(_skips_first_after_cursor),
        ),
        "cursor_past_oldest": Drift(
            "max_cursor points one video too far: that video is on no page",
            "pagination_walk",
            "are on neither page",
            on_response=_page(_cursor_past_oldest),
        ),
        "duplicate_across_pages": Drift(
            "a video repeats on the next page",
            "pagination_walk",
            "a duplicate of page 2",
            on_response=_page(_duplicate_across_pages),
        ),
        "undocumented_status": Drift(
            "400 becomes 422", "status_code_conformance", "422", on_response=_undocumented_status
        ),
        "missing_rate_limit_header": Drift(
            "no X-RateLimit-Remaining",
            "rate_limit_headers",
            "X-RateLimit-Remaining is missing",
            on_response=_drop_remaining,
        ),
        "non_json_error_body": Drift(
            "error bodies in plain text",
            "error_body_documented",
            "received 400 with a text/plain; charset=utf-8 body 'Bad Request'; the contract expects the JSON body",
            on_response=_non_json_errors,
        ),
        "error_key_renamed": Drift(
            "error bodies say `message`, not `error`",
            "error_body_documented",
            'the contract expects {"error": <string>}',
            on_response=_error_key_renamed,
        ),
        "empty_401_body": Drift(
            "401 without the documented body",
            "error_body_documented",
            'received 401 with an empty body; the contract expects the JSON body {"error": <string>}',
            on_response=_empty_401,
        ),
        "wrong_content_type": Drift(
            "200 served as text/html", "content_type_conformance", "text/html", on_response=_wrong_content_type
        ),
        "auth_not_enforced": Drift(
            "requests without a valid key are served",
            "auth_enforced",
            'for a request with no Authorization header: it was served; the contract expects 401 with {"error":"API key is invalid or missing."}',
            on_request=_auth_not_enforced(key_of("auth_not_enforced")),
        ),
    }


class DriftLayer:
    """ASGI middleware: strip `/drift/<name>`, apply the drift, count the request."""

    def __init__(self, app: Any, drift_table: dict[str, Drift]) -> None:
        self.app = app
        self.drifts = drift_table
        self.counts: Counter[str] = Counter()
        self.log: dict[str, list[tuple[str, str, bytes]]] = {}  # (method, path, body) per drift
        self.memory: dict[str, dict[str, Any]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        match = PREFIX.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        name, path = match.groups()
        self.counts[name] += 1
        drift = self.drifts.get(name.split("__")[0])
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.log.setdefault(name, []).append((scope["method"], path, body))
        ex = Exchange(
            {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            body,
            memory=self.memory.setdefault(name, {}),
        )
        if drift is not None and drift.on_request is not None:
            drift.on_request(ex)
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in ex.request_headers.items() if k != "content-length"
        ]
        headers.append((b"content-length", str(len(ex.request_body)).encode()))
        inner_scope = dict(scope, path=path, raw_path=path.encode(), headers=headers)
        await self._call_inner(inner_scope, ex)
        if drift is not None and drift.on_response is not None:
            drift.on_response(ex)
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in ex.headers.items() if k != "content-length"]
        out.append((b"content-length", str(len(ex.body)).encode()))
        await send({"type": "http.response.start", "status": ex.status, "headers": out})
        await send({"type": "http.response.body", "body": ex.body})

    async def _call_inner(self, scope: dict[str, Any], ex: Exchange) -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": ex.request_body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                ex.status = message["status"]
                ex.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                ex.body += message.get("body", b"")

        await self.app(scope, receive, send)


class DriftServer:
    """The layer around a real `create_app(...)`, served by uvicorn in a thread on a loopback port."""

    def __init__(self, port: int, keys: list[str]) -> None:
        self.keys = keys
        settings = Settings(api_keys=tuple(ApiKey(k, 10**9) for k in keys), handles={WALK_HANDLE: WALK_VIDEOS})
        self.table = drifts(self.key_of)
        self.layer = DriftLayer(create_app(settings), self.table)
        self.server = uvicorn.Server(
            uvicorn.Config(self.layer, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name="drift-layer", daemon=True)
        self.base = f"http://127.0.0.1:{port}"

    @staticmethod
    def key_of(name: str) -> str:
        return f"sk_drift_{name}_0123456789"

    def url(self, name: str) -> str:
        return f"{self.base}/drift/{name}"

    def start(self, timeout: float = 15.0) -> DriftServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the drift layer did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
