"""The examples in examples/ run as their users would run them: `pytest examples/python` (the
plugin comes from the installed entry point, not from a conftest of ours) and `node --test
examples/node/`, against one `dumpling-mock serve` process started without Docker. Only the
container start in examples/*/ (conftest.py, mock.mjs) is not run here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from conftest import ROOT, LiveMock

TOKEN = "example-admin-token-for-tests"


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    mock = LiveMock(["--admin-token", TOKEN]).start()
    try:
        yield {**os.environ, "DUMPLING_BASE_URL": mock.base_url, "DUMPLING_ADMIN_TOKEN": TOKEN, "NO_PROXY": "127.0.0.1"}
    finally:
        mock.stop()


@pytest.mark.slow  # a pytest run of its own: seconds of start-up
def test_the_python_examples_pass(served: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "examples/python", "-q", "-p", "no:cacheprovider", "-W", "error::pytest.PytestUnknownMarkWarning",
         "-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:faker"],  # plugins the examples do not use: start-up time
        cwd=ROOT, env=served, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout, result.stdout


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_examples_pass(served: dict[str, str]) -> None:
    result = subprocess.run(
        ["node", "--test", "examples/node/"], cwd=ROOT, env=served, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 2" in result.stdout and "# fail 0" in result.stdout, result.stdout


def test_the_readme_shows_the_example_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it in your tests", 1)[1]
    shown = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert shown in (ROOT / "examples" / "python" / "test_videos_client.py").read_text(encoding="utf-8")
