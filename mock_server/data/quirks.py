"""Pages with TikTok's pagination quirks (`--quirks`) and/or TikTok's item shape (`--fidelity tiktok`).

Same videos, same order and same cursors as mock_server.data.tiktok.page; each quirk is a pure function of
(seed, handle, the page's cursor), so a page is byte-identical in every process and costs O(page size)
at any depth (no walk from page one is ever replayed):

- pinned: 1-3 older videos (`is_top: 1`) head page one, before the newest; they are left out of their
  place in time, so a full walk lists every video once. Page one's `max_cursor` is its oldest
  *unpinned* video. Profiles with more than two pages only.
- duplicates: the first page boundary repeats page one's last video first on page two (the page asked
  with exactly page one's `max_cursor`); later boundaries do not, so a walk sees one repeat.
- empty-page: one page per profile (more than three pages), the one that would hold video E, comes
  back empty with `has_more: 1` and `max_cursor` one millisecond older than the cursor asked; asking
  with that cursor returns the real page. E is deterministic per seed and handle, never on page one.
- page-sizes: each page holds page_size-2 .. page_size+1 videos (18-21 with --page-size 20, as TikTok's
  pages), drawn from the page's first video.
- zero-cursor: the last page's `max_cursor` is "0" (has_more 0); "0" asked again is page one.

`page_number` tells which page of the walk a cursor asks for (faults' `match: {page: N}`): page sizes
vary, so it follows the walk's cursors from page one, without rendering a video, up to MAX_PAGE_WALK.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from mock_server.data import tiktok, tiktok_rich
from mock_server.data.tiktok import Profile

__all__ = ["MAX_PAGE_WALK", "empty_index", "first_page_last", "page", "page_number", "page_size_at", "pinned_indices"]

MAX_PINNED = 3
MAX_PAGE_WALK = 1000  # page_number follows at most this many pages (faults' `match: {page: N}`)


def _n(profile: Profile, tag: str, index: int = 0) -> int:
    return tiktok._h64(profile.seed, profile.handle, tag, index)


def pinned_indices(profile: Profile) -> tuple[int, ...]:
    """Indices (newest first) of the pinned videos: 1..3 of the videos older than page one."""
    n, size = profile.video_count, profile.page_size
    k = min(1 + _n(profile, "pinned") % MAX_PINNED, size - 1)
    if k < 1 or n <= 2 * size + 1:
        return ()
    chosen: set[int] = set()
    salt = 0
    while len(chosen) < k:
        chosen.add(size + 1 + _n(profile, "pin", salt) % (n - size - 1))
        salt += 1
    return tuple(sorted(chosen))


def empty_index(profile: Profile, pinned: Collection[int]) -> int | None:
    """The video whose page comes back empty first (None: the profile is too short for the quirk)."""
    n, size = profile.video_count, profile.page_size
    if n <= 3 * size + 3:
        return None
    index = 2 * size + _n(profile, "empty") % (n - 3 * size)
    while index in pinned:
        index += 1
    return index


def page_size_at(profile: Profile, start: int, quirks: Collection[str]) -> int:
    """How many videos the page starting at video `start` holds."""
    if "page-sizes" not in quirks:
        return profile.page_size
    return max(1, profile.page_size - 2 + _n(profile, "size", start) % 4)


def first_page_last(profile: Profile, quirks: Collection[str]) -> int:
    """The index of page one's oldest (last unpinned) video: the boundary the duplicates quirk repeats."""
    pinned = pinned_indices(profile) if "pinned" in quirks else ()
    size = page_size_at(profile, 0, quirks)
    taken = _take(profile, 0, max(1, size - len(pinned)), pinned)
    return taken[-1] if taken else -1


def _take(profile: Profile, start: int, count: int, pinned: tuple[int, ...]) -> list[int]:
    """Up to `count` indices from `start` on, skipping the pinned ones (at most 3 to skip)."""
    out: list[int] = []
    i = start
    while len(out) < count and i < profile.video_count:
        if i not in pinned:
            out.append(i)
        i += 1
    return out


def _item(
    profile: Profile,
    index: int,
    trim: bool,
    fidelity: str,
    pinned_here: bool,
    show_top: bool,
    author: dict[str, Any] | None,
    reach: float,
) -> dict[str, Any]:
    docs = (
        tiktok._video(profile, index, False, author, reach)
        if fidelity == "tiktok" or not trim
        else tiktok._video(profile, index, True, None, reach)
    )
    if fidelity == "tiktok":
        rich = tiktok_rich.rich_video(profile.seed, profile.handle, index, docs, docs["author"], pinned_here)
        if trim:
            rich = {key: rich[key] for key in (*tiktok.TRIMMED_VIDEO_KEYS, "is_top")}
        return rich
    if show_top:
        docs["is_top"] = 1 if pinned_here else 0
    return docs


