"""Typed faults: what the mock does wrong, to which requests, and in what order (WireMock's
`Fault` and `Scenario` ideas). ONE schema (openapi/admin.yaml, `FaultInput`) for the admin API
(`POST /__admin/faults`), `serve --fault`, the config file's `faults:` and verify-client's
`--inject`; this module checks what the schema cannot (documented statuses, example names) and
picks the step a request gets.

A fault is `match` (which requests) and `steps` (what each matching request gets, in turn). Each
step is consumed by the next matching request; after the last one, matching requests are served
normally. The listing shows where a sequence stands as WireMock names scenario states: `Started`
before its first step, then `step N`. The original one-step form (`status`, `example`, `count`,
`probability`, `latency_ms`, `operation` at the top level) is still accepted: it lasts `count`
requests, or until cleared.

Step kinds are a closed set: `STATUS` (a documented status and example), `PASS` (normal service,
after the step's latency), and the transport faults, which happen below HTTP
(transport.py): WireMock's four names, plus `STALLED_BODY` (half the body, then nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, Required, TypedDict, cast, get_args

from mock_server.contract.document import Contract, bundled_path, load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.data.tiktok import TIKTOK_OPERATION
from mock_server.exceptions import FaultError
from mock_server.ledger.base import Store
from mock_server.server.secrets import digest, mask

Kind = Literal[
    "STATUS",
    "PASS",
    "CONNECTION_RESET_BY_PEER",
    "EMPTY_RESPONSE",
    "MALFORMED_RESPONSE_CHUNK",
    "RANDOM_DATA_THEN_CLOSE",
    "STALLED_BODY",
]  # the closed set of step kinds (openapi/admin.yaml `FaultKind`, with the short names below)
STATUS: Final = "STATUS"
PASS: Final = "PASS"
RESET: Final = "CONNECTION_RESET_BY_PEER"  # RST: SO_LINGER 0, then close
EMPTY: Final = "EMPTY_RESPONSE"  # close without a byte
MALFORMED: Final = "MALFORMED_RESPONSE_CHUNK"  # a 200 status line and chunked header, a bad chunk, close
RANDOM: Final = "RANDOM_DATA_THEN_CLOSE"  # bytes that are not HTTP, close
STALLED: Final = "STALLED_BODY"  # headers and half the body, then silence until stall_ms, close
TRANSPORT_KINDS: tuple[Kind, ...] = (RESET, EMPTY, MALFORMED, RANDOM, STALLED)
KINDS: tuple[Kind, ...] = get_args(Kind)
SHORT_NAMES: dict[str, Kind] = {
    "reset": RESET,
    "empty": EMPTY,
    "malformed": MALFORMED,
    "random": RANDOM,
    "stall": STALLED,
    "pass": PASS,
    "ok": PASS,
}


class Step(TypedDict, total=False):
    """One step of a fault in its typed form (openapi/admin.yaml `FaultStep`): what the store keeps."""

    kind: Required[Kind]
    status: int  # STATUS and STALLED_BODY only
    example: str  # a named example of `status`
    latency_ms: int
    probability: float  # 0..1: a step whose roll fails is not consumed
    retry_after: int  # a 503's Retry-After
    stall_ms: int  # STALLED_BODY only
    count: int  # how many matching requests the step lasts


STEP_FIELDS = ("kind", "status", "example", "latency_ms", "probability", "retry_after", "stall_ms")
DEFAULT_STALL_MS = 30_000  # longer than most clients' read timeout
CURSOR_FIELD = "maxCursor"  # the TikTok operation's page cursor (its NextPage link)


# --- parsing: the one schema, then what only the contract knows -----------------------------------
def parse_step(raw: Any) -> Step:
    """A step in any of its spellings -> its typed form. `503`, `"502/service_unavailable"`,
    `"reset"` (or `"CONNECTION_RESET_BY_PEER"`), `{"delay_ms": 11000}`, `{"status": 503, "count": 2}`."""
    if isinstance(raw, bool):
        raise FaultError(f"a step is a status, a kind name or an object, not {raw!r}")
    if isinstance(raw, int):
        return {"kind": STATUS, "status": raw, "count": 1}
    if isinstance(raw, str):
        text = raw.strip()
        match = re.fullmatch(r"(\d{3})(?:/([A-Za-z0-9_]+))?", text)
        if match:
            parsed: Step = {"kind": STATUS, "status": int(match.group(1))}
            if match.group(2):
                parsed["example"] = match.group(2)
            parsed["count"] = 1
            return parsed
        kind = SHORT_NAMES.get(text.lower(), text.upper())
        if kind not in KINDS or kind == STATUS:
            raise FaultError(
                f"unknown step {raw!r}: a status (503, 502/service_unavailable) or one of {', '.join(KINDS[1:])} ({', '.join(SHORT_NAMES)})"
            )
        return {"kind": _kind(kind), "count": 1}
    if not isinstance(raw, Mapping):
        raise FaultError(f"a step is a status, a kind name or an object, not {raw!r}")
    step = {name: raw[name] for name in STEP_FIELDS if name in raw}
    if "delay_ms" in raw:  # the and WireMock's word for the same thing
        if "latency_ms" in raw:
            raise FaultError("give latency_ms or delay_ms, not both")
        step["latency_ms"] = raw["delay_ms"]
    step["count"] = raw.get("count", 1)
    return _typed(step)


def _kind(name: str) -> Kind:
    """`name`, known to be one of KINDS, as the type says so."""
    return cast(Kind, name)


def _typed(step: dict[str, Any]) -> Step:
    for name in ("status", "latency_ms", "retry_after", "stall_ms", "count"):
        if name in step and isinstance(step[name], float) and step[name].is_integer():
            step[name] = int(step[name])  # JSON Schema's integer admits 503.0
    kind = str(step.get("kind") or (STATUS if "status" in step else PASS)).upper()
    kind = SHORT_NAMES.get(kind.lower(), kind)
    if kind not in KINDS:
        raise FaultError(f"unknown kind {step.get('kind')!r}; kinds: {', '.join(KINDS)}")
    step["kind"] = kind
    if kind == STATUS and "status" not in step:
        raise FaultError("a STATUS step needs a status")
    if "status" in step and kind not in (STATUS, STALLED):
        raise FaultError(f"{kind} sends no status: drop status (only STATUS and STALLED_BODY have one)")
    if "example" in step and "status" not in step:
        raise FaultError("an example needs its status")
    if "stall_ms" in step and kind != STALLED:
        raise FaultError("stall_ms belongs to a STALLED_BODY step")
    if kind == STALLED:
        step.setdefault("stall_ms", DEFAULT_STALL_MS)
    if "retry_after" in step and step.get("status") != 503:
        raise FaultError("retry_after goes with the documented 503 only")
    return cast(Step, step)  # every field checked above, against admin.yaml's FaultStep before


def parse_fault(body: Mapping[str, Any], contract: Contract) -> tuple[dict[str, Any], int | None]:
    """(what the store keeps, the number of requests it lasts or None) for a fault body that
    passed the schema; FaultError says what the contract does not allow."""
    match = _match(body, contract)
    top = [name for name in (*STEP_FIELDS, "delay_ms") if name in body]
    if "steps" in body:
        if top or "count" in body:
            raise FaultError(f"give steps, or a one-step fault ({', '.join(top or ['count'])}), not both")
        steps = [parse_step(raw) for raw in body["steps"]]
        if not steps:
            raise FaultError("steps is empty")
    else:
        if not any(name in body for name in ("status", "kind")) and not (
            body.get("latency_ms") or body.get("delay_ms")
        ):
            raise FaultError("a fault needs a status, a latency_ms, or both (or a kind, or steps)")
        steps = [parse_step({name: body[name] for name in top})]
        del steps[0]["count"]
        if steps[0]["kind"] == PASS and not steps[0].get("latency_ms"):
            raise FaultError("a PASS fault changes nothing without a latency_ms")
    ops = [op for op in contract.operations if match.get("operation") in (None, op.operation_id)]
    for step in steps:
        status, example = step.get("status"), step.get("example")
        if status is None:
            continue
        if not any(status in op.statuses for op in ops):
            raise FaultError(f"status {status} is not documented for {', '.join(op.operation_id for op in ops)}")
        if example and not any(example in op.examples(status) for op in ops):
            raise FaultError(f"{status} has no example {example!r}")
    if len(steps) == 1 and "steps" not in body:
        spec = {**steps[0], **({"operation": match["operation"]} if "operation" in match else {})}
        return ({**spec, "match": match} if match else spec), body.get("count")
    return {"steps": steps, "match": match}, sum(int(step["count"]) for step in steps)


def fault_problem(contract: Contract, spec: Mapping[str, Any]) -> str | None:
    """Why a schema-valid fault cannot be injected, or None: parse_fault's verdict, for a caller
    that stores the body as given (the original one-step form)."""
    try:
        parse_fault(spec, contract)
    except FaultError as exc:
        return str(exc)
    return None


def _match(body: Mapping[str, Any], contract: Contract) -> dict[str, Any]:
    match = dict(body.get("match") or {})
    if "operation" in body:
        if match.get("operation", body["operation"]) != body["operation"]:
            raise FaultError("operation and match.operation differ")
        match["operation"] = body["operation"]
    if "operation" in match and match["operation"] not in {op.operation_id for op in contract.operations}:
        raise FaultError(f"no operation {match['operation']!r} in the contract")
    if "page" in match and "max_cursor" in match:
        raise FaultError("match a page by page or by max_cursor, not both")
    if "page" in match and match.get("operation", TIKTOK_OPERATION) != TIKTOK_OPERATION:
        raise FaultError(f"page applies to {TIKTOK_OPERATION} only (its maxCursor walk)")
    if "handle" in match:
        match["handle"] = str(match["handle"]).lstrip("@")
    if "key" in match:  # kept as a digest and shown masked: a key never leaves the process
        key = str(match.pop("key"))
        match["key"], match["key_sha256"] = mask(key), digest(key).hex()
    return match


def admin_fault_validator() -> tuple[ContractValidator, Any]:
    """The admin contract's validator and its addFault operation: the one schema of a fault."""
    contract = load_contract(bundled_path("admin.yaml"), overlay=False)
    return ContractValidator(contract), next(op for op in contract.operations if op.operation_id == "addFault")


