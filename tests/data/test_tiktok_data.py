"""Behaviour of mock_server.data.tiktok: pagination walks, cursors, determinism, distribution, trim."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest

from mock_server.data import tiktok
from mock_server.data.tiktok import (
    DEFAULT_NOW_S,
    DEFAULT_PAGE_SIZE,
    MAX_VIDEO_COUNT,
    TRIMMED_VIDEO_KEYS,
    InvalidCursor,
    Profile,
    page,
    parse_cursor,
    video,
    video_count,
)

REPO = Path(__file__).resolve().parents[2]
STAT_KEYS = {"comment_count", "digg_count", "download_count", "play_count", "share_count"}
HASHTAG = re.compile(r"#\w+")


def profile(handle: str, seed: int = 7, pinned: dict[str, int] | None = None, **kw: int) -> Profile:
    return Profile(seed, handle, video_count(seed, handle, pinned), **kw)


def walk(p: Profile, trim: bool = False) -> tuple[list[dict], list[dict]]:
    """Follow max_cursor from the first page until has_more is 0; return (pages, all videos)."""
    pages: list[dict] = []
    cursor: str | None = None
    while True:
        body = page(p, cursor, trim)
        pages.append(body)
        assert len(pages) <= p.video_count // p.page_size + 2, "the walk does not terminate"
        if not body["has_more"]:
            break
        cursor = body["max_cursor"]
    return pages, [v for b in pages for v in b["aweme_list"]]


# ---------------------------------------------------------------------------------------------- walks


@pytest.mark.parametrize(
    ("count", "page_size"),
    [(0, 10), (1, 10), (7, 10), (10, 10), (11, 10), (20, 10), (347, 10), (10, 3), (5, 1), (101, 25)],
)
def test_full_walk_visits_every_video_once_newest_first(count: int, page_size: int) -> None:
    p = profile("walker", pinned={"walker": count}, page_size=page_size)
    pages, videos = walk(p)

    assert len(videos) == count
    assert videos == [video(p, i) for i in range(count)]  # pages are exactly video(0..n-1), in order
    ids = [v["aweme_id"] for v in videos]
    assert len(set(ids)) == count
    assert all(re.fullmatch(r"[1-9][0-9]{18}", i) for i in ids)
    times = [v["create_time"] for v in videos]
    assert all(type(t) is int and len(str(t)) == 10 for t in times)
    assert all(a > b for a, b in zip(times, times[1:], strict=False))  # strictly older and older
    assert all(t < DEFAULT_NOW_S for t in times)

    expected_pages = max(1, -(-count // page_size))  # no extra empty page after the last one
    assert len(pages) == expected_pages
    for n, body in enumerate(pages):
        assert set(body) == {"aweme_list", "max_cursor", "min_cursor", "has_more", "extra"}
        assert body["has_more"] == (1 if n < expected_pages - 1 else 0)
        assert body["extra"] == {"now": DEFAULT_NOW_S * 1000}
        if count == 0:
            assert body == {"aweme_list": [], "max_cursor": "0", "min_cursor": "0", "has_more": 0,
                            "extra": {"now": DEFAULT_NOW_S * 1000}}  # fmt: skip
            continue
        items = body["aweme_list"]
        assert 1 <= len(items) <= page_size
        assert len(items) == page_size or n == expected_pages - 1
        for cursor in (body["max_cursor"], body["min_cursor"]):
            assert isinstance(cursor, str) and re.fullmatch(r"[0-9]{13}", cursor)
        assert body["max_cursor"] == str(items[-1]["create_time"] * 1000)
        assert body["min_cursor"] == str(items[0]["create_time"] * 1000)


@pytest.mark.parametrize("handle", ["khaby.lame", "charli_damelio", "zachking", "a", "bella-poarch"])
def test_walks_of_ordinary_handles(handle: str) -> None:
    p = profile(handle, seed=3)
    pages, videos = walk(p)
    assert len(videos) == p.video_count
    assert len({v["aweme_id"] for v in videos}) == p.video_count
    assert pages[-1]["has_more"] == 0
    assert all(b["has_more"] == 1 for b in pages[:-1])


def test_cursor_after_the_last_page_is_an_empty_page_echoing_it() -> None:
    p = profile("short", pinned={"short": 4})
    last = page(p, None)
    assert last["has_more"] == 0
    after = page(p, last["max_cursor"])
    assert after == {"aweme_list": [], "max_cursor": last["max_cursor"], "min_cursor": last["max_cursor"],
                     "has_more": 0, "extra": {"now": DEFAULT_NOW_S * 1000}}  # fmt: skip


def test_empty_profile_echoes_the_given_cursor() -> None:
    p = profile("nobody", pinned={"nobody": 0})
    assert page(p, "1736000000000")["max_cursor"] == "1736000000000"
    assert page(p, "1736000000000")["min_cursor"] == "1736000000000"
    assert page(p, "")["max_cursor"] == "0"


# ---------------------------------------------------------------------------------------------- cursors


def test_cursor_returns_exactly_the_videos_strictly_older_than_it() -> None:
    p = profile("brute", pinned={"brute": 25}, page_size=4)
    times = [video(p, i)["create_time"] for i in range(25)]
    for i, t in enumerate(times):
        ms = t * 1000
        # (cursor, index of the first video expected): strictly older means t*1000 < cursor
        for cursor, first in ((ms + 1, i), (ms + 999, i), (ms, i + 1), (ms - 1, i + 1)):
            body = page(p, str(cursor))
            expected = [video(p, j) for j in range(first, min(first + 4, 25))]
            assert body["aweme_list"] == expected, (i, cursor)
            assert body["has_more"] == (1 if first + 4 < 25 else 0)


def test_cursor_newer_than_now_gives_the_first_page() -> None:
    p = profile("fresh", pinned={"fresh": 30})
    first = page(p, None)
    for cursor in (str(DEFAULT_NOW_S * 1000), str(DEFAULT_NOW_S * 1000 + 86_400_000), "9" * 19):
        assert page(p, cursor) == first


def test_cursor_older_than_everything_is_empty() -> None:
    p = profile("old", pinned={"old": 30})
    body = page(p, "1000")
    assert body["aweme_list"] == [] and body["has_more"] == 0
    assert body["max_cursor"] == body["min_cursor"] == "1000"


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None), ("", None), ("0", None), ("000", None),
    ("1", 1), ("1736092800000", 1736092800000), ("0001736092800000", 1736092800000), ("9" * 19, int("9" * 19)),
])  # fmt: skip
def test_parse_cursor_accepts(raw: str | None, expected: int | None) -> None:
    assert parse_cursor(raw) == expected


@pytest.mark.parametrize("raw", [
    "-1", "+1", " 1", "1 ", "1.5", "1e12", "abc", "0x10", "1_000", "9" * 20, "\u0661\u0662", "\u00b2", "１２",
    "12\n", 12, 1.5,
])  # fmt: skip
def test_invalid_cursors_raise(raw: object) -> None:
    with pytest.raises(InvalidCursor):
        parse_cursor(raw)  # type: ignore[arg-type]
    with pytest.raises(InvalidCursor):
        page(profile("any", pinned={"any": 20}), raw)  # type: ignore[arg-type]
    assert issubclass(InvalidCursor, ValueError)


# ---------------------------------------------------------------------------------------------- deep pages


def test_deep_page_of_a_million_video_profile_matches_its_neighbours() -> None:
    p = profile("videos-1000000")
    assert p.video_count == 1_000_000
    k = 654_321
    body = page(p, str(video(p, k - 1)["create_time"] * 1000))
    assert [v["aweme_id"] for v in body["aweme_list"]] == [video(p, i)["aweme_id"] for i in range(k, k + 10)]
    assert body["aweme_list"][0] == video(p, k)
    assert body["has_more"] == 1
    following = page(p, body["max_cursor"])
    assert following["aweme_list"][0] == video(p, k + 10)
    assert following["aweme_list"][0]["create_time"] < body["aweme_list"][-1]["create_time"]

    tail = page(p, str(video(p, 999_994)["create_time"] * 1000))  # the last 5 videos
    assert [v["aweme_id"] for v in tail["aweme_list"]] == [video(p, i)["aweme_id"] for i in range(999_995, 10**6)]
    assert tail["has_more"] == 0
    assert len(str(video(p, 999_999)["create_time"])) == 10
    assert len(video(p, 999_999)["aweme_id"]) == 19


def test_page_one_million_deep_of_the_largest_profile() -> None:
    p = profile(f"videos-{MAX_VIDEO_COUNT}")
    assert p.video_count == MAX_VIDEO_COUNT
    body = page(p, str(video(p, 999_999)["create_time"] * 1000))
    assert body["aweme_list"][0] == video(p, 1_000_000)
    last = video(p, MAX_VIDEO_COUNT - 1)
    assert len(last["aweme_id"]) == 19 and len(str(last["create_time"])) == 10


def test_video_index_out_of_range() -> None:
    p = profile("three", pinned={"three": 3})
    for index in (-1, 3, 10**9):
        with pytest.raises(IndexError):
            video(p, index)


# ---------------------------------------------------------------------------------------------- content


def test_video_fields_are_realistic() -> None:
    p = profile("realistic", pinned={"realistic": 400})
    _, videos = walk(p)
    nicknames = {v["author"]["nickname"] for v in videos}
    assert len(nicknames) == 1 and nicknames.pop().strip()
    plays = []
    for v in videos:
        assert v["id"] == v["aweme_id"]
        assert int(v["aweme_id"]) >> 32 == v["create_time"]  # TikTok ids lead with their timestamp
        assert isinstance(v["desc"], str) and 1 <= len(HASHTAG.findall(v["desc"])) <= 4
        stats = v["statistics"]
        assert set(stats) == STAT_KEYS
        assert all(type(n) is int and n >= 0 for n in stats.values())
        assert stats["digg_count"] <= stats["play_count"]
        assert stats["comment_count"] <= stats["digg_count"] and stats["share_count"] <= stats["digg_count"]
        assert stats["download_count"] <= stats["share_count"]
        assert type(v["video"]["duration"]) is int and 5 <= v["video"]["duration"] <= 600
        urls = v["video"]["cover"]["url_list"]
        assert 1 <= len(urls) <= 2 and all(u.startswith("https://") for u in urls)
        assert v["author"]["unique_id"] == "realistic"
        plays.append(stats["play_count"])
    plays.sort()
    assert plays[-1] > 10 * plays[len(plays) // 2]  # long tail: the hit dwarfs the median video
    assert len({v["desc"] for v in videos}) > 390
    assert any("#fyp" in v["desc"] for v in videos)


def test_nickname_depends_only_on_seed_and_handle() -> None:
    small = profile("samename", pinned={"samename": 3})
    big = profile("samename", pinned={"samename": 5000})
    assert video(small, 0)["author"] == video(big, 4999)["author"] == page(big, None)["aweme_list"][9]["author"]


def test_unusual_handles_are_safe() -> None:
    for handle in ("ünïcödé", "with space", "a/b?c#d", "日本語"):
        p = profile(handle, pinned={handle: 12})
        _, videos = walk(p)
        assert len(videos) == 12 and videos[0]["author"]["unique_id"] == handle
        assert " " not in videos[0]["share_url"] and "#" not in videos[0]["share_url"].split("/video/")[0][8:]


# ---------------------------------------------------------------------------------------------- trim


def test_trim_is_smaller_and_keeps_the_required_fields() -> None:
    p = profile("trimmed", pinned={"trimmed": 23})
    full_pages, full = walk(p)
    trim_pages, trimmed = walk(p, trim=True)
    assert len(orjson.dumps(trim_pages)) < len(orjson.dumps(full_pages)) / 2
    assert len(trimmed) == len(full)
    for t, f in zip(trimmed, full, strict=True):
        assert tuple(t) == TRIMMED_VIDEO_KEYS
        assert t == {k: f[k] for k in TRIMMED_VIDEO_KEYS}  # same values, fewer keys
    for t, f in zip(trim_pages, full_pages, strict=True):
        assert {k: v for k, v in t.items() if k != "aweme_list"} == {k: v for k, v in f.items() if k != "aweme_list"}
    assert video(p, 5, trim=True) == trimmed[5]


# ---------------------------------------------------------------------------------------------- determinism


SNIPPET = """
import sys, orjson
from mock_server.data.tiktok import Profile, page, video, video_count
p = Profile(11, "determinism", video_count(11, "determinism", {"determinism": 2_000_000}))
bodies = [page(p, None), page(p, "1700000000123"), page(p, None, True), video(p, 1_999_999),
          video_count(11, "khaby.lame")]
