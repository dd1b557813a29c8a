"""The cost of a fresh mock per test (the pytest fixture `dumpling_mock`, `MockServer`): start on a
free loopback port, the first request on a new connection, stop. Run by `make bench` (step
`fresh_mock`) in a process of its own, so that the first mock pays what a test run's first pays:
imports, parsing and compiling the contract.

    .venv/bin/python bench/fresh_mock.py [N]    prints one JSON line
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BODY = json.dumps({"handle": "stoolpresidente"})


def one_test(compiled: Any) -> float:
    """Seconds for start + first request + stop, as the fixture does it around a test."""
    from mock_server import MockServer

    started = time.perf_counter()
    with MockServer(compiled=compiled) as mock:
        host, port = mock.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("POST", "/api/v1/get-tiktok-profile-videos", BODY,
                           {"Authorization": f"Bearer {mock.api_key}", "Content-Type": "application/json"})  # fmt: skip
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"the fresh mock answered {response.status}")
    return time.perf_counter() - started


def measure(n: int) -> dict[str, Any]:
    started = time.perf_counter()
    from mock_server import compile_contract

    compiled = compile_contract()  # once per pytest run (the session fixture)
    first = time.perf_counter() - started + one_test(compiled)
    times = sorted(one_test(compiled) for _ in range(n))
    return {
        "first_ms": round(first * 1000, 1),
        "mocks": n,
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(times[int(0.95 * (n - 1))] * 1000, 2),
        "max_ms": round(times[-1] * 1000, 2),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200)))
