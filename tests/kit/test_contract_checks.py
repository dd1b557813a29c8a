"""The contract kit's rules one by one, on hand-made responses: fast, and each assertion names the
rule it pins. The end-to-end proof (the kit run against drifted mocks) is test_contract_kit.py.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from contract_tests import pagination
from contract_tests.budget import Budget
from contract_tests.checks import DomainChecks
from contract_tests.findings import CONTRACT, DOCUMENTATION, Classifier
from contract_tests.kit import _paginated_operation
from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator

EFFECTIVE = load_contract()
VENDOR = load_contract(overlay=False)
OP, LINK = _paginated_operation(EFFECTIVE)
EXAMPLE: dict[str, Any] = next(iter(OP.examples(200).values()))
URL = "http://target.test" + OP.path


def response(status: int, body: Any, headers: dict[str, str] | None = None, request: Any = None) -> Any:
    """What the checks read of a schemathesis Response."""
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    default = {"content-type": "application/json"} if not isinstance(body, bytes) else {}
    sent = orjson.dumps(request) if request is not None else b""
    return SimpleNamespace(
        status_code=status,
        headers={k.lower(): [v] for k, v in {**default, **(headers or {})}.items()},
        content=content,
        message="",
        request=SimpleNamespace(method=OP.method, url=URL, headers={}, body=sent),
    )


def case(body: Any = None, method: str | None = None) -> Any:
    return SimpleNamespace(
        method=method or OP.method, operation=SimpleNamespace(path=OP.path), body=body or {"handle": "stoolpresidente"}
    )


def failure(check: Any, *args: Any) -> str:
    """The message a check raises, or "" when it passes."""
    try:
        check(None, *args)
    except AssertionError as exc:
        return str(exc)
    return ""


@pytest.fixture
def checks() -> DomainChecks:
    return DomainChecks(EFFECTIVE, ContractValidator(EFFECTIVE), Budget(None))


def rate_headers(limit: str, remaining: str | None) -> dict[str, str]:
    return {"X-RateLimit-Limit": limit, **({"X-RateLimit-Remaining": remaining} if remaining is not None else {})}


# --- rate_limit_headers --------------------------------------------------------------------------
def test_rate_limit_headers_required_integer_and_bounded(checks: DomainChecks) -> None:
    assert failure(checks.rate_limit_headers, response(200, EXAMPLE, rate_headers("1000", "999")), case()) == ""
    assert "X-RateLimit-Remaining is missing" in failure(
        checks.rate_limit_headers, response(200, EXAMPLE, rate_headers("1000", None)), case()
    )
    assert "not a non-negative integer" in failure(
        checks.rate_limit_headers, response(200, EXAMPLE, rate_headers("1000", "9.5")), case()
    )
    assert "more than X-RateLimit-Limit" in failure(
        checks.rate_limit_headers, response(200, EXAMPLE, rate_headers("10", "11")), case()
    )
    # Optional on errors (a 401 happens before the key is known): absent is fine.
    assert failure(checks.rate_limit_headers, response(401, {"error": "API key is invalid or missing."}), case()) == ""


def test_remaining_rises_only_when_a_new_window_can_have_started(checks: DomainChecks) -> None:
    def observe(remaining: int, requests_since: int = 1) -> str:
        checks.budget.used += requests_since
        return failure(checks.rate_limit_headers, response(200, EXAMPLE, rate_headers("1000", str(remaining))), case())

    assert observe(999) == observe(998) == observe(990, 8) == ""
    assert observe(998, 2) == ""  # a new window: 1000 minus the 2 requests since the last answer
    assert observe(980, 18) == ""  # falling is always fine
    assert "rose from 980 to 990 within a window (1 request(s) later" in observe(990)  # not back near the limit
    assert observe(5, 985) == ""
    assert "rose from 5 to 6" in observe(6)  # counting used requests instead of remaining ones


# --- error_body_documented -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (400, {"error": "'handle' parameter is required and must be a non-empty string."}, ""),
        (404, {"error": "TikTok profile not found for handle: someone_else"}, ""),  # [handle] filled in
        (401, {"error": "API key is invalid or missing."}, ""),
        (
            400,
            {"error": "handle is required"},
            'received 400 with the error message "handle is required"; the contract documents for 400: "\'handle\' parameter is required and must be a non-empty string.", "Invalid JSON in request body", "The video service could not process the handle.", "The video service reported an issue."',
        ),
        (
            401,
            {"message": "unauthorized"},
            'received 401 with the JSON body {"message":"unauthorized"}; the contract expects {"error": <string>}',
        ),
        (
            400,
            b"Bad Request",
            "received 400 with Content-Type (none); the contract expects application/json on a 400 error\n"
            "received 400 with a body without Content-Type: 'Bad Request'; the contract expects the JSON body {\"error\": <string>}",
        ),
        (
            422,
            {"detail": "invalid"},
            'received 422 with the JSON body {"detail":"invalid"}; the contract expects {"error": <string>}',
        ),  # an undocumented status keeps the shape rule
    ],
)
def test_error_bodies_are_the_documented_ones(checks: DomainChecks, status: int, body: Any, problem: str) -> None:
    found = failure(checks.error_body_documented, response(status, body), case())
    assert found == problem


def test_error_body_rule_ignores_methods_the_contract_does_not_have(checks: DomainChecks) -> None:
    assert failure(checks.error_body_documented, response(405, b"Method Not Allowed"), case(method="TRACE")) == ""


# --- example_field_types -------------------------------------------------------------------------
def page(**changes: Any) -> dict[str, Any]:
    body = orjson.loads(orjson.dumps(EXAMPLE))
    video = body["aweme_list"][0]
    for path, value in changes.items():
        target, *keys = path.split("__")
        node = video if target == "video" else body
        for key in keys[:-1]:
            node = node[key]
        if value is ...:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "request_body", "problem"),
    [
        (page(), None, ""),
        (page(video__desc=None), None, ""),  # the vendor YAML makes desc nullable
        (
            page(video__statistics__play_count="987654"),
            None,
            "aweme_list[*].statistics.play_count: the documented example gives integer, got numeric string; received '987654'",
        ),
        (page(video__statistics__play_count=None), None, "play_count: the documented example gives integer, got null"),
        (
            page(video__aweme_id=7456512938571410718),
            None,
            "aweme_id: the documented example gives numeric string, got integer",
        ),
        (
            page(video__create_time=1736092800000),
            None,
            "aweme_list[*].create_time: a Unix time in milliseconds, the documented example uses seconds (1736092800); received 1736092800000",
        ),
        (
            page(body__max_cursor="1736092800"),
            None,
            "max_cursor: a Unix time in seconds, the documented example uses milliseconds (1736092800000); received 1736092800",
        ),
        (page(video__statistics=...), None, "aweme_list[*].statistics: missing"),
        (
            page(video__video=..., video__author=...),
            {"handle": "x", "trim": True},
            "",
        ),  # a trimmed page may leave fields out
        (page(video__video=...), {"handle": "x", "trim": False}, "aweme_list[*].video: missing"),
        (
            page(body__aweme_list=[], body__max_cursor="5", body__min_cursor="5"),
            {"handle": "x", "maxCursor": "5"},
            "",
        ),  # an echoed cursor
        (
            page(body__aweme_list=[], body__max_cursor="641", body__min_cursor="641"),
            {"handle": "x", "maxCursor": "00000641"},
            "",
        ),  # echoed as a number
        (page(body__aweme_list=[], body__max_cursor="0", body__min_cursor="0"), None, ""),
    ],
)
def test_bodies_keep_the_documented_example_types(
    checks: DomainChecks, body: Any, request_body: Any, problem: str
) -> None:
    found = failure(checks.example_field_types, response(200, body), case(request_body))
    assert (problem in found and found) if problem else found == ""


# --- pagination_walk -----------------------------------------------------------------------------
def walk_over(pages: list[tuple[list[str], int]], bound: int = 10, status: int = 200) -> pagination.Walk:
    """Pages of (aweme_ids, has_more); a page's cursor is its oldest create_time in ms."""
    made = []
    clock = 1_736_000_000
    for ids, has_more in pages:
        videos = []
        for item in ids:
            clock -= 60
            videos.append({"aweme_id": item, "create_time": clock})
        made.append({"aweme_list": videos, "max_cursor": str(clock * 1000), "has_more": has_more})
    made.append({"aweme_list": [], "max_cursor": "0", "has_more": 0})
    served = iter(made[1:])
    return pagination.walk(response(200, made[0]), lambda cursor: response(status, next(served)), LINK, bound)