sys.stdout.buffer.write(orjson.dumps(bodies))
"""


def test_same_inputs_give_identical_bytes_in_another_process() -> None:
    p = Profile(11, "determinism", video_count(11, "determinism", {"determinism": 2_000_000}))
    here = orjson.dumps([page(p, None), page(p, "1700000000123"), page(p, None, True), video(p, 1_999_999),
                         video_count(11, "khaby.lame")])  # fmt: skip
    assert here == orjson.dumps(orjson.loads(here))
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}  # a different hash() salt
    there = subprocess.run([sys.executable, "-c", SNIPPET], cwd=REPO, env=env, capture_output=True, check=True)
    assert there.stdout == here


def test_repeated_calls_are_identical() -> None:
    p = profile("again", pinned={"again": 55})
    assert orjson.dumps(page(p, None)) == orjson.dumps(page(p, None))
    assert video(p, 17) == video(p, 17)


def test_another_seed_gives_other_data() -> None:
    a = Profile(1, "same", 50)
    b = Profile(2, "same", 50)
    va, vb = page(a, None)["aweme_list"], page(b, None)["aweme_list"]
    assert {v["aweme_id"] for v in va}.isdisjoint(v["aweme_id"] for v in vb)
    assert [v["desc"] for v in va] != [v["desc"] for v in vb]
    assert [v["statistics"] for v in va] != [v["statistics"] for v in vb]
    counts_1 = [video_count(1, f"user{i}") for i in range(50)]
    counts_2 = [video_count(2, f"user{i}") for i in range(50)]
    assert counts_1 != counts_2


def test_concurrent_calls_give_the_same_bodies_as_serial_ones() -> None:
    profiles = [Profile(5, f"thread{i}", 200) for i in range(8)]
    serial = [orjson.dumps(page(p, None)) for p in profiles]
    results: dict[int, list[bytes]] = {}

    def run(i: int) -> None:
        results[i] = [orjson.dumps(page(profiles[i], None)) for _ in range(20)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        assert results[i] == [serial[i]] * 20


# ---------------------------------------------------------------------------------------------- video_count


def test_reserved_and_pinned_counts() -> None:
    assert video_count(1, "videos-0") == 0
    assert video_count(1, "videos-1") == 1
    assert video_count(9, "videos-345") == 345
    assert video_count(1, f"videos-{MAX_VIDEO_COUNT}") == MAX_VIDEO_COUNT
    assert video_count(1, "videos-345", {"videos-345": 2}) == 2  # pinned wins over the reserved form
    assert video_count(1, "someone", {"someone": 77}) == 77
    assert video_count(1, "someone", {"other": 77}) == video_count(1, "someone")
    for ordinary in ("videos-", "videos-x", "videos--1", f"videos-{MAX_VIDEO_COUNT + 1}", "Videos-5", "videos-5 "):
        n = video_count(1, ordinary)
        assert 0 <= n <= MAX_VIDEO_COUNT and n == video_count(1, ordinary)
    for bad in (-1, MAX_VIDEO_COUNT + 1, True, 1.0, "5"):
        with pytest.raises(ValueError):
            video_count(1, "pinned", {"pinned": bad})  # type: ignore[dict-item]


def test_profile_rejects_impossible_values() -> None:
    for kw in ({"video_count": -1}, {"video_count": MAX_VIDEO_COUNT + 1}, {"video_count": 5, "page_size": 0}):
        with pytest.raises(ValueError):
            Profile(seed=1, handle="x", **kw)  # type: ignore[arg-type]


def test_count_distribution_over_many_handles() -> None:
    counts = sorted(video_count(2024, f"creator_{i}") for i in range(2000))
    zero = sum(n == 0 for n in counts) / len(counts)
    single_page = sum(1 <= n <= DEFAULT_PAGE_SIZE for n in counts) / len(counts)
    more = sum(n > DEFAULT_PAGE_SIZE for n in counts) / len(counts)
    assert 0.03 <= zero <= 0.08
    assert 0.07 <= single_page <= 0.14
    assert more >= 0.8
    assert 20 <= counts[len(counts) // 2] <= 400  # most have tens to a few hundred
    assert any(n >= 1000 for n in counts)  # a few have thousands
    assert sum(n >= 1000 for n in counts) / len(counts) < 0.06


def test_module_has_no_hash_or_global_rng() -> None:
    tree = ast.parse(Path(tiktok.__file__).read_text())
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert not [f for f in calls if isinstance(f, ast.Name) and f.id == "hash"]  # salted per process
    attrs = {ast.unparse(f) for f in calls if isinstance(f, ast.Attribute)}
    assert not attrs & {"random.seed", "faker.Faker.seed", "Faker.seed"}  # no process-global seeding
