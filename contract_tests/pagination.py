"""The pagination walk: follow the contract's pagination link page after page (bounded) and check
what no single response shows: no duplicate item across pages, items newest first, `has_more`
consistent with whether another page exists, each cursor usable as the next request's cursor,
every page asked with a cursor older than it, and termination.

A bounded walk of a large profile never reaches its end, so `find_end` looks for the last page by
bisecting the cursor (the contract's `maxCursor` is a time in milliseconds) between a cursor far in
the past and the last one the walk saw, and `before_last` picks a cursor about a page and a half
before it: the walk from there reads the last two pages and confirms the end. `check_join` asks,
with one overlapping request, whether two consecutive pages join up without losing videos.

What a client cannot see, and so the kit cannot: a video the target leaves out of every answer
(each page is consistent with a profile that never had it); a wrong `has_more` on a page neither
the walk nor the end search reads; and a join the kit does not probe (one at the start of the
profile, one at its end).

The link (overlay: `NextPage`, `$response.body#/max_cursor` -> request body `maxCursor`) says
which fields carry the cursor; the item fields are the TikTok page's (`aweme_list`, `aweme_id`,
`create_time`, `has_more`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from schemathesis.core.transport import Response

from contract_tests.wording import body_words
from mock_server.contract.links import PageLink

ITEMS = "aweme_list"
ITEM_ID = "aweme_id"
ITEM_TIME = "create_time"
HAS_MORE = "has_more"
PINNED = "is_top"  # TikTok's pinned videos: first on page one, older than the rest, exempt from newest-first
FAR_PAST = 1  # a cursor (1 ms after 1970) older than any video: "0" is the first page


@dataclass
class Problem:
    message: str
    response: Response


@dataclass
class Page:
    """One page the walk read: the cursor it was asked with ("" = the first page) and its items."""

    asked: str
    items: list[dict[str, Any]]
    response: Response


@dataclass
class Walk:
    pages: int = 0
    items: int = 0
    problems: list[Problem] = field(default_factory=list)
    ended: str = ""  # why the walk stopped
    reached_end: bool = False  # a page said has_more=0 (or was empty) and one more request confirmed it
    read: list[Page] = field(default_factory=list)  # the pages in order
    last_cursor: str = ""  # the cursor of the last page read whose has_more was 1, when the walk stopped there
    notes: list[str] = field(default_factory=list)  # TikTok's own behaviour seen on the way: information, not drift


def walk(
    first: Response,
    fetch: Callable[[str], Response],
    link: PageLink,
    max_pages: int,
    asked: str = "",
    label: str = "page",
) -> Walk:
    """Walk from `first` (a 2xx page, asked with cursor `asked`; "" = the first page);
    `fetch(cursor)` asks for the page after `cursor`; `label` names the pages in messages."""
    result = Walk()
    seen: dict[str, int] = {}
    cursors: set[str] = {asked} if asked else set()
    newest_allowed: float = float("inf")
    response = first
    while True:
        result.pages += 1
        page_no = result.pages
        body = _body(response)
        if not isinstance(body.get(ITEMS), list):  # not a page at all: the schema checks say what it is
            result.ended = f"{label} {page_no} without {ITEMS}"
            return result
        items = [i for i in body[ITEMS] if isinstance(i, dict)]
        result.items += len(items)
        result.read.append(Page(asked, items, response))
        once = not any(NOTE_REPEAT in n for n in result.notes)  # TikTok's repeat is occasional: a second one is drift
        repeated = (
            _repeated_first(items, asked, result.read[-2].items if len(result.read) > 1 else []) if once else None
        )
        if repeated:
            result.notes.append(
                f"{label} {page_no} {NOTE_REPEAT} {ITEM_ID} {repeated}, the last video of the page before, as its first (TikTok repeats a video across a page boundary now and then; a client drops it by {ITEM_ID})"
            )
        overlap = older_than_cursor(items[1:] if repeated else items, asked, link, f"{label} {page_no}", seen)
        result.problems += [Problem(m, response) for m in overlap]
        for i, item in enumerate(items):
            item_id = item.get(ITEM_ID)
            if isinstance(item_id, str):
                if (
                    item_id in seen and not overlap and not (repeated and i == 0)
                ):  # a page that starts before its cursor says it once
                    result.problems.append(
                        Problem(
                            f"duplicate {ITEM_ID} {item_id}: on {label} {seen[item_id]} and again on {label} {page_no}; the contract's next page is older, so no video comes twice",
                            response,
                        )
                    )
                seen.setdefault(item_id, page_no)
            created = _int(item.get(ITEM_TIME))
            if item.get(PINNED) == 1 and page_no == 1 and not asked:
                continue  # pinned: shown first whatever its age, so outside the newest-first order
            if created is not None:
                if created > newest_allowed:
                    result.problems.append(
                        Problem(
                            f"{ITEM_TIME} goes up on {label} {page_no} ({ITEMS}[{i}]: {created} after {newest_allowed:.0f}): the contract lists videos newest first",
                            response,
                        )
                    )
                newest_allowed = min(newest_allowed, created)
        has_more = body.get(HAS_MORE)
        cursor = body.get(link.cursor_field)
        if not items and has_more == 1 and _passable(body, link, cursors, result, label, page_no):
            response = fetch(str(cursor))
            cursors.add(str(cursor))
            asked = str(cursor)
            continue
        if not items and has_more == 1:
            result.problems.append(
                Problem(
                    f"{HAS_MORE}=1 on {label} {page_no}, which is empty (status {response.status_code}, {_asked(link, asked)}); the contract expects has_more=0 on an empty page",
                    response,
                )
            )
            result.ended = "an empty page"
            return result
        if not items:
            result.ended = "an empty page with has_more=0"
            result.reached_end = True
            return result
        if has_more == 1 and result.pages >= max_pages:
            result.ended = f"the bound of {max_pages} page(s) (has_more is still 1)"
            result.last_cursor = cursor if isinstance(cursor, str) else ""
            return result
        if has_more == 0 and isinstance(cursor, str) and cursor and _int(cursor) == 0:
            result.notes.append(
                f'{label} {page_no}, the last ({HAS_MORE}=0), gives {link.cursor_field} "0" (TikTok\'s last page does; "0" asked again is the first page, so a client stops on {HAS_MORE})'
            )
            result.ended = f'{HAS_MORE}=0 with {link.cursor_field} "0"'
            result.reached_end = True
            return result
        if _int(cursor) is not None and not isinstance(cursor, str):
            result.problems.append(
                Problem(
                    f'{label} {page_no} (status {response.status_code}): {link.cursor_field} is the number {cursor}; the contract expects a numeric string ("{cursor}"), which the walk sends as {link.cursor_param}',
                    response,
                )
            )
            cursor = str(cursor)
        if not isinstance(cursor, str) or not cursor:
            if has_more == 1:
                shown = "missing" if link.cursor_field not in body else f"{cursor!r}"
                result.problems.append(
                    Problem(
                        f"{label} {page_no} (status {response.status_code}) says {HAS_MORE}=1 but its {link.cursor_field} is {shown}; the contract expects a numeric string to send as {link.cursor_param} for the next page",
                        response,
                    )
                )
            result.ended = f"no {link.cursor_field}"
            return result
        if cursor in cursors:
            again = "the cursor it was asked with" if cursor == asked and page_no == 1 else "already returned"
            result.problems.append(
                Problem(
                    f"{label} {page_no} (status {response.status_code}, {HAS_MORE}={has_more!r}) gives {link.cursor_field} {cursor}, {again}: a client following it would loop; the contract's next page is older",
                    response,
                )
            )
            result.ended = "a repeated cursor"
            return result
        cursors.add(cursor)
        following = fetch(cursor)
        if not 200 <= following.status_code < 300:
            result.problems.append(
                Problem(
                    f"{link.cursor_field} {cursor} of {label} {page_no} ({HAS_MORE}={has_more!r}) sent back as {link.cursor_param} got status {following.status_code}; the contract expects a 200 with the next, older page"
                    + (" (an empty page with has_more=0 after the last)" if has_more != 1 else ""),
                    following,
                )
            )
            result.ended = "an unusable cursor"
            return result
        next_items = _body(following).get(ITEMS)
        if not isinstance(next_items, list):
            result.problems.append(
                Problem(
                    f"{link.cursor_field} {cursor} of {label} {page_no} sent back as {link.cursor_param} got status {following.status_code} with {body_words(following)}, no {ITEMS}; the contract expects the next, older page",
                    following,
                )
            )
            result.ended = "a next page without videos"
            return result
        next_count = len(next_items)
        if (
            has_more == 1
            and next_count == 0
            and _body(following).get(HAS_MORE) == 1
            and not any(NOTE_EMPTY in n for n in result.notes)
        ):
            response = following  # perhaps TikTok's empty page with has_more=1: the loop's top decides
            asked = cursor
            continue
        if has_more == 1 and next_count == 0:
            result.problems.append(
                Problem(
                    f"{HAS_MORE}=1 on {label} {page_no}, but the next page ({link.cursor_param}={cursor}, status {following.status_code}) is empty; the contract expects has_more=0 on the last page",
                    following,
                )
            )
            result.ended = "an empty page after has_more=1"
            return result
        if has_more != 1:
            if next_count:
                result.problems.append(
                    Problem(
                        f"{HAS_MORE}={has_more!r} on {label} {page_no}, but {link.cursor_param}={cursor} returns {next_count} more item(s) (status {following.status_code}); the contract expects has_more=1 while older videos exist",
                        following,
                    )
                )
                result.ended = "has_more contradicted"
            else:
                result.ended = f"{HAS_MORE}={has_more!r}, confirmed by one more request"
                result.reached_end = True
            return result
        response = following
        asked = cursor


NOTE_EMPTY = "empty with has_more=1"
NOTE_REPEAT = "repeats"


def _passable(body: dict[str, Any], link: PageLink, cursors: set[str], result: Walk, label: str, page_no: int) -> bool:
    """TikTok sometimes answers an empty page with has_more=1 and a new, older cursor; asking with it
    goes on. Once per walk that is information; a second time (or no new cursor) it is drift, so a walk
    that never ends is still reported."""
    cursor = body.get(link.cursor_field)
    if (
        any(NOTE_EMPTY in n for n in result.notes)
        or not isinstance(cursor, str)
        or _int(cursor) in (None, 0)
        or cursor in cursors
    ):
        return False
    result.notes.append(
        f"{label} {page_no} is {NOTE_EMPTY} and {link.cursor_field} {cursor}; the walk went on with it (TikTok does this before the real end: a client that stops at an empty page loses the videos after it)"
    )
    return True


def _repeated_first(items: list[dict[str, Any]], asked: str, before: list[dict[str, Any]]) -> str | None:
    """The aweme_id of a page's first video when it is the previous page's last video, asked for with
    exactly that video's time as the cursor: TikTok's repeat across a page boundary."""
    if not items or not before or not asked:
        return None
    first, last = items[0], before[-1]
    first_id = first.get(ITEM_ID)
    created = _int(first.get(ITEM_TIME))
    scale = _scale(asked, created)
    if (
        first_id != last.get(ITEM_ID)
        or not isinstance(first_id, str)
        or created is None  # then scale is None too
        or scale is None
        or created * scale != _int(asked)
    ):
        return None
    return first_id


def older_than_cursor(
    items: list[dict[str, Any]], asked: str, link: PageLink, page: str, seen: dict[str, int]
) -> list[str]:
    """A page asked with a cursor holds only videos older than it: `max_cursor` (milliseconds) of a page
    is the `maxCursor` of the next, older page. The unit of `create_time` is read off the cursor's
    digits against the item's (13 vs 10: milliseconds vs seconds)."""
    cursor = _int(asked)
    for i, item in enumerate(items):
        created = _int(item.get(ITEM_TIME))
        scale = _scale(asked, created)
        if cursor is None or created is None or scale is None:
            continue
        if created * scale >= cursor:
            item_id = item.get(ITEM_ID)  # the target's JSON: any type (a list is not even hashable)
            again = (
                f", a duplicate of {page.rsplit(' ', 1)[0]} {seen[item_id]}"
                if isinstance(item_id, str) and item_id in seen
                else ""
            )
            return [
                f"{page} ({link.cursor_param}={asked}) has a video that is not older than the cursor: {ITEMS}[{i}] {ITEM_ID} {item.get(ITEM_ID)} with {ITEM_TIME} {created}{again}; the contract's next page holds only older videos"
            ]
    return []


