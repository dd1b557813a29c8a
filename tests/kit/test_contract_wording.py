"""What the contract kit's findings say, word for word (issue 19): what was received, what the
contract expects, with the status; and how findings group (one drift, one finding)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from schemathesis.core.failures import MalformedJson, ServerError
from schemathesis.openapi.checks import JsonSchemaError
from test_contract_checks import LINK, OP, VENDOR, response

from contract_tests import pagination, wording
from contract_tests.findings import CONTRACT, DOCUMENTATION, Classifier, Recorder, response_excerpt


def test_a_403_for_a_missing_key_names_what_happened() -> None:
    title, message, _ = wording.auth_wording(
        "no Authorization header", response(403, {"error": "Insufficient credits. Please top up your account."}), OP
    )
    assert title == "A missing or invalid key gets 403, not 401"
    assert message == (
        'received 403 with the JSON body {"error":"Insufficient credits. Please top up your account."} for a request with no Authorization header '
        "(the contract's 403 means: Insufficient credits to fulfill the request.); "
        'the contract expects 401 with {"error":"API key is invalid or missing."}'
    )


def test_a_served_request_without_a_key_is_not_enforced() -> None:
    title, message, _ = wording.auth_wording("an invalid key", response(200, {"aweme_list": []}), OP)
    assert title == "Authentication is not enforced"
    assert (
        message
        == 'received 200 with the JSON body {"aweme_list":[]} for a request with an invalid key: it was served; the contract expects 401 with {"error":"API key is invalid or missing."}'
    )


def test_a_server_error_with_an_empty_body_says_so() -> None:
    title, message, cause = wording.reword(
        "not_a_server_error", ServerError(operation="POST /x", status_code=500), response(500, b"")
    )
    assert (title, cause) == ("Server error", "server error")
    assert (
        message
        == "received 500 with an empty body; the contract expects a documented answer to this request, not a 500"
    )


def test_the_response_excerpt_shows_an_empty_body() -> None:
    assert (
        response_excerpt(response(502, b"", {"content-type": "application/json"}))
        == "502\ncontent-type: application/json\n(empty body)"
    )


def test_an_empty_json_body_is_not_called_a_content_type_problem() -> None:
    try:
        json.loads("")
    except json.JSONDecodeError as exc:
        failure = MalformedJson.from_exception(operation="POST /x", exc=exc)
    title, message, cause = wording.reword(
        "response_schema_conformance", failure, response(200, b"", {"content-type": "application/json"})
    )
    assert (title, cause) == ("Body is not JSON", "empty body")
    assert (
        message == "received 200 with Content-Type application/json and an empty body; the contract expects a JSON body"
    )


def test_a_boolean_has_more_is_named_in_words() -> None:
    root = {"type": "object", "properties": {"has_more": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}
    error = next(jsonschema_rs.validator_for(root).iter_errors({"has_more": True}))
    failure = JsonSchemaError.from_exception(operation="POST /x", exc=error, root_schema=root)
    title, message, cause = wording.reword("response_schema_conformance", failure, response(200, {"has_more": True}))
    assert title == "Body breaks the contract's schema"
    assert message == "received 200 where has_more is the boolean true; the contract expects an integer or null"
    assert cause == "has_more: anyOf"


def test_a_missing_field_is_named() -> None:
    root = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
    error = next(jsonschema_rs.validator_for(root).iter_errors({"message": "x"}))
    failure = JsonSchemaError.from_exception(operation="POST /x", exc=error, root_schema=root)
    _, message, cause = wording.reword("response_schema_conformance", failure, response(400, {"message": "x"}))
    assert message == "received 400 where the body has no 'error' field; the contract requires 'error'"
    assert cause == "the body: required"


def test_a_numeric_cursor_is_named_as_a_number() -> None:
    first = response(
        200, {"aweme_list": [{"aweme_id": "1", "create_time": 1732671757}], "max_cursor": 1732671757000, "has_more": 1}
    )
    last = response(
        200,
        {"aweme_list": [{"aweme_id": "2", "create_time": 1732671000}], "max_cursor": "1732671000000", "has_more": 0},
    )
    served = iter([last, response(200, {"aweme_list": [], "max_cursor": "0", "has_more": 0})])
    walk = pagination.walk(first, lambda cursor: next(served), LINK, 5)
    assert [p.message for p in walk.problems] == [
        'page 1 (status 200): max_cursor is the number 1732671757000; the contract expects a numeric string ("1732671757000"), which the walk sends as maxCursor'
    ]
    assert walk.reached_end  # the walk went on with the string


# --- one drift, one finding ------------------------------------------------------------------------
def recorder() -> Recorder:
    return Recorder(Classifier(VENDOR), [], {})


def test_one_cause_on_several_statuses_is_one_finding_and_says_why_its_class_differs() -> None:
    rec = recorder()
    for status in (400, 404, 401, 400, 403):
        body = {"message": f"message of {status}"}
        message = f'received {status} with the JSON body {json.dumps(body)}; the contract expects {{"error": <string>}}'
        rec.add("error_body_documented", response(status, body), "Error body is not the documented one", message)
    [finding] = rec.findings.values()
    assert finding.count == 5 and finding.kind == CONTRACT
    assert finding.statuses == {400: CONTRACT, 401: DOCUMENTATION, 403: CONTRACT, 404: CONTRACT}
    assert finding.classification() == (
        "a contract violation on 400, 403, 404 (the vendor's YAML alone flags those responses) and documentation drift on 401 "
        "(only the prose overlay documents that part); counted once, as a contract violation"
    )
    assert sorted(finding.messages) == [400, 401, 403, 404]


def test_different_causes_stay_apart() -> None:
    rec = recorder()
    rec.add(
        "pagination_walk",
        response(200, {}),
        "Pagination is inconsistent",
        "has_more=1 on page 2, which is empty (status 200, maxCursor=5); x",
    )
    rec.add(
        "pagination_walk",
        response(200, {}),
        "Pagination is inconsistent",
        "has_more=1 on page 3, which is empty (status 200, maxCursor=7); x",
    )
    rec.add(
        "pagination_walk",
        response(200, {}),
        "Pagination is inconsistent",
        "duplicate aweme_id 1: on page 1 and again on page 2",
    )
    assert sorted(f.count for f in rec.findings.values()) == [1, 2]


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "string", "pattern": "^[0-9]+$"}, "a string matching ^[0-9]+$"),
        ({"type": "integer", "nullable": True}, "an integer or null"),
        ({"enum": ["API", "WEB"]}, 'one of "API", "WEB"'),
        ({"type": ["string", "null"], "minLength": 1}, "a string or null of at least 1 character(s)"),
    ],
)
def test_schemas_in_words(schema: dict[str, Any], words: str) -> None:
    assert wording.schema_words(schema) == words


# --- page joins ------------------------------------------------------------------------------------
def page_of(items: list[tuple[str, int]], has_more: int = 1) -> Any:
    videos = [{"aweme_id": i, "create_time": t} for i, t in items]
    return pagination.Page(
        "",
        videos,
        response(
            200, {"aweme_list": videos, "max_cursor": str(items[-1][1] * 1000) if items else "0", "has_more": has_more}
        ),
    )


def test_a_join_that_loses_a_video_is_named() -> None:
    before = page_of([("a", 100), ("b", 90), ("c", 80)])
    after = pagination.Page("79000", [{"aweme_id": "e", "create_time": 60}], response(200, {}))
    asked: list[str] = []

    def fetch(cursor: str) -> Any:
        asked.append(cursor)
        return response(
            200,
            {
                "aweme_list": [
                    {"aweme_id": "c", "create_time": 80},
                    {"aweme_id": "d", "create_time": 70},
                    {"aweme_id": "e", "create_time": 60},
                ]
            },
        )

    [problem] = pagination.check_join(before, after, fetch, LINK, 1)
    assert asked == ["90000"]  # the second-oldest video's time, in the cursor's unit
    assert problem.message == (
        "page join 1->2: 1 video(s) between the oldest of page 1 and the first of page 2 are on neither page (aweme_id d); "
        "max_cursor of page 1 was 79000, the contract's next page starts right after the page's oldest video"
    )


def test_a_join_probe_steps_over_videos_of_the_same_second() -> None:
    before = page_of([("a", 100), ("b", 80), ("c", 80)])
    after = pagination.Page("80000", [{"aweme_id": "d", "create_time": 70}], response(200, {}))
    asked: list[str] = []

    def fetch(cursor: str) -> Any:
        asked.append(cursor)
        return response(
            200,
            {
                "aweme_list": [
                    {"aweme_id": "b", "create_time": 80},
                    {"aweme_id": "c", "create_time": 80},
                    {"aweme_id": "d", "create_time": 70},
                ]
            },
        )

    assert pagination.check_join(before, after, fetch, LINK, 1) == [] and asked == ["100000"]


# --- the search for the last page --------------------------------------------------------------------
def test_the_end_search_finds_the_last_page_of_a_profile_it_knows_nothing_about() -> None:
    from mock_server.data import tiktok

    profile = tiktok.Profile(1, "anyone", 215)
    sent: list[str] = []

    def fetch(cursor: str) -> Any:
        sent.append(cursor)
        return response(200, tiktok.page(profile, cursor))

    head = pagination.walk(response(200, tiktok.page(profile, None)), fetch, LINK, 3)
    assert not head.reached_end and head.last_cursor
    search = pagination.find_end(head.last_cursor, fetch, LINK, 12, 10)
    assert sent[2] == "1" and search.found is not None and search.problems == []  # first a cursor far in the past
    assert search.requests == 7
    before = pagination.before_last(search, 10)
    tail = pagination.walk(fetch(before), fetch, LINK, 3, asked=before, label="end page")
    assert tail.problems == [] and tail.reached_end and tail.pages == 2  # the last two pages, then one more request
    assert tail.read[-1].items[-1]["aweme_id"] == tiktok.video(profile, 214)["aweme_id"]  # the oldest video of all


def test_a_next_page_that_is_not_json_is_not_called_empty() -> None:
    first = response(
        200,
        {"aweme_list": [{"aweme_id": "1", "create_time": 1732671757}], "max_cursor": "1732671757000", "has_more": 1},
    )
    walk = pagination.walk(first, lambda cursor: response(200, b"", {"content-type": "application/json"}), LINK, 5)
    assert [p.message for p in walk.problems] == [
        "max_cursor 1732671757000 of page 1 sent back as maxCursor got status 200 with an empty body (Content-Type application/json), no aweme_list; "
        "the contract expects the next, older page"
    ]


def test_a_missing_authorization_answered_with_403_is_named() -> None:
    from schemathesis.openapi.checks import MissingHeaderNotRejected

    failure = MissingHeaderNotRejected(
        operation="POST /x", header_name="Authorization", status_code=403, expected_statuses=[401], message=""
    )
    title, message, _ = wording.reword(
        "missing_required_header",
        failure,
        response(403, {"error": "Insufficient credits. Please top up your account."}),
    )
    assert title == "A request without a required header was not rejected as documented"
    assert message == (
        'received 403 with the JSON body {"error":"Insufficient credits. Please top up your account."} for a request without the required header '
        "Authorization; the contract expects 401"
    )
