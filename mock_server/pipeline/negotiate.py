"""The ways a user asks the mock for a specific documented response, in precedence order:

1. `Prefer: code=NNN[, example=NAME]` (Stoplight Prism's convention), per request;
2. an injected fault (`POST /__admin/faults`, `serve --fault`): pipeline/inject_faults.py picks the step;
3. a reserved handle, `error-NNN` or `error-NNN-NAME`, for clients that cannot set headers.

All three need a valid key and a valid request: a request without a key gets the documented 401,
and a broken request its documented 400/404, first (README: the order of checks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mock_server.contract.document import Operation

PREFER_ITEM = re.compile(r"\s*([a-zA-Z_]+)\s*=\s*\"?([^\",;]*)\"?\s*")
RESERVED_ERROR = re.compile(r"error-(\d{3})(?:-([A-Za-z0-9_]+))?")


@dataclass(frozen=True)
class Override:
    status: int
    example: str | None
    source: str  # "Prefer header", "fault 3", "reserved handle"
    latency_ms: int = 0
    error: str = ""  # set when the request for an override is itself wrong
    transport: str = ""  # a fault below HTTP (faults.spec.TRANSPORT_KINDS), done by faults/transport.py
    retry_after: int | None = None  # a fault step's Retry-After for its 503
    stall_ms: int = 0  # how long a STALLED_BODY response stays silent


def from_prefer(header: str | None, op: Operation) -> Override | None:
    """Parse `Prefer: code=404, example=profile_not_found` (either part may be alone)."""
    if not header:
        return None
    fields = {}
    for part in re.split(r"[,;]", header):
        match = PREFER_ITEM.fullmatch(part)
        if match:
            fields[match.group(1).lower()] = match.group(2).strip()
    if "code" not in fields and "example" not in fields:
        return None
    example = fields.get("example") or None
    if "code" in fields:
        return _documented(
            fields["code"], example, op, "Prefer header", f"Prefer: code={fields['code']}", "Prefer: example="
        )
    owners = [s for s in op.statuses if example in op.examples(s)]
    if not owners:
        return Override(
            400, None, "Prefer header", error=f"Prefer: example={example} is not a named example of this operation"
        )
    return _documented(str(owners[0]), example, op, "Prefer header", "", "Prefer: example=")


def _documented(
    code: str, example: str | None, op: Operation, source: str, asked: str, example_prefix: str
) -> Override:
    """The override for (code, example), or the 400 that lists what the contract documents:
    one wording for `Prefer` and reserved handles, so a typo in either is answered alike."""
    if not code.isdigit() or int(code) not in op.statuses:
        documented = ", ".join(str(s) for s in op.statuses)
        return Override(
            400, None, source, error=f"{asked} is not documented for this operation; documented codes: {documented}"
        )
    status = int(code)
    if example and example not in op.examples(status):
        names = ", ".join(op.examples(status)) or "none"
        return Override(
            400, None, source, error=f"{example_prefix}{example} is not an example of {status}; it has: {names}"
        )
    return Override(status, example, source)


def from_handle(handle: str, op: Operation) -> Override | None:
    match = RESERVED_ERROR.fullmatch(handle)
    if not match:
        return None
    code, example = match.group(1), match.group(2)
    return _documented(
        code,
        example,
        op,
        "reserved handle",
        f"reserved handle {handle!r}: code {code}",
        f"reserved handle {handle!r}: example ",
    )
