"""The one reader of an operation's pagination link (OpenAPI `links`): a success response's link
back to the same operation whose request body takes one field from the response body (the
cursor) and copies others from the previous request. The vendor's `NextPage`:
`maxCursor <- $response.body#/max_cursor`, `handle <- $request.body#/handle`.
The contract kit walks pages with it; verify-client checks that clients follow it."""

from __future__ import annotations

from dataclasses import dataclass

from mock_server.contract.document import Operation

RESPONSE_BODY = "$response.body#/"
REQUEST_BODY = "$request.body#/"


@dataclass(frozen=True)
class PageLink:
    """A self link of an operation that pages: which response field feeds which request field."""

    name: str  # the link's name in the contract, e.g. NextPage
    cursor_field: str  # in the response body, e.g. max_cursor
    cursor_param: str  # in the request body, e.g. maxCursor
    carried: tuple[str, ...]  # request fields copied from the previous request, e.g. handle


def page_link(op: Operation) -> PageLink | None:
    """The first success response's self link with exactly one response-body field, if any."""
    for status, response in op.responses.items():
        if not status.startswith("2"):
            continue
        for name, link in (response.get("links") or {}).items():
            if link.get("operationId") != op.operation_id:
                continue
            body = link.get("requestBody") or {}
            if not isinstance(body, dict):
                continue
            cursor = [(k, v) for k, v in body.items() if isinstance(v, str) and v.startswith(RESPONSE_BODY)]
            if len(cursor) == 1:
                carried = tuple(k for k, v in body.items() if isinstance(v, str) and v.startswith(REQUEST_BODY))
                return PageLink(name, cursor[0][1][len(RESPONSE_BODY) :], cursor[0][0], carried)
    return None