def check_join(
    before: Page, after: Page, fetch: Callable[[str], Response], link: PageLink, page_no: int, label: str = "page"
) -> list[Problem]:
    """Whether two consecutive pages join up, with one overlapping request: ask for the videos older
    than the second-oldest video of the first page. The answer must start with that page's oldest
    video and go on with the first videos of the next page: a video in between that neither page
    listed was lost at the join; a first video missing means the target skips videos after a cursor."""
    if len(before.items) < 2 or not after.items:
        return []
    oldest = _int(before.items[-1].get(ITEM_TIME))
    scale = _scale(after.asked, oldest)
    # the newest video posted strictly before the oldest (two videos may share a second)
    created = next(
        (
            t
            for t in (_int(i.get(ITEM_TIME)) for i in reversed(before.items[:-1]))
            if t is not None and oldest is not None and t > oldest
        ),
        None,
    )
    if created is None or scale is None:
        return []
    probe = str(created * scale)
    response = fetch(probe)
    if not 200 <= response.status_code < 300:
        return [
            Problem(
                f"{link.cursor_param}={probe} (the time of the second-oldest video of {label} {page_no}, in the cursor's unit) got status {response.status_code}; the contract expects a 200 with the videos older than it",
                response,
            )
        ]
    items = (
        [i for i in _body(response).get(ITEMS) or [] if isinstance(i, dict)]
        if isinstance(_body(response).get(ITEMS), list)
        else []
    )
    if not items and _body(response).get(HAS_MORE) == 1:
        return []  # TikTok's empty page with has_more=1 (the walk's note): this probe cannot tell
    last = before.items[-1].get(ITEM_ID)
    ids = [i.get(ITEM_ID) for i in items]
    if last not in ids:
        got = ", ".join(str(i) for i in ids[:3]) or "no video"
        return [
            Problem(
                f"{label} join {page_no}->{page_no + 1}: {link.cursor_param}={probe} (videos older than the second-oldest of {label} {page_no}) returned {got} first, not {ITEM_ID} {last}, the oldest video of {label} {page_no}: the target skips the video(s) right after a cursor, so every page loses its first",
                response,
            )
        ]
    listed = {i.get(ITEM_ID) for i in before.items} | {i.get(ITEM_ID) for i in after.items}
    first_next = after.items[0].get(ITEM_ID)
    between = (
        ids[ids.index(last) + 1 : ids.index(first_next)]
        if first_next in ids
        else [i for i in ids[ids.index(last) + 1 :] if i not in listed]
    )
    lost = [str(i) for i in between if i not in listed]
    if lost:
        return [
            Problem(
                f"{label} join {page_no}->{page_no + 1}: {len(lost)} video(s) between the oldest of {label} {page_no} and the first of {label} {page_no + 1} are on neither page ({ITEM_ID} {', '.join(lost[:3])}); {link.cursor_field} of {label} {page_no} was {after.asked}, the contract's next page starts right after the page's oldest video",
                response,
            )
        ]
    return []


