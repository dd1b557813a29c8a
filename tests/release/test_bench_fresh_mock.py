"""`make bench`'s fresh_mock step (bench/fresh_mock.py) on a tiny input: it measures what it
says (start, first request, stop) and the report shows it. No figure is asserted."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from conftest import ROOT


def load(name: str, path: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_step_measures_fresh_mocks_and_the_table_shows_them() -> None:
    figures = load("bench_fresh_mock", "bench/fresh_mock.py").measure(3)
    assert set(figures) == {"first_ms", "mocks", "median_ms", "p95_ms", "max_ms"}
    assert figures["mocks"] == 3 and 0 < figures["median_ms"] <= figures["max_ms"]
    bench = load("bench_run_fresh", "bench/run.py")
    data: dict[str, Any] = {
        "plan": {},
        "fresh_mock": {**figures, "median_ms": 12.0, "p95_ms": 17.5, "max_ms": 30.0, "first_ms": 900.0},
    }
    data["targets"] = bench.targets(data)
    assert data["targets"] == {
        "fresh mock per test < 50 ms after the first": {"value": 12.0, "target": "< 50", "met": True}
    }
    assert (
        "fresh mock per test (start, first request, stop), 3 mocks: median 12.0 ms, p95 17.5 ms, max 30.0 ms; the first of a run 900 ms"
        in bench.table(data)
    )
