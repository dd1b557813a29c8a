"""Issue 15: `--fidelity tiktok` (TikTok's item shape) and `--quirks` (TikTok's pagination quirks).

Each quirk is paged by a careful client and by a naive one (tests/clients/quirky.py) against a real
mock on loopback: the careful one gets every video exactly once, the naive one loses or repeats the
exact videos named here; verify-client names the naive client's mistake; the kit passes a quirky mock
with zero findings but still reports a walk that never ends.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from contract_tests import pagination
from mock_server import MockServer
from mock_server.cli.main import main
from mock_server.contract.links import PageLink
from mock_server.data import quirks, tiktok, tiktok_rich
from mock_server.data.pages import Pages
from mock_server.exceptions import SettingsError
from mock_server.settings import QUIRKS, Settings, resolve
from mock_server.testing.server import settings_for

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "clients"))
import quirky  # noqa: E402

HANDLE = "videos-95"  # 95 videos, 20 a page: pins (23, 69), the empty page before video 62, a 19-video page 2
SIZE = 20


def profile(handle: str = HANDLE, seed: int = 1) -> tiktok.Profile:
    return tiktok.Profile(seed, handle, tiktok.video_count(seed, handle), SIZE)


def all_ids(p: tiktok.Profile) -> list[str]:
    """Every video of the profile, newest first: what a careful client must end up with."""
    return [tiktok.video(p, i, trim=True)["aweme_id"] for i in range(p.video_count)]


def walk_pages(mock: MockServer, handle: str = HANDLE) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        page = quirky.fetch(mock.url, mock.api_key, handle, cursor)
        pages.append(page)
        if page["has_more"] != 1:
            return pages
        cursor = page["max_cursor"]


def run(mock: MockServer, client: str, since: int = 0, handle: str = HANDLE) -> list[str]:
    return quirky.CLIENTS[client](lambda cursor: quirky.fetch(mock.url, mock.api_key, handle, cursor), since)


@pytest.fixture(scope="module")
def mocks() -> Any:
    """One mock per quirk alone (20 a page, TikTok's shape), and one with every quirk."""
    started = {q: MockServer(quirks=q, fidelity="tiktok", page_size=SIZE).start() for q in (*QUIRKS, "all")}
    yield started
    for mock in started.values():
        mock.stop()


# --- the settings ---------------------------------------------------------------------------------
def test_the_switches_parse_from_every_source(tmp_path: Path) -> None:
    assert Settings().fidelity == "docs" and Settings().quirks == ()  # the documented default
    assert Settings(quirks="all").quirks == QUIRKS
    assert Settings(quirks="zero-cursor, pinned").quirks == ("pinned", "zero-cursor")  # canonical order
    assert Settings(quirks="none").quirks == ()
    config = tmp_path / "mock.yaml"
    config.write_text("fidelity: tiktok\nquirks: [pinned, empty-page]\n")
    settings = resolve({"config": str(config)}, {})
    assert (settings.fidelity, settings.quirks) == ("tiktok", ("pinned", "empty-page"))
    env = resolve({"quirks": "page-sizes"}, {"DUMPLING_MOCK_QUIRKS": "all", "DUMPLING_MOCK_FIDELITY": "tiktok"})
    assert (env.fidelity, env.quirks) == ("tiktok", ("page-sizes",))  # the flag wins over the environment
    fixture = settings_for({"quirks": ["duplicates"], "fidelity": "tiktok", "config": str(config)})
    assert (fixture.fidelity, fixture.quirks) == ("tiktok", ("duplicates",))  # MockServer(**options)
    with pytest.raises(
        SettingsError,
        match=r"--quirks: unknown quirk 'pinnned': must be all, none, or comma-separated names from pinned, duplicates, empty-page, page-sizes, zero-cursor \(got 'pinnned'\)",
    ):
        resolve({"quirks": "pinnned"}, {})
    with pytest.raises(SettingsError, match=r"DUMPLING_MOCK_FIDELITY: must be one of docs, tiktok \(got 'full'\)"):
        resolve({}, {"DUMPLING_MOCK_FIDELITY": "full"})


# --- the TikTok shape -----------------------------------------------------------------------------
def test_tiktok_items_carry_tiktoks_shape_consistently() -> None:
    p = profile()
    docs = tiktok.page(p, None)
    rich = quirks.page(p, None, False, "tiktok", ())
    assert [i["aweme_id"] for i in rich["aweme_list"]] == [i["aweme_id"] for i in docs["aweme_list"]]
    assert (rich["max_cursor"], rich["has_more"]) == (docs["max_cursor"], docs["has_more"])
    mentions = 0
    for item, plain in zip(rich["aweme_list"], docs["aweme_list"], strict=True):
        assert item["video"]["duration"] // 1000 == plain["video"]["duration"]  # milliseconds; docs mode: seconds
        assert {k: item["statistics"][k] for k in plain["statistics"]} == plain["statistics"]
        assert set(item["statistics"]) - set(plain["statistics"]) == {
            "aweme_id",
            "collect_count",
            "forward_count",
            "whatsapp_share_count",
        }
        for name in ("play_addr", "download_addr", "origin_cover", "dynamic_cover", "cover"):
            address = item["video"][name]
            assert set(address) >= {"uri", "url_list", "width", "height"} and address["url_list"][0].startswith(
                "https://"
            )
        music = item["music"]
        assert isinstance(music["id"], int) and music["id_str"] == str(music["id"]) and music["play_url"]["url_list"]
        assert (
            music["duration"] == (plain["video"]["duration"] if music["original"] else music["duration"])
            and 5 <= music["duration"] <= 600
        )
        assert (item["is_top"], item["aweme_type"], item["region"]) == (0, 0, "US")
        assert item["share_url"].startswith(f"https://www.tiktok.com/@{HANDLE}/video/{item['aweme_id']}")
        # every #tag and @mention of desc is in text_extra, at UTF-16 offsets (emoji count twice)
        units = item["desc"].encode("utf-16-le")
        marked = [units[2 * e["start"] : 2 * e["end"]].decode("utf-16-le") for e in item["text_extra"]]
        expected = [w for w in item["desc"].replace("(", " ").replace(")", " ").split() if w[0] in "#@"]
        assert marked == expected and expected
        for extra in item["text_extra"]:
            if extra["type"] == 0:
                mentions += 1
                assert extra["user_id"] == tiktok_rich.uid(1, marked[item["text_extra"].index(extra)][1:])
            else:
                assert marked[item["text_extra"].index(extra)] == "#" + extra["hashtag_name"]
    assert mentions >= 1
    author = rich["aweme_list"][0]["author"]
    assert (
        author["uid"] == docs["aweme_list"][0]["author"]["uid"]
        and author["sec_uid"].startswith("MS4wLjABAAAA")
        and len(author["sec_uid"]) == 76
    )
    assert set(author) >= {
        "uid",
        "unique_id",
        "nickname",
        "sec_uid",
        "signature",
        "avatar_thumb",
        "avatar_medium",
        "avatar_larger",
    }
    deeper = quirks.page(p, rich["max_cursor"], False, "tiktok", ())
    assert all(i["author"] == author for i in rich["aweme_list"] + deeper["aweme_list"])  # across pages too


def test_pages_are_byte_identical_per_seed_and_handle() -> None:
    settings = Settings(fidelity="tiktok", quirks="all", page_size=SIZE)
    one, two = Pages(settings), Pages(Settings(fidelity="tiktok", quirks="all", page_size=SIZE))
    cursor = None
    for _ in range(3):
        body = one.render(HANDLE, cursor, False)
        assert body == two.render(HANDLE, cursor, False)
        cursor = orjson.loads(body)["max_cursor"]
    assert Pages(Settings(fidelity="tiktok", quirks="all", page_size=SIZE, seed=2)).render(
        HANDLE, None, False
    ) != one.render(HANDLE, None, False)


def test_a_deep_page_costs_what_page_one_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    """O(page size) at any depth: count the videos and times computed for a page near the end of
    a ten-million-video profile."""
    p = tiktok.Profile(1, "videos-10000000", 10_000_000, SIZE)
    calls = {"time": 0, "video": 0}
    real_time, real_video = tiktok._create_time, tiktok._video
    monkeypatch.setattr(
        tiktok, "_create_time", lambda *a: calls.__setitem__("time", calls["time"] + 1) or real_time(*a)
    )
    monkeypatch.setattr(tiktok, "_video", lambda *a: calls.__setitem__("video", calls["video"] + 1) or real_video(*a))
    deep = str(tiktok._create_time(p, 9_999_000) * 1000)
    body = quirks.page(p, deep, False, "tiktok", QUIRKS)
    assert len(body["aweme_list"]) in range(SIZE - 2, SIZE + 2) and body["has_more"] == 1
    assert calls["video"] == len(body["aweme_list"]) and calls["time"] < 200


# --- each quirk, paged by a careful and a naive client ----------------------------------------------
def test_careful_client_gets_every_video_once_under_every_quirk(mocks: dict[str, MockServer]) -> None:
    expected = set(all_ids(profile()))
    for name, mock in mocks.items():
        kept = run(mock, "careful")
        assert len(kept) == len(expected) == 95 and set(kept) == expected, name


def test_pinned_videos_open_page_one_and_fool_a_naive_sync(mocks: dict[str, MockServer]) -> None:
    p, ids = profile(), all_ids(profile())
    first = walk_pages(mocks["pinned"])[0]["aweme_list"]
    assert [i["aweme_id"] for i in first[:2]] == [ids[23], ids[69]] and [i["is_top"] for i in first[:3]] == [1, 1, 0]
    assert first[0]["create_time"] < first[-1]["create_time"]  # pinned: older than the videos after them
    since = tiktok.video(p, 5, trim=True)["create_time"]  # the last sync saw video 5 and older
    assert run(mocks["pinned"], "sync-careful", since) == ids[:5]
    assert run(mocks["pinned"], "sync-naive", since) == []  # loses the 5 new videos: stopped at the pinned one


def test_a_repeat_across_the_first_boundary_is_kept_twice_by_a_naive_client(mocks: dict[str, MockServer]) -> None:
    pages = walk_pages(mocks["duplicates"])
    ids = all_ids(profile())
    assert pages[1]["aweme_list"][0]["aweme_id"] == pages[0]["aweme_list"][-1]["aweme_id"] == ids[19]
    assert sum(len(p["aweme_list"]) for p in pages) == 96  # one repeat in the whole walk, no other
    kept = run(mocks["duplicates"], "naive-duplicates")
    assert len(kept) == 96 and [i for i in set(kept) if kept.count(i) > 1] == [ids[19]]


def test_an_empty_page_with_has_more_stops_a_naive_client(mocks: dict[str, MockServer]) -> None:
    pages = walk_pages(mocks["empty-page"])
    empty = [n for n, p in enumerate(pages) if not p["aweme_list"]]
    assert len(empty) == 1 and pages[empty[0]]["has_more"] == 1 and pages[-1]["aweme_list"]
    asked = pages[empty[0] - 1]["max_cursor"]
    assert pages[empty[0]]["max_cursor"] == str(int(asked) - 1)  # one millisecond older: the walk goes on
    ids = all_ids(profile())
    kept = run(mocks["empty-page"], "naive-empty")
    assert kept == ids[:60]  # the page that holds video 62 came back empty: videos 60..94 are lost


def test_a_naive_client_that_assumes_a_page_size_stops_early(mocks: dict[str, MockServer]) -> None:
    sizes = [len(p["aweme_list"]) for p in walk_pages(mocks["page-sizes"])]
    assert sizes == [20, 20, 21, 18, 16] and sum(sizes) == 95  # 18-21 a page, as TikTok's
    kept = run(mocks["page-sizes"], "naive-size")
    assert kept == all_ids(profile())[:79]  # stopped after the 18-video page 4: the last 16 videos lost


def test_the_last_pages_zero_cursor_restarts_a_naive_client(mocks: dict[str, MockServer]) -> None:
    pages = walk_pages(mocks["zero-cursor"])
    assert (pages[-1]["max_cursor"], pages[-1]["has_more"]) == ("0", 0) and all(
        p["max_cursor"] != "0" for p in pages[:-1]
    )
    ids = all_ids(profile())
    kept = run(mocks["zero-cursor"], "naive-zero")
    assert kept[:95] == ids and kept[95:115] == ids[:20]  # after the last page, page one again


# --- verify-client names the mistake ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("client", "since", "rule"),
    [
        ("naive-empty", 0, "stopped-at-empty-page"),
        ("naive-size", 0, "page-size-assumed"),
        ("sync-naive", "video5", "pinned-order"),
        ("naive-zero", 0, "zero-cursor-followed"),  # under every quirk but empty-page (it stops at an empty page)
        ("careful", 0, None),
        ("naive-duplicates", 0, None),  # a repeat kept is not visible in the requests: the test above shows it
    ],
)
def test_verify_client_names_why_a_naive_client_lost_videos(
    tmp_path: Path, client: str, since: Any, rule: str | None
) -> None:
    config = tmp_path / "quirky.yaml"
    served = "pinned,duplicates,page-sizes,zero-cursor" if client == "naive-zero" else "all"
    config.write_text(f"quirks: {served}\nfidelity: tiktok\npage_size: {SIZE}\n")
    report = tmp_path / "report.json"
    since = tiktok.video(profile(), 5, trim=True)["create_time"] if since == "video5" else since
    command = [sys.executable, str(ROOT / "tests" / "clients" / "quirky.py"), client, HANDLE, str(since)]
    assert main(["verify-client", "--config", str(config), "--report-json", str(report), "--", *command]) == 0
    found = {f["rule"]: f["message"] for r in json.loads(report.read_text())["requests"] for f in r["findings"]}
    quirk_rules = {"stopped-at-empty-page", "page-size-assumed", "pinned-order", "zero-cursor-followed"}
    assert set(found) & quirk_rules == ({rule} if rule else set()), found
    if rule == "stopped-at-empty-page":
        assert f"handle '{HANDLE}': the last page read was empty with has_more 1" in found[rule]
    if rule == "page-size-assumed":
        assert "stopped after a page of 19 video(s), fewer than the 20 of an earlier page" in found[rule]
    if rule == "pinned-order":
        assert "whose first 2 video(s) are pinned (is_top 1)" in found[rule]
    if client == "careful":
        assert found == {}


