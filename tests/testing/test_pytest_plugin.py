"""The pytest plugin as a user's project gets it: a test file in a fresh directory, run by pytest in
a subprocess, the fixtures coming from the installed `pytest11` entry point (no conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

USER_TESTS = """
import os
import httpx
import pytest

ENDPOINT = "/api/v1/get-tiktok-profile-videos"


def post(mock, body):
    return httpx.post(mock.url + ENDPOINT, headers={"Authorization": f"Bearer {mock.api_key}"}, json=body)


@pytest.mark.dumpling_mock(keys={"sk_test": 30}, handles={"alice": 25}, page_size=10)
def test_marker_options(dumpling_mock):
    assert [post(dumpling_mock, {"handle": "alice"}).status_code for _ in range(4)] == [200, 200, 200, 403]
    assert dumpling_mock.credits() == 0


def test_factory_gives_each_mock_its_options(dumpling_mock_factory):
    one = dumpling_mock_factory(seed=1)
    two = dumpling_mock_factory(keys={"sk_other": 10}, seed=2)
    assert (one.api_key, two.api_key) == ("sk_mock_demo", "sk_other")
    assert one.url != two.url


@pytest.mark.parametrize("n", range(6))
def test_fresh_mock_per_test(dumpling_mock, n, tmp_path_factory):
    assert dumpling_mock.requests() == []
    post(dumpling_mock, {"handle": "alice"})
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (tmp_path_factory.getbasetemp().parent / f"url-{worker}-{n}").write_text(dumpling_mock.url)
"""

FAILING_TESTS = """
import httpx
import pytest


def test_a_client_bug(dumpling_mock):
    httpx.post(dumpling_mock.url + "/api/v1/get-tiktok-profile-videos",
               headers={"Authorization": f"Bearer {dumpling_mock.api_key}"}, json={"handle": "alice", "requestSource": "CLI"})
    dumpling_mock.assert_clean()


@pytest.mark.dumpling_mock(rate_limit="2/sec0nd")
def test_a_bad_option(dumpling_mock):
    pass
"""


# Other installed plugins (dumpling-mock's own dependencies bring schemathesis', hypothesis' and
# faker's) cost seconds of start-up per process and play no part here.
UNRELATED = ("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:faker", "-p", "no:anyio")


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *UNRELATED, "-q", "--basetemp", str(directory / "tmp"), *args],
        cwd=directory, capture_output=True, text=True, timeout=180, env={**os.environ, "COLUMNS": "400"},
    )  # fmt: skip


@pytest.mark.slow  # a pytest run of its own: seconds of start-up
def test_fixtures_from_the_entry_point_and_failures_that_show_request_rule_and_fix(tmp_path: Path) -> None:
    """One pytest run (a run costs seconds of start-up): the passing file and the failing one."""
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    (tmp_path / "test_failing.py").write_text(FAILING_TESTS)
    result = run_pytest(tmp_path, "-p", "no:xdist")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 8 passed, 1 error" in out, out
    assert len(list(tmp_path.rglob("url-main-*"))) == 6
    assert "ClientCheckError: dumpling-mock: 1 contract violation in 1 request(s) to http://127.0.0.1:" in out
    assert "1  POST    /api/v1/get-tiktok-profile-videos  400     alice   1 violation" in out
    assert "violation unknown-value: requestSource 'CLI' is not one of the contract's values: API, WEB," in out
    assert (
        "Failed: dumpling_mock: rate_limit: must look like 600/minute or 2/s (N/second|minute|hour|day or N/s|m|h|d, optionally N/10second, N >= 1) (got '2/sec0nd')"
        in out
    )


@pytest.mark.slow
def test_under_xdist_each_worker_has_its_own_mocks(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    result = run_pytest(tmp_path, "-n", "2", "--dist", "each")  # every test on both workers, at the same time
    assert result.returncode == 0, result.stdout + result.stderr
    assert "16 passed" in result.stdout
    workers = {path.name.split("-")[1] for path in tmp_path.rglob("url-*")}
    assert workers == {"gw0", "gw1"}, "both workers ran mocks"


def test_the_plugin_imports_nothing_heavy() -> None:
    code = textwrap.dedent(
        """
        import sys
        import mock_server.testing.plugin
        heavy = sorted(m for m in ("fastapi", "uvicorn", "starlette", "mock_server.app.factory") if m in sys.modules)
        print(heavy)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


# --- the fixtures in this very run (the plugin is installed with the project) -----------------------
@pytest.mark.dumpling_mock(keys={"sk_test_plugin": 20}, seed=3)
def test_the_marker_configures_the_fixture(dumpling_mock: Any) -> None:
    assert (dumpling_mock.api_key, dumpling_mock.credits()) == ("sk_test_plugin", 20)
    assert httpx.get(dumpling_mock.url + "/__admin/health", timeout=10).json()["seed"] == 3


def test_one_compiled_contract_serves_every_mock_of_the_run(
    dumpling_mock_factory: Any, dumpling_mock_contracts: Any
) -> None:
    first, second = dumpling_mock_factory(), dumpling_mock_factory(page_size=5)
    compiled = dumpling_mock_contracts.get()
    assert compiled is dumpling_mock_contracts.get()
    assert first._ctx.contract is second._ctx.contract is compiled.contract
    assert first._ctx.validator is compiled.validator


@pytest.fixture
def closed_afterwards() -> Iterator[list[str]]:
    """URLs that must refuse connections once the fixtures the test asked for after this one are torn down."""
    urls: list[str] = []
    yield urls
    for url in urls:
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/__admin/health", timeout=2)


def test_factory_mocks_are_stopped_after_the_test(closed_afterwards: list[str], dumpling_mock_factory: Any) -> None:
    closed_afterwards += [dumpling_mock_factory().url, dumpling_mock_factory().url]


def test_the_factory_takes_the_options_of_serve(dumpling_mock_factory: Any) -> None:
    dumpling_mock_factory(keys={"sk_t": 30}, handles={"alice": 25}, seed=7, rate_limit="2/second", page_size=10)
    mock = dumpling_mock_factory(keys={"sk_t": 100}, handles={"alice": 25}, seed=7, rate_limit="2/day", page_size=20)
    statuses = [
        httpx.post(
            mock.url + "/api/v1/get-tiktok-profile-videos",
            headers={"Authorization": "Bearer sk_t"},
            json={"handle": "alice"},
            timeout=10,
        )
        for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 503]
    assert len(statuses[0].json()["aweme_list"]) == 20
    assert httpx.get(mock.url + "/__admin/health", timeout=10).json()["seed"] == 7


def test_a_config_file_is_read_as_serve_reads_it(dumpling_mock_factory: Any, tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("seed: 9\nhandles: {alice: 3}\napi_keys: ['sk_from_config:40']\n")
    mock = dumpling_mock_factory(config=config, seed=4)  # an option wins over the file, as a flag does
    assert (mock.api_key, mock.credits()) == ("sk_from_config", 40)
    page = httpx.post(
        mock.url + "/api/v1/get-tiktok-profile-videos",
        headers={"Authorization": "Bearer sk_from_config"},
        json={"handle": "alice"},
        timeout=10,
    )
    assert (len(page.json()["aweme_list"]), httpx.get(mock.url + "/__admin/health", timeout=10).json()["seed"]) == (
        3,
        4,
    )