def test_pagination_walk_accepts_a_consistent_profile() -> None:
    walk = walk_over([(["1", "2"], 1), (["3", "4"], 1), (["5"], 0)])
    assert walk.problems == [] and walk.pages == 3 and walk.items == 5
    assert "confirmed by one more request" in walk.ended
    assert walk_over([(["1"], 1), (["2"], 1), (["3"], 1)], bound=2).ended.startswith("the bound of 2")


@pytest.mark.parametrize(
    ("pages", "status", "problem"),
    [
        ([(["1", "2"], 1), (["2", "3"], 0)], 200, "duplicate aweme_id 2: on page 1 and again on page 2"),
        ([(["1", "2"], 1), (["3"], 1)], 200, "has_more=1 on page 2, but the next page (maxCursor="),
        ([(["1", "2"], 0), (["3"], 0)], 200, "has_more=0 on page 1, but maxCursor="),
        (
            [(["1"], 1), (["2"], 0)],
            400,
            "sent back as maxCursor got status 400; the contract expects a 200 with the next, older page",
        ),
    ],
)
def test_pagination_walk_names_what_is_wrong(pages: list[tuple[list[str], int]], status: int, problem: str) -> None:
    messages = [p.message for p in walk_over(pages, status=status).problems]
    assert any(problem in m for m in messages), messages