@dataclass
class EndSearch:
    """The search for the last page: where it was found, and what the probes showed on the way."""

    found: Response | None = None
    asked: str = ""  # the cursor of the page found
    requests: int = 0
    problems: list[Problem] = field(default_factory=list)
    ended: str = ""
    full_items: list[dict[str, Any]] = field(default_factory=list)  # the last full page seen, for its spacing
    notes: list[str] = field(default_factory=list)  # TikTok's own behaviour seen by a probe: information


def find_end(known: str, fetch: Callable[[str], Response], link: PageLink, probes: int, page_size: int) -> EndSearch:
    """Find a page near the end of a profile without reading every page: bisect the cursor (a time)
    between a cursor far in the past (FAR_PAST, older than any video: an empty page with has_more=0)
    and `known`, a cursor whose page still has more. A probe's page is empty (too old), full with
    has_more=1 (too new), or else the last page or one near it: the walk from there checks the end.
    About log2(18 * pages) probes for a profile spread over three years."""
    result = EndSearch()
    high = _int(known)
    if high is None:
        result.ended = f"{link.cursor_field} {known!r} is not a number: the end cannot be searched for"
        return result
    low = FAR_PAST
    cursor = str(low)
    while result.requests < probes:
        response = fetch(cursor)
        result.requests += 1
        body = _body(response)
        items = body.get(ITEMS) if isinstance(body.get(ITEMS), list) else []
        if not 200 <= response.status_code < 300:
            result.problems.append(
                Problem(
                    f"{link.cursor_param}={cursor} (a cursor {'far in the past, older than any video' if cursor == str(FAR_PAST) else 'between two seen cursors'}) got status {response.status_code}; the contract expects a 200 with the videos older than it (an empty page with has_more=0 past the last)",
                    response,
                )
            )
            result.ended = "an error on a probe"
            return result
        given = body.get(link.cursor_field)
        if (
            not items
            and body.get(HAS_MORE) == 1
            and not result.notes
            and cursor != str(FAR_PAST)
            and isinstance(given, str)
            and given != cursor
        ):
            result.notes.append(
                f"{link.cursor_param}={cursor} gave an empty page with {HAS_MORE}=1 (TikTok does this once before the end); the search took it as 'more videos are older'"
            )
            high = int(cursor)
        elif not items:
            if body.get(HAS_MORE) == 1:
                result.problems.append(
                    Problem(
                        f"{HAS_MORE}=1 on an empty page ({link.cursor_param}={cursor}, status {response.status_code}); the contract expects has_more=0 on an empty page",
                        response,
                    )
                )
                result.ended = "an empty page with has_more=1"
                return result
            low = int(cursor)
        elif len(items) >= page_size and body.get(HAS_MORE) == 1:
            high = int(cursor)
            result.full_items = [i for i in items if isinstance(i, dict)]
        else:
            result.found, result.asked = response, cursor
            result.ended = (
                f"a page of {len(items)} item(s) with {HAS_MORE}={body.get(HAS_MORE)!r} at {link.cursor_param}={cursor}"
            )
            return result
        if high - low <= 1:
            result.ended = f"no page near the end between {link.cursor_param}={low} and {high}"
            return result
        cursor = str((low + high) // 2)
    result.ended = f"not found within {probes} probe(s)"
    return result


def before_last(search: EndSearch, page_size: int) -> str:
    """A cursor whose page should end a few videos before the end, so that the walk from it sees
    the last two pages and their has_more: about 1.5 pages newer than the page found, at the
    spacing of the videos seen near the end ("" when the pages do not tell)."""
    found = [i for i in _body(search.found).get(ITEMS) or [] if isinstance(i, dict)] if search.found is not None else []
    for sample in (found, search.full_items):
        times = [t for t in (_int(i.get(ITEM_TIME)) for i in sample) if t is not None]
        if len(times) >= 2 and found and times[0] > times[-1]:
            gap = (times[0] - times[-1]) / (len(times) - 1)
            newest = _int(found[0].get(ITEM_TIME))
            scale = _scale(search.asked, newest)
            if newest is None or scale is None:
                return ""
            return str(int((newest + gap * (page_size * 3 // 2 - len(found) + 0.5)) * scale))
    return ""


def _asked(link: PageLink, asked: str) -> str:
    return f"{link.cursor_param}={asked}" if asked else "the first page"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return None


def _scale(cursor: str, created: int | None) -> int | None:
    """How many cursor units make one create_time unit: 1000 for a millisecond cursor and a time in
    seconds, 1 for the same unit; None when the digits do not tell."""
    if created is None or not cursor.isdigit() or created <= 0:
        return None
    gap = len(cursor) - len(str(created))
    return {0: 1, 3: 1000}.get(gap)


def _body(response: Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def page_items(response: Response) -> list[dict[str, Any]]:
    items = _body(response).get(ITEMS)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
