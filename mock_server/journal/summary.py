"""What the journal keeps of a response: the top-level scalars of a JSON success body, which the
client rules (verify/rules.py) read back to follow a client's pagination. Built by the pipeline
for every journaled response, so it lives here and not with the rules."""

from __future__ import annotations

from typing import Any

import orjson

SUMMARY_FIELDS = 16  # top-level scalars of a success body kept in the journal
SUMMARY_TEXT = 64  # longest string kept
PAGE_ITEMS, PINNED = "aweme_list", "is_top"  # TikTok's page list and pin flag: the quirk rules count them


def response_summary(status: int, body: bytes) -> dict[str, Any] | None:
    """The top-level scalars of a JSON success body (cursors, has_more): what the pagination
    rules read back from the journal. Errors and non-JSON bodies keep nothing."""
    if not 200 <= status < 300 or not body[:1] == b"{":
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    kept = {}
    for name, value in parsed.items():
        if (
            value is None
            or isinstance(value, (bool, int, float))
            or (isinstance(value, str) and len(value) <= SUMMARY_TEXT)
        ):
            kept[name] = value
            if len(kept) == SUMMARY_FIELDS:
                break
    items = parsed.get(PAGE_ITEMS)
    if isinstance(items, list):  # what the quirk rules need of the list: its length and its pins
        kept[f"{PAGE_ITEMS}#count"] = len(items)
        pinned = sum(1 for item in items if isinstance(item, dict) and item.get(PINNED) == 1)
        if pinned:
            kept[f"{PAGE_ITEMS}#pinned"] = pinned
    return kept
