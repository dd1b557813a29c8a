"""Exact values of pipeline/problems.py: which documented body a Problem gets, with `[handle]` and
`[specific error message]` filled (README: "`[handle]` and `[specific error message]` in
documented messages are filled in"). The operation is built here, so each expected body follows
from its examples and `x-placeholders`."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.contract.document import Operation, load_contract
from mock_server.exceptions import UnknownExample
from mock_server.pipeline.problems import PLACEHOLDER, Problem, error_body, example_names, fill


def _example(value: Any, placeholders: dict[str, str] | None = None) -> dict[str, Any]:
    return {"value": value, **({"x-placeholders": placeholders} if placeholders else {})}


OP = Operation(
    operation_id="op",
    method="POST",
    path="/p",
    request_schema=None,
    request_required=True,
    responses={
        "404": {
            "content": {
                "application/json": {"examples": {"profile_not_found": _example({"error": "not found: [handle]"})}}
            }
        },
        "500": {
            "content": {
                "application/json": {
                    "examples": {
                        "unexpected": _example(
                            {"error": "[specific error message]"},
                            {"specific error message": "Request failed with status code 500"},
                        ),
                        "other": _example({"error": "Oops: [something else]", "nested": {"h": "[handle]"}, "n": 3}),
                    }
                }
            }
        },
        "418": {"description": "no body"},
    },
    secured=True,
    credit_cost=10,
    raw={},
)


def test_problem_defaults() -> None:
    assert (Problem(404).example, Problem(404).reason) == (None, "")


def test_example_names_in_document_order() -> None:
    assert example_names(OP, 500) == ["unexpected", "other"]
    assert example_names(OP, 418) == []


def test_first_example_is_the_default_and_handle_is_filled() -> None:
    assert error_body(OP, Problem(404), handle="kim.k") == ("profile_not_found", {"error": "not found: kim.k"})


def test_handle_defaults_to_empty() -> None:
    assert error_body(OP, Problem(404)) == ("profile_not_found", {"error": "not found: "})


def test_specific_error_message_from_x_placeholders() -> None:
    assert error_body(OP, Problem(500, None, "why")) == ("unexpected", {"error": "Request failed with status code 500"})


def test_other_placeholders_take_the_reason_or_a_default_and_nested_values_are_filled() -> None:
    assert error_body(OP, Problem(500, "other", "fault 2"), handle="al") == (
        "other",
        {"error": "Oops: fault 2", "nested": {"h": "al"}, "n": 3},
    )
    assert error_body(OP, Problem(500, "other"), handle="al")[1]["error"] == "Oops: simulated by the mock"


def test_status_without_examples_gets_its_http_phrase() -> None:
    assert error_body(OP, Problem(418)) == (None, {"error": "I'm a Teapot"})
    assert error_body(OP, Problem(599)) == (None, {"error": "HTTP 599"})


def test_unknown_example_names_what_the_status_has() -> None:
    with pytest.raises(UnknownExample) as caught:
        error_body(OP, Problem(500, "nope"))
    assert str(caught.value) == "500 has no example 'nope'; it has: unexpected, other"


def test_fill_leaves_non_placeholders_alone() -> None:
    assert fill("no brackets", {}, "d") == "no brackets"
    assert fill("[]", {}, "d") == "[]"  # empty brackets are not a placeholder
    assert fill("[a[b]]", {"b": "B"}, "d") == "[aB]"  # innermost only
    assert fill(["[x]"], {"x": "X"}, "d") == ["[x]"]  # lists are left as they are
    assert fill(7, {}, "d") == 7
    assert fill("[" + "x" * 64 + "]", {}, "d") == "d"
    assert fill("[" + "x" * 65 + "]", {}, "d") == "[" + "x" * 65 + "]"
    assert PLACEHOLDER.pattern == r"\[([^\[\]]{1,64})\]"  # the limit above, named


def test_bundled_contract_fills_the_vendor_texts() -> None:
    """README: 404 `TikTok profile not found for handle: <handle>`; 500 `Request failed with status code 500`."""
    op = load_contract().operation("POST", "/api/v1/get-tiktok-profile-videos")
    assert op is not None
    assert error_body(op, Problem(404), handle="kim.k") == (
        "profile_not_found",
        {"error": "TikTok profile not found for handle: kim.k"},
    )
    name, body = error_body(op, Problem(500))
    assert name == "unexpected_error"
    assert "[" not in str(body)