@dataclass(frozen=True)
class _Layout:
    """Which videos a page holds, before any is rendered: what `page` serves and `page_number` follows."""

    cursor_ms: int | None
    on_top: tuple[int, ...] = ()  # pinned videos heading page one
    indices: tuple[int, ...] = ()  # the rest, newest first (a repeat first when there is one)
    more: bool = False
    empty_quirk: bool = False  # the empty-page quirk's page: no video, has_more 1


def _layout(profile: Profile, cursor_ms: int | None, quirks: Collection[str]) -> _Layout:
    n = profile.video_count
    pinned = pinned_indices(profile) if "pinned" in quirks else ()
    start = 0 if cursor_ms is None else tiktok._first_older(profile, cursor_ms)
    exact = cursor_ms is not None and 0 < start <= n and tiktok._create_time(profile, start - 1) * 1000 == cursor_ms
    on_top = pinned if cursor_ms is None else ()
    indices = _take(profile, start, max(1, page_size_at(profile, start, quirks) - len(on_top)), pinned)
    if not indices:
        return _Layout(cursor_ms)
    if "empty-page" in quirks and exact:
        target = empty_index(profile, pinned)
        if target is not None and indices[0] <= target <= indices[-1]:
            return _Layout(cursor_ms, more=True, empty_quirk=True)
    if exact and "duplicates" in quirks and start - 1 == first_page_last(profile, quirks):
        indices = [start - 1, *indices[:-1]] if len(indices) > 1 else [start - 1, *indices]
    last = indices[-1]
    more = (n - 1 - last) - sum(1 for p in pinned if p > last) > 0
    return _Layout(cursor_ms, on_top, tuple(indices), more)


def _next_cursor(profile: Profile, layout: _Layout, quirks: Collection[str]) -> str:
    """The page's max_cursor: the oldest unpinned video's time in ms; see the module's quirks."""
    if layout.empty_quirk:
        if layout.cursor_ms is None:  # _layout sets the quirk only for an exact cursor
            raise TypeError("the empty-page quirk's layout has no cursor")
        return str(layout.cursor_ms - 1)
    if not layout.indices:
        return "0" if layout.cursor_ms is None else str(layout.cursor_ms)
    if not layout.more and "zero-cursor" in quirks:
        return "0"
    return str(tiktok._create_time(profile, layout.indices[-1]) * 1000)


def page_number(
    profile: Profile, max_cursor: str | None, quirks: Collection[str], bound: int = MAX_PAGE_WALK
) -> int | None:
    """Which page of the walk from page one (1 = no cursor) a maxCursor asks for, under `quirks`:
    k when it is exactly the max_cursor page k-1 gave, else None. Page sizes vary, so this follows
    the walk's cursors (no video is rendered), at most `bound` pages: deeper pages are None."""
    cursor_ms = tiktok.parse_cursor(max_cursor)
    if cursor_ms is None:
        return 1
    layout = _layout(profile, None, quirks)
    for number in range(2, bound + 1):
        if not layout.more:
            return None
        given = _next_cursor(profile, layout, quirks)
        if int(given) == cursor_ms:
            return number
        if int(given) < cursor_ms:
            return None  # the walk went past it: a cursor no walk sends
        layout = _layout(profile, int(given), quirks)
    return None


def page(profile: Profile, max_cursor: object, trim: bool, fidelity: str, quirks: Collection[str]) -> dict[str, Any]:
    """One response body, as tiktok.page, with `quirks` applied and items in `fidelity`'s shape."""
    cursor_ms = tiktok.parse_cursor(max_cursor)
    layout = _layout(profile, cursor_ms, quirks)
    extra = {"now": profile.now_s * 1000}
    if not layout.indices:
        echo = "0" if cursor_ms is None else str(cursor_ms)
        return {
            "aweme_list": [],
            "max_cursor": _next_cursor(profile, layout, quirks),
            "min_cursor": echo,
            "has_more": 1 if layout.more else 0,
            "extra": extra,
        }
    author = None if trim and fidelity == "docs" else tiktok._author(profile)
    if author is not None and fidelity == "tiktok":
        author = tiktok_rich.rich_author(profile.seed, profile.handle, author)
    reach = tiktok._reach(profile)
    show_top = "pinned" in quirks
    items = [_item(profile, i, trim, fidelity, True, show_top, author, reach) for i in layout.on_top]
    items += [_item(profile, i, trim, fidelity, False, show_top, author, reach) for i in layout.indices]
    return {
        "aweme_list": items,
        "max_cursor": _next_cursor(profile, layout, quirks),
        "min_cursor": str(items[len(layout.on_top)]["create_time"] * 1000),
        "has_more": 1 if layout.more else 0,
        "extra": extra,
    }
