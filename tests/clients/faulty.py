"""A deliberately faulty client of the mock: `python faulty.py FAULT` makes the requests of one
fault (see FAULTS), reading DUMPLING_BASE_URL and DUMPLING_API_KEY like any client run by
`dumpling-mock verify-client`. Standard library only (http.client: full control of headers).
"""

from __future__ import annotations

import http.client
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

PATH = "/api/v1/get-tiktok-profile-videos"
BASE = urlsplit(os.environ["DUMPLING_BASE_URL"])
KEY = os.environ["DUMPLING_API_KEY"]
JSON = "application/json"


def send(
    body: bytes | str | dict[str, Any], *, content_type: str | None = JSON, auth: str | None = None, path: str = PATH
) -> dict[str, Any]:
    """POST and return the parsed answer (whatever its status)."""
    raw = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
    headers = {"Authorization": auth if auth is not None else f"Bearer {KEY}"}
    if auth == "":
        del headers["Authorization"]
    if content_type is not None:
        headers["Content-Type"] = content_type
    connection = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=10)
    try:
        connection.request(
            "POST", path, body=raw, headers=headers
        )  # http.client adds only Host, Content-Length, Accept-Encoding
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return json.loads(data)
    except ValueError:
        return {}


def first_page(handle: str = "stoolpresidente") -> dict[str, Any]:
    return send({"handle": handle})


def paginate(handle: str) -> None:
    """The correct way: follow max_cursor until has_more is 0."""
    body: dict[str, Any] = {"handle": handle}
    while True:
        page = send(body)
        if page.get("has_more") != 1:
            return
        body = {"handle": handle, "maxCursor": page["max_cursor"]}


def main(fault: str) -> int:
    if fault == "good":
        paginate("videos-25")
    elif fault == "not-json":
        send("{handle: 'stoolpresidente'}")
    elif fault == "no-content-type":
        send({"handle": "videos-3"}, content_type=None)
    elif fault == "wrong-content-type":
        send({"handle": "videos-3"}, content_type="text/plain")
    elif fault == "no-auth":
        send({"handle": "videos-3"}, auth="")
    elif fault == "malformed-auth":
        send({"handle": "videos-3"}, auth=f"Token {KEY}")
    elif fault == "unknown-key":
        send({"handle": "videos-3"}, auth="Bearer sk_not_a_key_of_this_mock")
    elif fault == "empty-handle":
        send({"handle": ""})
    elif fault == "missing-handle":
        send({"maxCursor": "1736092800000"})
    elif fault == "at-handle":
        send({"handle": "@videos-3"})
    elif fault == "wrong-cursor":
        page = first_page()
        send({"handle": "stoolpresidente", "maxCursor": page["min_cursor"]})  # the wrong end of the page
        paginate("videos-3")
    elif fault == "numeric-cursor":
        page = first_page("videos-15")
        send({"handle": "videos-15", "maxCursor": int(page["max_cursor"])})
    elif fault == "unknown-source":
        send({"handle": "videos-3", "requestSource": "CURL"})
    elif fault == "unknown-field":
        send({"handle": "videos-3", "max_cursor": "1736092800000"})
    elif fault == "refetch":  # later, not straight after: that would be retried-after-success
        first_page("videos-3")
        first_page("videos-5")
        first_page("videos-3")
    elif fault == "stops-early":
        first_page("videos-25")
    elif fault == "past-end":
        page = first_page("videos-3")
        send({"handle": "videos-3", "maxCursor": page["max_cursor"]})
    elif fault == "wrong-path":
        send({"handle": "videos-3"}, path="/api/v1/get-tiktok-profile-video")
    elif fault == "retry":  # a client that survives errors: retries until it gets a page
        for _ in range(40):
            if "aweme_list" in first_page("videos-3"):
                return 0
        return 1
    elif fault == "no-request":
        pass
    elif fault == "exit-3":
        paginate("videos-3")
        return 3
    else:
        print(f"unknown fault {fault!r}", file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
