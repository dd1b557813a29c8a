"""The parts of `make bench` (bench/run.py), on tiny inputs: no figure is asserted, only that each
part measures what it says (the right requests, the right page, the right processes)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import ROOT, LiveMock

from mock_server.data import tiktok

spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_run"] = bench  # dataclasses look their module up while the file runs
spec.loader.exec_module(bench)

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:1234
  2 threads and 32 connections
Requests/sec:   9876.54

BENCH_JSON {"requests":12000,"duration_us":2000000,"p50_us":1500,"p99_us":8250,"errors":3}
"""


def test_wrk_figures_come_from_the_done_hook_line() -> None:
    load = bench.parse_wrk(WRK_OUTPUT)
    assert (load.requests, load.seconds, load.rps, load.p50_ms, load.p99_ms, load.errors) == (
        12000,
        2.0,
        6000.0,
        1.5,
        8.25,
        3,
    )
    with pytest.raises(RuntimeError, match="no result"):
        bench.parse_wrk("Requests/sec: 10\n")


def test_the_deep_cursor_leads_to_video_one_million() -> None:
    profile = bench.deep_profile()
    assert profile.video_count == 2_000_000
    cursor = bench.cursor_before(profile, bench.DEEP_INDEX)
    page = tiktok.page(profile, cursor)
    assert page["aweme_list"][0] == tiktok.video(profile, bench.DEEP_INDEX)
    assert bench.cursor_before(profile, 0) is None


def test_tree_memory_sums_the_children_too() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while child.pid not in bench.tree_pids(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in bench.tree_pids(os.getpid())
        alone = bench.status_kb(os.getpid(), "VmHWM")
        memory = bench.tree_memory_mb(os.getpid())
        assert memory["processes"] >= 2
        assert memory["peak_rss_mb"] * 1024 > alone  # the child's memory is counted
    finally:
        child.kill()
        child.wait()


def results(**overrides: Any) -> dict[str, Any]:
    row = {"rps": 10500.0, "p50_ms": 2.0, "p99_ms": 8.0, "errors": 0, "peak_rss_mb": 60.0}
    data: dict[str, Any] = {
        "plan": {"distinct_pages": 10},
        "mock_1w": dict(row),
        "baseline_1w": {**row, "rps": 17500.0},
        "cold_start": {"median_s": 1.2, "runs_s": [1.2]},
        "mix": {"requests": 100, "handles": 10, "rps": 50.0, "peak_rss_mb": 99.0, "idle_rss_mb": 50.0, "rss_mb": 90.0},
        "deep": {
            "deep_index": 1_000_000,
            "handle": "videos-2000000",
            "ratio_same_p50": 1.0,
            "ratio_distinct_p50": 1.2,
            "page1_same": row,
            "deep_same": row,
            "page1_distinct": row,
            "deep_distinct": row,
            "data_module_us": {"page1": 1000.0, "deep": 1100.0, "ratio": 1.1},
        },
        "exact": {"sent": 3, "counts": {"200": 1}, "expected": {"200": 1}, "exact": True, "credits_left": 0},
    }
    data.update(overrides)
    return data


def test_targets_are_the_issues_thresholds() -> None:
    met = bench.targets(results())
    assert all(t["met"] for t in met.values()), met
    assert len(met) == 7
    missed = bench.targets(
        results(mock_1w={"rps": 10400.0, "p99_ms": 10.0}, cold_start={"median_s": 1.5, "runs_s": [1.5]})
    )
    assert not missed["1 worker >= 60% of bare FastAPI req/s"]["met"]
    assert not missed["1 worker p99 < 10 ms at 32 connections"]["met"]
    assert not missed["cold start < 1.5 s"]["met"]
    assert not missed["1 worker >= 3x Prism static req/s"]["met"]  # 10,400 < 3 x the issue's 3,500
    assert bench.targets({"plan": {}}) == {}  # only the runs that were made


def test_the_table_shows_every_run_and_target() -> None:
    data = results()
    data["targets"] = bench.targets(data)
    text = bench.table(data)
    assert "mock, 1 worker" in text and "bare FastAPI, 1 worker" in text
    assert "0.60 of the requests/s" in text
    assert "Prism not measured" in text
    assert text.count("[met]") == 7


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)")
def test_wrk_scripts_send_the_bodies_they_are_given(live_mock: Callable[..., LiveMock]) -> None:
    """The handle mix's Lua script walks its list of bodies from `start`: every body is sent."""
    mock = live_mock("--api-key", f"{bench.KEY}:1000000000", "--rate-limit", "1000000/minute")
    handles = ["bench_a", "bench_b", "bench_c"]
    load = bench.wrk(mock.base_url, bench.lua_rotating([bench.body_of(h) for h in handles], 1, start=1), 1, 2, 1)
    fixed = bench.wrk(mock.base_url, bench.lua_fixed(bench.body_of("bench_fixed")), 1, 2, 1)
    assert load.requests > 0 and load.errors == 0 and fixed.requests > 0 and fixed.errors == 0
    journal = httpx.get(mock.base_url + "/__admin/requests", params={"limit": 10000}).json()["requests"]
    seen = {entry["handle"] for entry in journal}
    assert seen == {*handles, "bench_fixed"}
    assert all(entry["status"] == 200 for entry in journal)