def test_pagination_link_comes_from_the_contract() -> None:
    assert (LINK.name, LINK.cursor_field, LINK.cursor_param, LINK.carried) == (
        "NextPage",
        "max_cursor",
        "maxCursor",
        ("handle",),
    )


# --- classification ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("check", "resp", "kind"),
    [
        (
            "error_body_documented",
            response(400, b"Bad Request", {"content-type": "text/plain"}),
            CONTRACT,
        ),  # the YAML's ErrorResponse
        ("error_body_documented", response(401, b"", {}), DOCUMENTATION),  # the YAML gives 401 no body
        ("rate_limit_headers", response(200, EXAMPLE), DOCUMENTATION),  # headers exist only in the prose
        ("example_field_types", response(200, page(video__create_time="1")), CONTRACT),  # the YAML types create_time
        ("example_field_types", response(200, page(video__statistics__play_count="1")), DOCUMENTATION),
        (
            "negative_data_rejection",
            response(200, EXAMPLE, request={"handle": ""}),
            DOCUMENTATION,
        ),  # minLength is prose
        ("negative_data_rejection", response(200, EXAMPLE, request={"handle": 5}), CONTRACT),
        ("auth_enforced", response(200, EXAMPLE), CONTRACT),
    ],
)
def test_findings_are_classified_by_the_vendor_only_contract(check: str, resp: Any, kind: str) -> None:
    assert Classifier(VENDOR).classify(check, resp) == kind


@pytest.mark.parametrize("hostile_id", [["a", "list"], {"an": "object"}, 7, None])
def test_a_video_newer_than_its_cursor_with_any_kind_of_id_is_a_finding_not_a_crash(hostile_id: Any) -> None:
    """A hostile target's aweme_id can be any JSON value (a list is not even hashable): the
    overlap is reported, with the id as it came, and the walk goes on."""
    ms = 1_736_000_000_000
    items = [{"aweme_id": hostile_id, "create_time": 1_736_000_000}]  # the cursor's own second: not older
    found = pagination.older_than_cursor(items, str(ms), LINK, "page 2", {"x": 1})
    assert found == [
        f"page 2 (maxCursor={ms}) has a video that is not older than the cursor: aweme_list[0] aweme_id {hostile_id} "
        "with create_time 1736000000; the contract's next page holds only older videos"
    ]
    duplicate = pagination.older_than_cursor(
        [{"aweme_id": "x", "create_time": 1_736_000_000}], str(ms), LINK, "page 2", {"x": 1}
    )
    assert duplicate[0].endswith(
        "create_time 1736000000, a duplicate of page 1; the contract's next page holds only older videos"
    )