# --- the kit ----------------------------------------------------------------------------------------
def _response(body: dict[str, Any]) -> Any:
    return SimpleNamespace(
        status_code=200,
        headers={"content-type": ["application/json"]},
        content=orjson.dumps(body),
        message="",
        request=None,
    )


def test_the_kit_passes_one_empty_page_and_reports_a_walk_that_never_ends() -> None:
    link = PageLink("NextPage", "max_cursor", "maxCursor", ("handle",))
    first = {
        "aweme_list": [{"aweme_id": "1", "create_time": 1_700_000_000}],
        "max_cursor": "1700000000000",
        "has_more": 1,
    }
    empty = {"aweme_list": [], "max_cursor": "1699999999999", "has_more": 1}
    last = {"aweme_list": [{"aweme_id": "2", "create_time": 1_690_000_000}], "max_cursor": "0", "has_more": 0}
    once = iter([empty, last])
    walk = pagination.walk(_response(first), lambda cursor: _response(next(once)), link, 10)
    assert walk.problems == [] and walk.reached_end and walk.items == 2
    assert any("is empty with has_more=1 and max_cursor 1699999999999; the walk went on" in n for n in walk.notes)
    assert any('gives max_cursor "0"' in n for n in walk.notes)
    endless = iter({"aweme_list": [], "max_cursor": str(1_699_999_999_999 - k), "has_more": 1} for k in range(100))
    walk = pagination.walk(_response(first), lambda cursor: _response(next(endless)), link, 10)
    assert [p.message for p in walk.problems] == [
        "has_more=1 on page 3, which is empty (status 200, maxCursor=1699999999999); the contract expects has_more=0 on an empty page"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("fidelity", ["tiktok", "docs"])
def test_the_kit_passes_a_quirky_mock_with_zero_findings(tmp_path: Path, fidelity: str) -> None:
    """The remote kit (default budget: 3-page walk, end search) on a 2,000-video profile, and a walk
    through a whole 95-video profile that meets every quirk."""
    with MockServer(keys={"sk_quirky_kit": 10**9}, quirks="all", fidelity=fidelity, page_size=SIZE) as mock:
        for handle, extra in (("videos-2000", []), (HANDLE, ["--walk-pages", "8"])):
            reports = tmp_path / f"{handle}-{fidelity}"
            done = subprocess.run(
                [sys.executable, "-m", "contract_tests", "--base-url", mock.url, "--api-key", "sk_quirky_kit", "--handle", handle, "--reports-dir", str(reports), *extra],
                capture_output=True, text=True, timeout=240, cwd=ROOT,
            )  # fmt: skip
            summary = json.loads((reports / "findings.json").read_text())
            assert (done.returncode, summary["findings"]) == (0, []), done.stdout[-2000:]
            notes = "\n".join(summary["notes"])
            if handle == HANDLE:
                assert (
                    "is empty with has_more=1" in notes
                    and "repeats aweme_id" in notes
                    and 'gives max_cursor "0"' in notes
                )
            else:
                assert "pagination_end:" in notes and 'max_cursor "0"' in notes


def test_with_no_quirk_and_the_docs_shape_the_quirky_pager_is_the_plain_one() -> None:
    """quirks.page builds on tiktok.page's videos and cursors: with nothing switched on, the same body."""
    for handle in (HANDLE, "videos-0", "videos-7", "stoolpresidente"):
        p = profile(handle)
        for cursor in (
            None,
            "",
            "0",
            "1",
            "99999999999999",
            str(tiktok._create_time(p, 3) * 1000) if p.video_count > 3 else "5",
        ):
            for trim in (False, True):
                assert quirks.page(p, cursor, trim, "docs", ()) == tiktok.page(p, cursor, trim), (handle, cursor, trim)


def test_a_fault_matched_by_page_hits_that_page_of_the_quirky_walk() -> None:
    """faults' `match: {page: N}` follows the quirky walk: page 4 is the empty page under `all`."""
    p = profile()
    cursors: list[str | None] = [None]
    for _ in range(5):
        cursors.append(quirks.page(p, cursors[-1], True, "docs", QUIRKS)["max_cursor"])
    assert [quirks.page_number(p, c, QUIRKS) for c in cursors[:6]] == [1, 2, 3, 4, 5, 6]
    assert quirks.page_number(p, str(int(cursors[3]) + 1), QUIRKS) is None  # a cursor no walk sends
    with MockServer(quirks="all", page_size=SIZE) as mock:
        mock.fault(503, match={"handle": HANDLE, "page": 4})
        statuses = []
        for cursor in cursors[:5]:
            try:
                page = quirky.fetch(mock.url, mock.api_key, HANDLE, cursor)
                statuses.append((200, len(page["aweme_list"])))
            except urllib.error.HTTPError as exc:
                statuses.append((exc.code, 0))
    assert statuses == [(200, 20), (200, 19), (200, 21), (503, 0), (200, 19)]


def test_the_readme_sizes_and_the_trimmed_tiktok_item() -> None:
    """README: docs pages are about a sixth the size of TikTok-shaped ones (7 KB against 46 KB for
    ten videos); docs/tiktok-shape.md: `trim: true` keeps aweme_id, desc, create_time, statistics, is_top."""
    docs = len(Pages(Settings()).render("stoolpresidente", None, False))
    rich = len(Pages(Settings(fidelity="tiktok")).render("stoolpresidente", None, False))
    assert 6_500 < docs < 8_000 and 40_000 < rich < 52_000
    trimmed = orjson.loads(Pages(Settings(fidelity="tiktok")).render("stoolpresidente", None, True))["aweme_list"][0]
    assert list(trimmed) == ["aweme_id", "desc", "create_time", "statistics", "is_top"]
    assert set(trimmed["statistics"]) >= {"collect_count", "forward_count", "whatsapp_share_count"}
