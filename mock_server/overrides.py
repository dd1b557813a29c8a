"""The ways a user asks the mock for a specific documented response, in precedence order:

1. `Prefer: code=NNN[, example=NAME]` (Stoplight Prism's convention), per request;
2. an injected fault (`POST /__admin/faults`), for the next N requests or with a probability;
3. a reserved handle, `error-NNN` or `error-NNN-NAME`, for clients that cannot set headers.

All three need a valid key (a request without one gets the documented 401 first).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from mock_server.contract import Operation
from mock_server.state import Store

PREFER_ITEM = re.compile(r"\s*([a-zA-Z_]+)\s*=\s*\"?([^\",;]*)\"?\s*")
RESERVED_ERROR = re.compile(r"error-(\d{3})(?:-([A-Za-z0-9_]+))?")


@dataclass(frozen=True)
class Override:
    status: int
    example: str | None
    source: str  # "Prefer header", "fault 3", "reserved handle"
    latency_ms: int = 0
    error: str = ""  # set when the request for an override is itself wrong


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
        if not fields["code"].isdigit() or int(fields["code"]) not in op.statuses:
            documented = ", ".join(str(s) for s in op.statuses)
            return Override(400, None, "Prefer header", error=f"Prefer: code={fields['code']} is not documented for this operation; documented codes: {documented}")
        status = int(fields["code"])
    else:
        owners = [s for s in op.statuses if example in op.examples(s)]
        if not owners:
            return Override(400, None, "Prefer header", error=f"Prefer: example={example} is not a named example of this operation")
        status = owners[0]
    if example and example not in op.examples(status):
        names = ", ".join(op.examples(status)) or "none"
        return Override(400, None, "Prefer header", error=f"Prefer: example={example} is not an example of {status}; it has: {names}")
    return Override(status, example, "Prefer header")


def from_faults(store: Store, op: Operation, rng: random.Random) -> Override | None:
    """The first active fault that applies to this request (latency-only faults add up)."""
    latency = 0
    for fault in store.faults():
        if fault.get("operation") not in (None, op.operation_id):
            continue
        if fault.get("probability", 1.0) < 1.0 and rng.random() >= fault["probability"]:
            continue
        if fault["remaining"] is not None and not store.take_fault(fault["id"]):
            continue
        latency += int(fault.get("latency_ms", 0))
        if fault.get("status"):
            return Override(int(fault["status"]), fault.get("example"), f"fault {fault['id']}", latency)
    return Override(0, None, "fault", latency) if latency else None


def from_handle(handle: str, op: Operation) -> Override | None:
    match = RESERVED_ERROR.fullmatch(handle)
    if not match:
        return None
    status, example = int(match.group(1)), match.group(2)
    if status not in op.statuses or (example and example not in op.examples(status)):
        return Override(400, "handle_unprocessable", "reserved handle", error="")
    return Override(status, example, "reserved handle")
