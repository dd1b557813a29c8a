"""Exact values of pipeline/negotiate.py: which status, example, source and error text each way of asking
for a documented response gives (README: "Every documented response ... on demand").

In-process and fast; the operation is built here, so every expected value follows from it (the
README's wording for the 400s: a code not documented lists the documented codes, an unknown
example lists that status's names)."""

from __future__ import annotations

from typing import Any

from mock_server.contract.document import Operation, load_contract
from mock_server.pipeline.negotiate import Override, from_handle, from_prefer


def _media(*names: str) -> dict[str, Any]:
    return {"content": {"application/json": {"examples": {n: {"value": {"error": n}} for n in names}}}}


OP = Operation(
    operation_id="op",
    method="POST",
    path="/p",
    request_schema=None,
    request_required=True,
    responses={"200": _media("page"), "404": _media("not_found"), "500": _media("first", "second"), "default": {}},
    secured=True,
    credit_cost=10,
    raw={},
)
CODES = "200, 404, 500"  # the operation's documented numeric statuses, sorted ("default" is not one)


def test_override_defaults_are_no_latency_no_error_no_transport() -> None:
    o = Override(404, None, "Prefer header")
    assert (o.latency_ms, o.error, o.transport, o.retry_after, o.stall_ms) == (0, "", "", None, 0)


def test_prefer_absent_or_without_code_or_example_is_no_override() -> None:
    assert from_prefer(None, OP) is None
    assert from_prefer("", OP) is None
    assert from_prefer("respond-async, wait=5", OP) is None


def test_prefer_code_alone_gives_the_first_example_later() -> None:
    assert from_prefer("code=500", OP) == Override(500, None, "Prefer header")


def test_prefer_code_and_example_in_either_separator_and_case() -> None:
    assert from_prefer("code=500, example=second", OP) == Override(500, "second", "Prefer header")
    assert from_prefer('Code = 500 ; Example = "second"', OP) == Override(500, "second", "Prefer header")
    assert from_prefer("example=second,code=500", OP) == Override(500, "second", "Prefer header")


def test_prefer_unparseable_parts_are_ignored() -> None:
    assert from_prefer("handling=lenient, code=404", OP) == Override(404, None, "Prefer header")
    assert from_prefer("code=404, nonsense", OP) == Override(404, None, "Prefer header")


def test_prefer_example_alone_picks_the_status_that_owns_it() -> None:
    assert from_prefer("example=second", OP) == Override(500, "second", "Prefer header")
    assert from_prefer("example=not_found", OP) == Override(404, "not_found", "Prefer header")
    assert from_prefer("example=page", OP) == Override(200, "page", "Prefer header")


def test_prefer_example_alone_unknown_is_a_400_naming_it() -> None:
    assert from_prefer("example=nope", OP) == Override(
        400, None, "Prefer header", error="Prefer: example=nope is not a named example of this operation"
    )


def test_prefer_empty_example_with_code_means_the_first() -> None:
    assert from_prefer("code=500, example=", OP) == Override(500, None, "Prefer header")


def test_prefer_undocumented_code_lists_the_documented_codes() -> None:
    assert from_prefer("code=418", OP) == Override(
        400,
        None,
        "Prefer header",
        error=f"Prefer: code=418 is not documented for this operation; documented codes: {CODES}",
    )
    assert from_prefer("code=abc", OP) == Override(
        400,
        None,
        "Prefer header",
        error=f"Prefer: code=abc is not documented for this operation; documented codes: {CODES}",
    )


def test_prefer_example_of_another_status_lists_that_status_names() -> None:
    assert from_prefer("code=500, example=page", OP) == Override(
        400, None, "Prefer header", error="Prefer: example=page is not an example of 500; it has: first, second"
    )


def test_prefer_example_of_a_status_without_examples_says_none() -> None:
    op = Operation("op", "POST", "/p", None, True, {"204": {}, "404": _media("not_found")}, True, 0, {})
    assert from_prefer("code=204, example=x", op) == Override(
        400, None, "Prefer header", error="Prefer: example=x is not an example of 204; it has: none"
    )


def test_reserved_handles() -> None:
    assert from_handle("someone", OP) is None
    assert from_handle("error-5000", OP) is None  # three digits exactly
    assert from_handle("xerror-500", OP) is None
    assert from_handle("error-500", OP) == Override(500, None, "reserved handle")
    assert from_handle("error-500-second", OP) == Override(500, "second", "reserved handle")
    assert from_handle("error-418", OP) == Override(
        400,
        None,
        "reserved handle",
        error=f"reserved handle 'error-418': code 418 is not documented for this operation; documented codes: {CODES}",
    )
    assert from_handle("error-500-nope", OP) == Override(
        400,
        None,
        "reserved handle",
        error="reserved handle 'error-500-nope': example nope is not an example of 500; it has: first, second",
    )


def test_bundled_contract_readme_examples() -> None:
    """The README's table: `Prefer: code=500, example=service_not_configured`, `error-502-service_unavailable`."""
    op = load_contract().operation("POST", "/api/v1/get-tiktok-profile-videos")
    assert op is not None
    assert from_prefer("code=500, example=service_not_configured", op) == Override(
        500, "service_not_configured", "Prefer header"
    )
    assert from_prefer("example=service_unavailable", op) == Override(502, "service_unavailable", "Prefer header")
    assert from_handle("error-502-service_unavailable", op) == Override(502, "service_unavailable", "reserved handle")
    assert from_handle("error-418", op) == Override(
        400,
        None,
        "reserved handle",
        error="reserved handle 'error-418': code 418 is not documented for this operation; documented codes: 200, 400, 401, 403, 404, 500, 502, 503",
    )
