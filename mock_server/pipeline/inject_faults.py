"""Stage 3 (decide), inject faults: the fault step (or the latency) that applies to this request, taken
from the ledger's standing faults (faults/spec.py says what a fault is; this says which one a
request meets, and consumes its step)."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from typing import Any

from mock_server.data import quirks, tiktok
from mock_server.data.tiktok import TIKTOK_OPERATION
from mock_server.faults.spec import CURSOR_FIELD, PASS, STATUS, TRANSPORT_KINDS, step_index, steps_of
from mock_server.ledger.base import Store
from mock_server.pipeline.negotiate import Override
from mock_server.pipeline.validate_request import Checked
from mock_server.settings import Settings


def matches(fault: Mapping[str, Any], checked: Checked, settings: Settings) -> bool:
    match: Mapping[str, Any] = fault.get("match") or {}
    operation = match.get("operation", fault.get("operation"))
    if operation not in (None, checked.op.operation_id):
        return False
    if "handle" in match and checked.handle != match["handle"]:
        return False
    if "key_sha256" in match and (checked.key is None or checked.key.digest.hex() != match["key_sha256"]):
        return False
    cursor = checked.body.get(CURSOR_FIELD) if isinstance(checked.body, dict) else None
    if "max_cursor" in match and cursor != match["max_cursor"]:
        return False
    if "page" in match:
        return (
            checked.op.operation_id == TIKTOK_OPERATION and page_of(checked.handle, cursor, settings) == match["page"]
        )
    return True


def page_of(handle: str, cursor: Any, settings: Settings) -> int | None:
    """Which page of `handle`'s walk a cursor asks for (1: none), or None for any other cursor."""
    if not handle or not (cursor is None or isinstance(cursor, str)):
        return None
    try:
        count = tiktok.video_count(settings.seed, handle, settings.handles)
        profile = tiktok.Profile(settings.seed, handle, count, settings.page_size)
        if settings.quirks:  # page sizes vary: follow the quirky walk's cursors (README "Data fidelity ...")
            return quirks.page_number(profile, cursor, settings.quirks)
        return tiktok.page_number(profile, cursor)
    except ValueError:  # InvalidCursor included
        return None


def from_faults(store: Store, checked: Checked, settings: Settings, rng: random.Random) -> Override | None:
    """The first fault step that applies to this request; PASS steps and latency-only faults add
    their latency and let the next fault apply too. A step whose probability roll fails is not
    consumed: the request is served normally and the step waits for the next matching request."""
    latency = 0
    for fault in store.faults():
        if not matches(fault, checked, settings):
            continue
        steps, remaining = steps_of(fault), fault["remaining"]
        step = steps[step_index(steps, remaining) if remaining is not None else 0]
        if step.get("probability", 1.0) < 1.0 and rng.random() >= step["probability"]:
            continue
        if remaining is not None:
            before = store.take_fault(fault["id"])
            if not before:
                continue
            step = steps[step_index(steps, before)]
            source = (
                f"fault {fault['id']}"
                if len(steps) == 1
                else f"fault {fault['id']} step {step_index(steps, before) + 1} of {len(steps)}"
            )
        else:
            source = f"fault {fault['id']}"
        latency += int(step.get("latency_ms", 0))
        kind, status = step["kind"], int(step.get("status") or 0)
        if kind == STATUS and not (200 <= status < 300 and not step.get("example")):
            return Override(status, step.get("example"), source, latency, retry_after=step.get("retry_after"))
        if kind in TRANSPORT_KINDS:
            return Override(
                status, step.get("example"), source, latency, transport=kind, stall_ms=int(step.get("stall_ms", 0))
            )
    return Override(0, None, "fault", latency) if latency else None


def latency_only(store: Store, op_id: str) -> Override | None:
    """For a request that failed validation: the latency of the standing PASS faults (`--latency`)
    that match any request of the operation, without taking a step meant for a valid request."""
    latency = 0
    for fault in store.faults():
        match = fault.get("match") or {}
        steps = steps_of(fault)
        if fault["remaining"] is not None or len(steps) != 1 or steps[0]["kind"] != PASS:
            continue
        if set(match) - {"operation"} or match.get("operation", fault.get("operation")) not in (None, op_id):
            continue
        latency += int(steps[0].get("latency_ms", 0))
    return Override(0, None, "fault", latency) if latency else None


def retry_after(status: int, override: Override | None, settings: Settings, now: float | None = None) -> int | None:
    """Seconds for a 503's `Retry-After`: the fault step's own value, else the `--retry-after`
    switch (off by default: the vendor's page does not document the header): a fixed number, or
    `window`, the seconds until the key's rate-limit window starts again."""
    if status != 503:
        return None
    if override is not None and override.retry_after is not None:
        return override.retry_after
    setting = settings.retry_after
    if setting == "off":
        return None
    if setting == "window":
        period = settings.rate_limit.period_s
        now = time.time() if now is None else now
        return max(1, math.ceil(period - now % period))
    return int(setting)