def check_configured(specs: Iterable[Any], contract: Contract) -> list[tuple[dict[str, Any], int | None]]:
    """The faults of `serve --fault` / `faults:` / DUMPLING_MOCK_FAULTS, checked as the admin API
    checks a body; FaultError names the fault by its position."""
    validator, op = admin_fault_validator()
    checked = []
    for number, spec in enumerate(specs, start=1):
        problems = validator.request_body(op, spec)
        if problems:
            raise FaultError(f"fault {number}: " + "; ".join(str(p) for p in problems))
        try:
            checked.append(parse_fault(spec, contract))
        except FaultError as exc:
            raise FaultError(f"fault {number}: {exc}") from None
    return checked


def install(store: Store, faults: Iterable[tuple[dict[str, Any], int | None]]) -> None:
    for spec, count in faults:
        store.add_fault(spec, count)


def public(fault: Mapping[str, Any]) -> dict[str, Any]:
    """A stored fault as the admin API lists it: the key's digest stays inside, and a sequence
    says where it stands (`Started`, then `step N`)."""
    shown = dict(fault)
    if "match" in shown:
        shown["match"] = {k: v for k, v in shown["match"].items() if k != "key_sha256"}
    steps = steps_of(fault)
    if len(steps) > 1 and fault.get("remaining") is not None:
        index = step_index(steps, int(fault["remaining"]))
        shown["state"] = "Started" if total_requests(steps) == fault["remaining"] else f"step {index + 1}"
    else:
        shown["state"] = "Started"
    return shown


# --- applying: which fault, which step -----------------------------------------------------------
def steps_of(fault: Mapping[str, Any]) -> list[Step]:
    """A sequence's steps, or the one step of the original form (also as verify-client writes it)."""
    if fault.get("steps"):
        return list(fault["steps"])
    step = {name: fault[name] for name in STEP_FIELDS if name in fault}
    step["kind"] = fault.get("kind") or (STATUS if "status" in fault else PASS)
    return [cast(Step, step)]  # a stored fault: parsed by parse_fault when it was added


def total_requests(steps: list[Step]) -> int:
    return sum(int(step.get("count", 1)) for step in steps)


def step_index(steps: list[Step], remaining: int) -> int:
    """The step a request takes when the fault has `remaining` requests left (before taking one)."""
    if len(steps) == 1:
        return 0
    consumed = total_requests(steps) - remaining
    for index, step in enumerate(steps):
        consumed -= int(step.get("count", 1))
        if consumed < 0:
            return index
    return len(steps) - 1
