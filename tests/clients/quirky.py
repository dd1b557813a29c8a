"""Clients of the mock's TikTok quirks (README "Data fidelity and TikTok's pagination quirks"): one
careful, and one naive per quirk. `python quirky.py CLIENT HANDLE [SINCE]` reads DUMPLING_BASE_URL and
DUMPLING_API_KEY (as under `dumpling-mock verify-client`) and prints the aweme_ids it kept, one JSON
list; tests import `CLIENTS` and call them directly. Standard library only.

- careful: follows max_cursor while has_more is 1 (an empty page included), drops a video it already
  has (by aweme_id), never reads a page size, and stops on has_more 0 (never on max_cursor "0").
- naive-empty: stops at the first empty page.
- naive-duplicates: keeps every video it is given, repeats included.
- naive-size: assumes 20 videos a page and stops after a shorter page.
- naive-zero: ignores has_more and follows max_cursor until an empty page ("0" is page one again).
- sync-careful / sync-naive: an incremental sync, "the videos newer than SINCE" (create_time, seconds):
  the naive one stops at the first video older than SINCE, a pinned one included; the careful one
  skips pinned videos (is_top 1) when deciding to stop.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Callable
from typing import Any

PATH = "/api/v1/get-tiktok-profile-videos"
ASSUMED_PAGE_SIZE = 20
MAX_REQUESTS = 200  # every client stops here at the latest (naive-zero would loop for ever)


def fetch(base_url: str, key: str, handle: str, cursor: str | None) -> dict[str, Any]:
    body = {"handle": handle, **({"maxCursor": cursor} if cursor else {})}
    request = urllib.request.Request(
        base_url + PATH,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a loopback mock)
        return json.loads(response.read())  # type: ignore[no-any-return]


Fetch = Callable[[str | None], dict[str, Any]]


def careful(get: Fetch, since: int = 0) -> list[str]:
    kept: list[str] = []
    seen: set[str] = set()
    cursor: str | None = None
    for _ in range(MAX_REQUESTS):
        page = get(cursor)
        for item in page["aweme_list"]:
            if item["aweme_id"] not in seen:
                seen.add(item["aweme_id"])
                kept.append(item["aweme_id"])
        if page["has_more"] != 1:
            break
        cursor = page["max_cursor"]
    return kept


def naive_empty(get: Fetch, since: int = 0) -> list[str]:
    kept: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_REQUESTS):
        page = get(cursor)
        if not page["aweme_list"]:
            break  # the mistake: an empty page is not the end while has_more is 1
        kept += [i["aweme_id"] for i in page["aweme_list"] if i["aweme_id"] not in kept]
        if page["has_more"] != 1:
            break
        cursor = page["max_cursor"]
    return kept


def naive_duplicates(get: Fetch, since: int = 0) -> list[str]:
    kept: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_REQUESTS):
        page = get(cursor)
        kept += [i["aweme_id"] for i in page["aweme_list"]]  # the mistake: no check by aweme_id
        if page["has_more"] != 1:
            break
        cursor = page["max_cursor"]
    return kept


def naive_size(get: Fetch, since: int = 0) -> list[str]:
    kept: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_REQUESTS):
        page = get(cursor)
        kept += [i["aweme_id"] for i in page["aweme_list"] if i["aweme_id"] not in kept]
        if len(page["aweme_list"]) < ASSUMED_PAGE_SIZE:
            break  # the mistake: a short page is not the last one
        cursor = page["max_cursor"]
    return kept


def naive_zero(get: Fetch, since: int = 0) -> list[str]:
    kept: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_REQUESTS):
        page = get(cursor)
        if not page["aweme_list"]:
            break
        kept += [i["aweme_id"] for i in page["aweme_list"]]
        cursor = page["max_cursor"]  # the mistake: has_more is ignored, and "0" starts over
        if len(kept) > 3 * len(set(kept)):
            break  # give up on the loop (a real client would spin until killed)
    return kept


def _sync(get: Fetch, since: int, skip_pinned: bool) -> list[str]:
    kept: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_REQUESTS):
        page = get(cursor)
        for item in page["aweme_list"]:
            if item["create_time"] <= since:
                if skip_pinned and item.get("is_top") == 1:
                    continue  # pinned: shown first whatever its age
                return kept  # older than the last sync: done
            if item["aweme_id"] not in kept:
                kept.append(item["aweme_id"])
        if page["has_more"] != 1:
            break
        cursor = page["max_cursor"]
    return kept


def sync_careful(get: Fetch, since: int = 0) -> list[str]:
    return _sync(get, since, skip_pinned=True)


def sync_naive(get: Fetch, since: int = 0) -> list[str]:
    return _sync(get, since, skip_pinned=False)


CLIENTS: dict[str, Callable[[Fetch, int], list[str]]] = {
    "careful": careful,
    "naive-empty": naive_empty,
    "naive-duplicates": naive_duplicates,
    "naive-size": naive_size,
    "naive-zero": naive_zero,
    "sync-careful": sync_careful,
    "sync-naive": sync_naive,
}


def main(argv: list[str]) -> int:
    name, handle = argv[0], argv[1]
    since = int(argv[2]) if len(argv) > 2 else 0
    base_url, key = os.environ["DUMPLING_BASE_URL"], os.environ["DUMPLING_API_KEY"]
    kept = CLIENTS[name](lambda cursor: fetch(base_url, key, handle, cursor), since)
    print(json.dumps(kept))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
