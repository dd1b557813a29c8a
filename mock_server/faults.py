"""What makes an injected fault valid for this contract: a status the operation documents, and
an example that status has. One check for `POST /__admin/faults` and `MockServer.fault()`, so
both refuse the same faults with the same message."""

from __future__ import annotations

from typing import Any, Mapping

from mock_server.contract import Contract


def fault_problem(contract: Contract, spec: Mapping[str, Any]) -> str | None:
    """Why this fault (the admin API's FaultInput, already schema-valid) cannot be injected, or None."""
    status, example = spec.get("status"), spec.get("example")
    if status is None and not spec.get("latency_ms"):
        return "a fault needs a status, a latency_ms, or both"
    if status is None:
        return None
    ops = [op for op in contract.operations if spec.get("operation") in (None, op.operation_id)]
    if not ops:
        return f"no operation {spec.get('operation')!r} in the contract"
    if not any(status in op.statuses for op in ops):
        return f"status {status} is not documented for {', '.join(op.operation_id for op in ops)}"
    if example and not any(example in op.examples(status) for op in ops):
        return f"{status} has no example {example!r}"
    return None
