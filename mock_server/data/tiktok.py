"""Realistic TikTok profile videos for the mock of POST /api/v1/get-tiktok-profile-videos.

Every value is a pure function of (seed, handle, index) plus the profile's video_count and frozen clock:
nothing is stored, so a profile of ten million videos costs nothing and page one million is computed as
cheaply as page one (video i and its create_time are addressed directly, cursors are inverted in O(1)).

Randomness comes from hashlib.blake2b of a canonical key, never from hash() (salted per process), so the same
inputs give byte-identical bodies in every process. Faker (pinned in pyproject.toml) only supplies words and
names; its output for a given seed is stable for a given Faker version and locale.

Pagination mirrors TikTok's: videos newest first, create_time strictly decreasing with the index;
`max_cursor` is the create_time (in ms) of the oldest video on the page, and passing it back as `maxCursor`
returns the videos strictly older than it.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import faker

from mock_server.exceptions import InvalidCursor

__all__ = [
    "DEFAULT_NOW_S",
    "DEFAULT_PAGE_SIZE",
    "MAX_CURSOR_DIGITS",
    "MAX_VIDEO_COUNT",
    "TIKTOK_OPERATION",
    "TRIMMED_VIDEO_KEYS",
    "InvalidCursor",
    "Profile",
    "page",
    "page_number",
    "parse_cursor",
    "video",
    "video_count",
]

TIKTOK_OPERATION: str = "listTikTokProfileVideos"  # the contract's operationId for the endpoint these pages serve
DEFAULT_NOW_S: int = 1736179200  # frozen clock of the mock (2025-01-06T16:00Z); extra.now = now_s*1000
DEFAULT_PAGE_SIZE: int = 10
MAX_VIDEO_COUNT: int = 10_000_000  # keeps every create_time within ~3 years before now_s (10 digits, 19-digit ids)
MAX_CURSOR_DIGITS: int = 19  # a signed 64-bit integer never has more

# Keys every video keeps when trim=True. Dropped: `id`, `region`, `share_url`, `video` (duration, size, covers)
# and `author` (unique_id, nickname, uid) -- the caller already knows the author, and covers are the bulk.
TRIMMED_VIDEO_KEYS: tuple[str, ...] = ("aweme_id", "desc", "create_time", "statistics")

_NEWEST_AGE_S = 3600  # the newest video of every profile was posted one hour before now_s
_SPAN_S = 3 * 365 * 86_400  # a profile's videos are spread over about three years
_RESERVED_HANDLE = re.compile(r"videos-([0-9]{1,8})")  # [0-9], not \d: no non-ASCII digits
_POPULAR_TAGS = (
    "fyp", "foryou", "foryoupage", "viral", "trending", "tiktok", "funny", "comedy", "dance", "music",
    "food", "travel", "fitness", "beauty", "fashion", "diy", "pets", "gaming", "storytime", "learnontiktok",
)  # fmt: skip
_COVER_HOSTS = ("p16-sign-va.tiktokcdn.com", "p19-sign.tiktokcdn-us.com")


@dataclass(frozen=True)
class Profile:
    """Everything a page depends on; cheap to build per request."""

    seed: int
    handle: str  # already without a leading '@'
    video_count: int
    page_size: int = DEFAULT_PAGE_SIZE
    now_s: int = DEFAULT_NOW_S

    def __post_init__(self) -> None:
        if not 0 <= self.video_count <= MAX_VIDEO_COUNT:
            raise ValueError(f"video_count must be in 0..{MAX_VIDEO_COUNT}, got {self.video_count}")
        if self.page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {self.page_size}")


def _h64(seed: int, handle: str, tag: str, index: int = 0) -> int:
    """Stable 64-bit hash of (seed, handle, tag, index); the length prefix keeps keys unambiguous."""
    key = f"{seed}:{len(handle)}:{handle}:{tag}:{index}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def video_count(seed: int, handle: str, pinned: Mapping[str, int] | None = None) -> int:
    """Number of videos of a profile. pinned[handle] wins; reserved handle 'videos-N' (N decimal, 0..10_000_000)
    has exactly N; otherwise a deterministic long-tailed count from (seed, handle): about 5% of handles have 0,
    about 10% fit in one page (1..page size), most have tens to a few hundred, a few have thousands.

    A pinned value outside 0..MAX_VIDEO_COUNT raises ValueError. 'videos-N' with N > 10_000_000 or more than
    8 digits is an ordinary handle."""
    if pinned is not None and handle in pinned:
        n = pinned[handle]
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_VIDEO_COUNT:
            raise ValueError(f"pinned video count for {handle!r} must be an int in 0..{MAX_VIDEO_COUNT}: {n!r}")
        return n
    reserved = _RESERVED_HANDLE.fullmatch(handle)
    if reserved is not None and int(reserved.group(1)) <= MAX_VIDEO_COUNT:
        return int(reserved.group(1))
    rng = random.Random(_h64(seed, handle, "count"))
    u = rng.random()
    if u < 0.05:
        return 0
    if u < 0.15:
        return rng.randint(1, DEFAULT_PAGE_SIZE)
    lo, hi = (DEFAULT_PAGE_SIZE + 1, 800) if u < 0.97 else (1_000, 25_000)
    return min(hi, max(lo, round(math.exp(rng.uniform(math.log(lo), math.log(hi))))))  # log-uniform


def parse_cursor(max_cursor: object) -> int | None:
    """None/'' /'0' -> None (first page). A decimal string of digits (max 19 digits) -> int milliseconds.
    Anything else (sign, spaces, letters, floats, too long) -> InvalidCursor.

    Any all-zero string ('00') is also the first page, as TikTok treats max_cursor=0."""
    if max_cursor is None:
        return None
    if not isinstance(max_cursor, str):
        raise InvalidCursor(f"maxCursor must be a string, got {type(max_cursor).__name__}")
    if max_cursor == "":
        return None
    # isascii() first: str.isdigit() also accepts '²' and Arabic-Indic digits.
    if not (max_cursor.isascii() and max_cursor.isdigit()) or len(max_cursor) > MAX_CURSOR_DIGITS:
        raise InvalidCursor(f"maxCursor must be 1..{MAX_CURSOR_DIGITS} decimal digits")
    value = int(max_cursor)
    return value or None


def _gap(profile: Profile) -> int:
    """Seconds between consecutive videos: the profile spans ~3 years, at least 2 s apart."""
    return max(2, _SPAN_S // max(1, profile.video_count))


def _create_time(profile: Profile, index: int) -> int:
    """t_i = newest - i*G - jitter_i with 0 <= jitter_i < G//2, hence t_i - t_{i+1} > G - G//2 > 0 always."""
    gap = _gap(profile)
    jitter = _h64(profile.seed, profile.handle, "t", index) % (gap // 2)  # gap >= 2, so modulus >= 1
    return profile.now_s - _NEWEST_AGE_S - index * gap - jitter


def _first_older(profile: Profile, cursor_ms: int) -> int:
    """Smallest index whose create_time*1000 < cursor_ms (video_count if none), in O(1).

    t*1000 < c  <=>  t < ceil(c/1000) = s. Since newest - i*G - G/2 < t_i <= newest - i*G, the answer is
    (newest - s)//G or one more; the loops only absorb that step and the clamping at both ends."""
    n = profile.video_count
    s = -(-cursor_ms // 1000)
    i = min(n, max(0, (profile.now_s - _NEWEST_AGE_S - s) // _gap(profile)))
    while i > 0 and _create_time(profile, i - 1) < s:
        i -= 1
    while i < n and _create_time(profile, i) >= s:
        i += 1
    return i


class _Text:
    """The module's one Faker. Faker('en_US') takes ~30 ms to build, so it is built once, lazily; seeding and
    drawing mutate it, so a lock makes seed+draw atomic when the server calls us from several threads."""

    def __init__(self) -> None:
        self._fake = faker.Faker("en_US")
        self._lock = threading.Lock()

    def caption(self, seed: int, n_words: int, n_word_tags: int) -> tuple[str, list[str], str]:
        """(sentence without its final period, up to n_word_tags distinct words, an emoji)."""
        with self._lock:
            self._fake.seed_instance(seed)
            sentence = self._fake.sentence(nb_words=n_words) if n_words else ""
            words = self._fake.words(nb=n_word_tags, unique=True) if n_word_tags else []
            emoji = self._fake.emoji()
        return sentence.rstrip("."), words, emoji

    def nickname(self, seed: int, style: int, handle: str) -> str:
        """A display name in one of four styles TikTok users pick."""
        with self._lock:
            self._fake.seed_instance(seed)
            if style == 0:
                return f"{self._fake.first_name()} {self._fake.last_name()}"
            if style == 1:
                return f"{self._fake.first_name()} {self._fake.emoji()}"
            if style == 2:
                return f"{self._fake.first_name()} {self._fake.last_name()[0]}."
            spaced = re.sub(r"[._]+", " ", handle).strip().title()
            return spaced or self._fake.name()


@functools.cache
def _text() -> _Text:
    """Lazy singleton; a race on first use may build two, both equivalent, so no lock is needed here."""
    return _Text()


def _author(profile: Profile) -> dict[str, Any]:
    """The author object, identical on every video and page of the profile: it depends on (seed, handle) only."""
    h = _h64(profile.seed, profile.handle, "author")
    return {
        "uid": str(6_000_000_000_000_000_000 + h % 1_000_000_000_000_000_000),
        "unique_id": profile.handle,
        "nickname": _text().nickname(h, h % 4, profile.handle),
    }


def _reach(profile: Profile) -> float:
    """Log of the profile's median plays per video, e^6 ~ 400 .. e^12 ~ 160k: creators differ in audience."""
    return 6.0 + 6.0 * (_h64(profile.seed, profile.handle, "reach") % 10_000) / 10_000


def _video(profile: Profile, index: int, trim: bool, author: dict[str, Any] | None, reach: float) -> dict[str, Any]:
    """Video `index`; every random draw happens whatever `trim` is, so both forms share their values."""
    t = _create_time(profile, index)
    h = _h64(profile.seed, profile.handle, "video", index)
    aweme_id = str((t << 32) | (h & 0xFFFF_FFFF))  # TikTok ids lead with the timestamp; 19 digits in the 2020s
    rng = random.Random(h)
    # Log-normal plays around the profile's reach (the tail makes the hits); each other counter is a
    # log-normally scattered fraction of the one it follows (lognormvariate is 4x cheaper than betavariate).
    plays = int(min(2e9, rng.lognormvariate(reach, 1.3)))
    diggs = int(plays * min(0.5, rng.lognormvariate(-2.6, 0.6)))  # ~8% of viewers like
    comments = int(diggs * min(0.5, rng.lognormvariate(-3.8, 0.8)))  # ~2% of likes
    shares = int(diggs * min(0.5, rng.lognormvariate(-3.6, 0.9)))  # ~3% of likes
    downloads = int(shares * min(1.0, rng.lognormvariate(-1.8, 0.8)))  # ~17% of shares
    duration = int(min(600.0, max(5.0, rng.lognormvariate(math.log(24.0), 0.8))))
    hd = rng.random() < 0.8
    cover_key = f"{rng.getrandbits(128):032x}"
    n_covers = 1 + (rng.random() < 0.5)
    n_tags = rng.randint(1, 4)
    n_popular = rng.randint(0, n_tags)
    popular = rng.sample(_POPULAR_TAGS, n_popular)
    n_words = 0 if rng.random() < 0.1 else rng.randint(3, 12)  # 10% of captions are hashtags only
    with_emoji = rng.random() < 0.3
    caption, word_tags, emoji = _text().caption(rng.getrandbits(64), n_words, n_tags - n_popular)
    tags = " ".join("#" + tag for tag in dict.fromkeys(popular + word_tags))  # at least 1, at most 4, distinct
    desc = " ".join(part for part in (caption, emoji if with_emoji else "", tags) if part)
    statistics = {
        "comment_count": comments,
        "digg_count": diggs,
        "download_count": downloads,
        "play_count": plays,
        "share_count": shares,
    }
    if trim:
        return {"aweme_id": aweme_id, "desc": desc, "create_time": t, "statistics": statistics}
    return {
        "aweme_id": aweme_id,
        "id": aweme_id,
        "desc": desc,
        "create_time": t,
        "region": "US",
        "share_url": f"https://www.tiktok.com/@{quote(profile.handle, safe='')}/video/{aweme_id}",
        "statistics": statistics,
        "video": {
            "duration": duration,
            "width": 1080 if hd else 720,
            "height": 1920 if hd else 1280,
            "ratio": "1080p" if hd else "720p",
            "cover": {
                "url_list": [
                    f"https://{host}/tos-maliva-p-0068/{cover_key}~tplv-tiktokx-cropcenter:300:400.jpeg"
                    for host in _COVER_HOSTS[:n_covers]
                ]
            },
        },
        "author": dict(author) if author is not None else _author(profile),  # a copy: callers may mutate
    }


def video(profile: Profile, index: int, trim: bool = False) -> dict[str, Any]:
    """Video number `index` (0 = newest) computed directly in O(1) — never build the list."""
    if not 0 <= index < profile.video_count:
        raise IndexError(f"video index {index} out of range 0..{profile.video_count - 1}")
    return _video(profile, index, trim, None, _reach(profile))


def page_number(profile: Profile, max_cursor: str | None) -> int | None:
    """Which page of the walk (1 = no cursor) a maxCursor asks for: k when it is exactly the
    max_cursor that page k-1 gave, else None (a cursor no walk of this profile sends). Faults
    match "page k" with it, in O(1)."""
    cursor_ms = parse_cursor(max_cursor)
    if cursor_ms is None:
        return 1
    start = _first_older(profile, cursor_ms)
    if start == 0 or start % profile.page_size or start >= profile.video_count:
        return None
    return start // profile.page_size + 1 if _create_time(profile, start - 1) * 1000 == cursor_ms else None


def page(profile: Profile, max_cursor: object, trim: bool = False) -> dict[str, Any]:
    """One response body (a dict ready for JSON).

    Raises InvalidCursor for a malformed maxCursor. A cursor newer than every video gives the first page;
    one older than every video (or an empty profile) gives an empty list that echoes the cursor ('0' if none)."""
    cursor_ms = parse_cursor(max_cursor)
    start = 0 if cursor_ms is None else _first_older(profile, cursor_ms)
    end = min(start + profile.page_size, profile.video_count)
    extra = {"now": profile.now_s * 1000}
    if start >= end:
        echo = "0" if cursor_ms is None else str(cursor_ms)
        return {"aweme_list": [], "max_cursor": echo, "min_cursor": echo, "has_more": 0, "extra": extra}
    author = None if trim else _author(profile)  # once per page: Faker names cost ~0.1 ms
    reach = _reach(profile)
    items = [_video(profile, i, trim, author, reach) for i in range(start, end)]
    return {
        "aweme_list": items,
        "max_cursor": str(items[-1]["create_time"] * 1000),
        "min_cursor": str(items[0]["create_time"] * 1000),
        "has_more": 1 if end < profile.video_count else 0,
        "extra": extra,
    }
