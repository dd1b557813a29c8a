"""Stage 4, validate response: check what is about to be sent against the contract.

A violation here means the mock itself (or, in proxy mode, the upstream) departs from the
contract; it is journaled and shown in the `X-Mock-Violations` header, never hidden.
"""

from __future__ import annotations

from typing import Mapping

from mock_server.contract import Operation
from mock_server.validator import ContractValidator, Violation

HEADER_LIMIT = 1024


def check_response(validator: ContractValidator, op: Operation, status: int, headers: Mapping[str, str], body: bytes) -> list[Violation]:
    return validator.response(op, status, headers, body)


def violations_header(violations: list[Violation]) -> str:
    """One header value listing the violations, short enough for any proxy."""
    text = "; ".join(str(v) for v in violations)
    text = text.encode("ascii", "backslashreplace").decode()
    return text if len(text) <= HEADER_LIMIT else text[: HEADER_LIMIT - 1] + "…".encode("ascii", "backslashreplace").decode()
