"""Stage 6 (send), validate response: check what is about to be sent against the contract.

A violation here means the mock itself (or, in proxy mode, the upstream) departs from the
contract; it is journaled and shown in the `X-Mock-Violations` header, never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mock_server.contract.document import Operation
from mock_server.contract.validator import ContractValidator, Violation
from mock_server.server.secrets import mask_text

HEADER_LIMIT = 1024


def check_response(
    validator: ContractValidator, op: Operation, status: int, headers: Mapping[str, str], body: bytes
) -> list[Violation]:
    return validator.response(op, status, headers, body)


def violations_header(violations: list[Violation], keys: Iterable[str] = ()) -> str:
    """One header value listing the violations, short enough for any proxy; `keys` are masked
    before the cut (an upstream may echo the client's key in a value the violation quotes)."""
    return header_value(mask_text("; ".join(str(v) for v in violations), keys), HEADER_LIMIT)


def header_value(text: str, limit: int) -> str:
    """Text any HTTP server can send as a header value (RFC 9110 field-value: visible ASCII and
    spaces): non-ASCII and control characters (which uvicorn refuses, dropping the connection)
    are backslash-escaped, and the result is cut to `limit`."""
    text = text.encode("ascii", "backslashreplace").decode()
    text = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…".encode("ascii", "backslashreplace").decode()
