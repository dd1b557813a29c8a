"""The pagination walk: follow the contract's pagination link page after page (bounded) and check
what no single response shows: no duplicate item across pages, items newest first, `has_more`
consistent with whether another page exists, each cursor usable as the next request's cursor,
and termination.

The link (overlay: `NextPage`, `$response.body#/max_cursor` -> request body `maxCursor`) says
which fields carry the cursor; the item fields are the TikTok page's (`aweme_list`, `aweme_id`,
`create_time`, `has_more`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import orjson
from schemathesis.core.transport import Response

from mock_server.contract import Operation

ITEMS = "aweme_list"
ITEM_ID = "aweme_id"
ITEM_TIME = "create_time"
HAS_MORE = "has_more"
RESPONSE_BODY = "$response.body#/"
REQUEST_BODY = "$request.body#/"


@dataclass(frozen=True)
class Link:
    """A self link of an operation that pages: which response field feeds which request field."""

    name: str
    cursor_field: str  # in the response body, e.g. max_cursor
    cursor_param: str  # in the request body, e.g. maxCursor
    carried: tuple[str, ...]  # request fields copied from the previous request, e.g. handle


def pagination_link(op: Operation) -> Link | None:
    for status, response in op.responses.items():
        if not status.startswith("2"):
            continue
        for name, link in (response.get("links") or {}).items():
            if link.get("operationId") != op.operation_id:
                continue
            body = link.get("requestBody") or {}
            cursor = [(k, v) for k, v in body.items() if isinstance(v, str) and v.startswith(RESPONSE_BODY)]
            if len(cursor) == 1:
                carried = tuple(k for k, v in body.items() if isinstance(v, str) and v.startswith(REQUEST_BODY))
                return Link(name, cursor[0][1][len(RESPONSE_BODY) :], cursor[0][0], carried)
    return None


@dataclass
class Problem:
    message: str
    response: Response


@dataclass
class Walk:
    pages: int = 0
    items: int = 0
    problems: list[Problem] = field(default_factory=list)
    ended: str = ""  # why the walk stopped


def walk(first: Response, fetch: Callable[[str], Response], link: Link, max_pages: int) -> Walk:
    """Walk from `first` (a 2xx page); `fetch(cursor)` asks for the page after `cursor`."""
    result = Walk()
    seen: dict[str, int] = {}
    cursors: set[str] = set()
    newest_allowed: float = float("inf")
    response = first
    while True:
        result.pages += 1
        body = _body(response)
        items = body.get(ITEMS) if isinstance(body.get(ITEMS), list) else []
        result.items += len(items)
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            item_id = item.get(ITEM_ID)
            if isinstance(item_id, str):
                if item_id in seen:
                    result.problems.append(Problem(f"duplicate {ITEM_ID} {item_id}: on page {seen[item_id]} and again on page {result.pages}", response))
                seen.setdefault(item_id, result.pages)
            created = item.get(ITEM_TIME)
            if isinstance(created, int) and not isinstance(created, bool):
                if created > newest_allowed:
                    result.problems.append(Problem(f"{ITEM_TIME} goes up on page {result.pages} ({ITEMS}[{i}]: {created} after {newest_allowed:.0f}): not newest first", response))
                newest_allowed = min(newest_allowed, created)
        has_more = body.get(HAS_MORE)
        cursor = body.get(link.cursor_field)
        if not items and has_more == 1:
            result.problems.append(Problem(f"{HAS_MORE}=1 on page {result.pages}, which is empty", response))
            result.ended = "an empty page"
            return result
        if has_more == 1 and result.pages >= max_pages:
            result.ended = f"the bound of {max_pages} page(s) (has_more is still 1)"
            return result
        if not isinstance(cursor, str) or not cursor:
            if has_more == 1:
                result.problems.append(Problem(f"{HAS_MORE}=1 on page {result.pages} but {link.cursor_field} is {cursor!r}: no way to the next page", response))
            result.ended = f"no {link.cursor_field}"
            return result
        if cursor in cursors:
            result.problems.append(Problem(f"{link.cursor_field} {cursor} on page {result.pages} was already returned: the walk would loop", response))
            result.ended = "a repeated cursor"
            return result
        cursors.add(cursor)
        following = fetch(cursor)
        if not 200 <= following.status_code < 300:
            result.problems.append(Problem(f"{link.cursor_field} {cursor} of page {result.pages} is not usable as {link.cursor_param}: status {following.status_code}", following))
            result.ended = "an unusable cursor"
            return result
        next_items = _body(following).get(ITEMS)
        next_count = len(next_items) if isinstance(next_items, list) else 0
        if has_more == 1 and next_count == 0:
            result.problems.append(Problem(f"{HAS_MORE}=1 on page {result.pages}, but the next page ({link.cursor_param}={cursor}) is empty", following))
            result.ended = "an empty page after has_more=1"
            return result
        if has_more != 1:
            if next_count:
                result.problems.append(Problem(f"{HAS_MORE}={has_more!r} on page {result.pages}, but {link.cursor_param}={cursor} returns {next_count} more item(s)", following))
            result.ended = f"{HAS_MORE}={has_more!r}, confirmed by one more request" if not next_count else "has_more contradicted"
            return result
        response = following


def _body(response: Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}
