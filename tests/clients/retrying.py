"""A small client of the mock with a retry policy: `python retrying.py POLICY` walks every page of
two profiles (the second does not exist: a 404, which a sync tool skips), reading
DUMPLING_BASE_URL and DUMPLING_API_KEY like any client run by `dumpling-mock verify-client`.
Standard library only.

POLICY is `good` (retries 502/503 and broken connections with exponential back-off, honours
Retry-After, never retries a 4xx, gives up with exit 1) or one bad policy per retry rule of
verify-client (verify/rules.py RULES):

    gives-up               logs the first failure and exits 0        -> gave-up-silently
    retries-client-errors  also retries 400/401/403/404              -> retried-client-error
    no-backoff             retries at once                           -> no-backoff
    short-timeout          a 0.35 s read timeout, retried as failure  -> retried-after-success
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

PATH = "/api/v1/get-tiktok-profile-videos"
BASE = urlsplit(os.environ["DUMPLING_BASE_URL"])
KEY = os.environ["DUMPLING_API_KEY"]
HANDLES = ("videos-35", "videos-99999999")
ATTEMPTS = 6
BACKOFF_S = 0.2  # then 0.4, 0.8, ...: three retries take 1.4 s
RETRYABLE = {502, 503}


class Failure(Exception):
    def __init__(self, status: int, what: str) -> None:
        super().__init__(what)
        self.status = status


def post(body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One attempt: the page, or Failure (status 0: the connection broke or timed out)."""
    connection = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=timeout)
    try:
        connection.request(
            "POST",
            PATH,
            body=json.dumps(body),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            wait = response.getheader("Retry-After")
            raise Failure(response.status, wait or "")
        return json.loads(data)
    except (OSError, http.client.HTTPException, ValueError) as exc:  # reset, closed, garbage, timeout
        raise Failure(0, "") from exc
    finally:
        connection.close()


def fetch(body: dict[str, Any], policy: str) -> dict[str, Any] | None:
    """A page with the policy's retries; None for a profile that does not exist."""
    timeout = 0.35 if policy == "short-timeout" else 10
    for attempt in range(ATTEMPTS):
        try:
            return post(body, timeout)
        except Failure as failure:
            print(f"{body}: attempt {attempt + 1} failed ({failure.status or 'connection'})", file=sys.stderr)
            if policy == "gives-up":
                return None
            if failure.status not in RETRYABLE and failure.status != 0 and policy != "retries-client-errors":
                return None if failure.status == 404 else _fail(failure.status)
            if failure.status == 404 and attempt == 2:
                return None  # retries-client-errors: gives up on the 404 after two retries
            if policy != "no-backoff":
                time.sleep(float(str(failure)) if str(failure).isdigit() else BACKOFF_S * 2**attempt)
    return _fail(0)


def _fail(status: int) -> None:
    print(f"giving up ({status or 'connection'})", file=sys.stderr)
    sys.exit(1)


def main(policy: str) -> int:
    for handle in HANDLES:
        body: dict[str, Any] = {"handle": handle}
        while True:
            page = fetch(body, policy)
            if page is None:
                if policy == "gives-up":
                    return 0  # the bug: the walk is incomplete and nobody is told
                break
            if page.get("has_more") != 1:
                break
            body = {"handle": handle, "maxCursor": page["max_cursor"]}
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
