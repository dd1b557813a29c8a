"""Stage 2, validate request: auth, body limits, JSON, the contract's request schema, and the
documented advice (no @ in the handle). Produces a `Checked` request; never raises to the client.

Order (documented in the README): auth -> body size -> Content-Type -> JSON -> schema -> handle.
The first failure decides the documented error; warnings never change the response.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import ClientDisconnect, Request

from mock_server.contract.document import Operation
from mock_server.contract.validator import ContractValidator, Violation
from mock_server.data import tiktok
from mock_server.data.tiktok import TIKTOK_OPERATION
from mock_server.exceptions import BadJson
from mock_server.journal.entry import JOURNAL_BODY_BYTES
from mock_server.ledger.base import KeyInfo, Store
from mock_server.pipeline.context import Context
from mock_server.pipeline.problems import Problem
from mock_server.server.secrets import bearer_key

HANDLE = re.compile(r"[A-Za-z0-9._]{1,24}")  # what TikTok accepts as a username
RESERVED_HANDLE = re.compile(r"(error-\d{3}(-[A-Za-z0-9_]{1,64})?|videos-\d{1,8})")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")  # cheap pre-check before walking the body
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a valid pair decodes to one code point above U+FFFF
# Read this much for the journal, so that a key straddling the cut is masked whole before the cut
# (journal.entry.bounded; 512 characters of a key, each in up to secrets.MAX_FORM characters).
JOURNAL_WINDOW_BYTES = JOURNAL_BODY_BYTES + 10 * 1024


@dataclass
class Checked:
    """A request after stage 2. `problem` is the documented error it earned, if any."""

    op: Operation
    key: KeyInfo | None = None
    presented: str | None = None  # the Bearer key as sent (never logged: see secrets.mask)
    body: Any = None
    body_text: str = ""  # the raw body as received (decoded leniently, truncated) for the journal
    raw: bytes | None = None  # the whole body, once read (proxy mode forwards it)
    handle: str = ""  # the TikTok handle, normalised (no leading @)
    problem: Problem | None = None
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def reject(self, problem: Problem, violation: Violation | None = None) -> Checked:
        if self.problem is None:
            self.problem = problem
        if violation is not None:
            self.violations.append(violation)
        return self


@dataclass(frozen=True)
class BodyVerdict:
    """What a request body means for an operation: a pure function of (operation, Content-Type,
    bytes), so it is worked out once per distinct body (`Context.verdicts`). `body` is shared by
    every request that sent these bytes: read it, never change it."""

    body: Any = None
    handle: str = ""
    problem: Problem | None = None
    violations: tuple[Violation, ...] = ()
    warnings: tuple[str, ...] = ()


def request_headers(request: Request) -> dict[str, str]:
    """The request's headers, lower-case names, first value of each: read once per request (a
    Starlette `headers.get` scans and decodes the whole list every time)."""
    headers: dict[str, str] = {}
    for name, value in request.scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def check_request(
    request: Request,
    headers: Mapping[str, str],
    op: Operation,
    ctx: Context,
) -> Checked:
    """In proxy mode (an upstream is set) the upstream decides on the key, so a missing or
    malformed one is recorded but the body is still read and checked (and forwarded)."""
    checked = Checked(op=op)
    verify_keys = ctx.settings.upstream is None
    if op.secured and not _authenticate(headers, ctx.store, checked, verify_keys):
        return checked
    raw = await _read_body(request, headers, ctx.settings.max_body_bytes, checked, ctx.settings.client_timeout)
    if raw is None:
        return checked
    checked.raw = raw
    if op.request_schema is None:
        return checked
    content_type = headers.get("content-type", "")
    verdict = ctx.verdicts.get(
        (op.method, op.path, content_type, raw), raw, lambda: body_verdict(op, content_type, raw, ctx.validator)
    )
    checked.body, checked.handle, checked.problem = verdict.body, verdict.handle, verdict.problem
    checked.violations += verdict.violations
    checked.warnings += verdict.warnings
    return checked


def body_verdict(op: Operation, content_type: str, raw: bytes, validator: ContractValidator) -> BodyVerdict:
    """Content-Type -> JSON -> schema -> handle; the first failure decides the documented error."""
    checked = Checked(op=op)
    if content_type.split(";")[0].strip().lower() != "application/json":
        reason = (
            "Content-Type is missing" if not content_type else f"Content-Type is {content_type!r}, not application/json"
        )
        checked.reject(Problem(400, "invalid_json", reason), Violation("request.headers", "/content-type", reason))
    elif raw or op.request_required:
        _check_body(checked, raw, validator)
    return BodyVerdict(
        checked.body, checked.handle, checked.problem, tuple(checked.violations), tuple(checked.warnings)
    )


def _check_body(checked: Checked, raw: bytes, validator: ContractValidator) -> None:
    op = checked.op
    body = _parse_json(raw, checked)
    if checked.problem:
        return
    checked.body = body
    violations = validator.request_body(op, body)
    if violations:
        checked.violations += violations
        on_handle = any(
            v.pointer.startswith("/handle") or re.search(r"['\"]handle['\"]", v.message) for v in violations
        )  # either quote style
        example = (
            "invalid_json" if not isinstance(body, dict) else ("handle_required" if on_handle else "service_issue")
        )
        checked.reject(Problem(400, example, "; ".join(str(v) for v in violations)))
        return
    for name in validator.unknown_fields(op, body):
        checked.warnings.append(f"body field {name!r} is not in the contract")
    if op.operation_id == TIKTOK_OPERATION:
        _check_handle(checked)


def _authenticate(headers: Mapping[str, str], store: Store, checked: Checked, verify_key: bool = True) -> bool:
    header = headers.get("authorization")
    key = checked.presented = bearer_key(header)
    if key is None:
        reason = "no Authorization header" if header is None else "Authorization is not 'Bearer <key>'"
        violation = Violation("request.headers", "/authorization", reason)
        if not verify_key:  # proxy mode: recorded, and the upstream answers
            checked.violations.append(violation)
            return True
        checked.reject(Problem(401, None, reason), violation)
        return False
    if not verify_key:
        return True  # proxy mode: the upstream decides whether the key is valid
    info = store.find_key(key)
    if info is None or not info.active:
        reason = "unknown API key" if info is None else "inactive API key"
        checked.reject(Problem(401, None, reason))
        return False
    checked.key = info
    return True


async def _read_body(
    request: Request, headers: Mapping[str, str], limit: int, checked: Checked, timeout_s: float
) -> bytes | None:
    """Read at most `limit` bytes within `timeout_s`; reject early on Content-Length, late on a
    lying or chunked stream (without reading past the limit), and give up on a trickling client."""
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        reason = f"body larger than {limit} bytes" if declared.isdigit() else "Content-Length is not a number"
        checked.reject(Problem(400, "invalid_json", reason), Violation("request.body", "", reason))
        return None
    chunks: list[bytes] = []
    size = 0
    complete = True
    # The deadline is a timer that cancels this task: what asyncio.timeout does, at a third of
    # its cost (a tenth of a mock request's own work went to it).
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = asyncio.get_running_loop().call_later(timeout_s, expire)
    try:
        while True:  # ASGI receive, without Request.stream()'s async generator
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                complete = False
                break
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
    except asyncio.CancelledError:
        if not expired:
            raise  # cancelled by someone else (shutdown): not ours to swallow
        task.uncancel()
        checked.reject(Problem(400, "invalid_json", f"body not received within {timeout_s:g} s"))
        return None
    except ClientDisconnect:
        checked.reject(Problem(400, "invalid_json", "client disconnected while sending the body"))
        return None
    finally:
        timer.cancel()
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    checked.body_text = raw[:JOURNAL_WINDOW_BYTES].decode("utf-8", "replace")
    if not complete:
        reason = f"body larger than {limit} bytes"
        checked.reject(Problem(400, "invalid_json", reason), Violation("request.body", "", reason))
        return None
    return raw


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN/Infinity, no lone surrogates, bounded nesting.
    Shared by the mocked operations and the admin API."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise BadJson("body is not valid UTF-8") from None
    except RecursionError:
        raise BadJson("body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise BadJson(f"body is not valid JSON: {exc}") from None
    if SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):  # not text: cannot be echoed or validated
        raise BadJson("body is not valid JSON: a \\u escape is half of a UTF-16 surrogate pair")
    return value


def _parse_json(raw: bytes, checked: Checked) -> Any:
    try:
        return load_json(raw)
    except BadJson as exc:
        reason = str(exc)
    checked.reject(Problem(400, "invalid_json", reason), Violation("request.body", "", reason))
    return None


def _has_lone_surrogate(value: Any) -> bool:
    """Python's json accepts "\\ud800" alone; no UTF-8 encoder (orjson, the journal) does."""
    stack = [value]
    while stack:  # iterative: the body may be nested as deep as the parser allows
        item = stack.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack += item.keys()
            stack += item.values()
        elif isinstance(item, list):
            stack += item
    return False


def _check_handle(checked: Checked) -> None:
    """The page's advice: 'Do not include the @ symbol'. Served (stripped) but flagged."""
    handle: str = checked.body["handle"]
    if handle.startswith("@"):
        checked.warnings.append("handle starts with '@'; the documentation says not to include it")
        handle = handle[1:]
    checked.handle = handle or checked.body["handle"]
    if not handle:
        # Schema-valid (non-empty, or any string with --validation vendor), but names nobody: no such profile.
        checked.reject(
            Problem(404, "profile_not_found", "handle is only '@'" if checked.body["handle"] else "handle is empty")
        )
    elif not (HANDLE.fullmatch(handle) or RESERVED_HANDLE.fullmatch(handle)):
        # Schema-valid, but no TikTok username looks like this: the vendor's upstream finds no profile.
        checked.reject(Problem(404, "profile_not_found", "a TikTok handle is 1-24 letters, digits, '.' or '_'"))
    elif handle.startswith("videos-") and int(handle[7:]) > tiktok.MAX_VIDEO_COUNT:
        # Not a TikTok username ('-'), and past the documented range of the mock's reserved handle.
        checked.reject(Problem(404, "profile_not_found", f"videos-N has at most {tiktok.MAX_VIDEO_COUNT:,} videos"))
