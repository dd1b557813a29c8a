"""The vendor page's own cURL and Node.js `fetch` examples, taken from openapi/vendor-page.md and run
unchanged against a live mock (only the base URL and the key placeholder replaced), with the
machine's `curl` and `node`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import httpx
import pytest
from conftest import DEMO_KEY, ROOT, LiveMock

from mock_server.contract.document import load_contract
from mock_server.contract.validator import ContractValidator

PAGE = (ROOT / "openapi" / "vendor-page.md").read_text(encoding="utf-8")
VENDOR_BASE = "https://app.dumplingai.com"
USAGE_LINE = "// getTikTokProfileVideos('YOUR_API_KEY', 'stoolpresidente');"


def page_block(heading: str, language: str) -> str:
    match = re.search(rf"### {re.escape(heading)}\s*\n+```{language}[^\n]*\n(.*?)```", PAGE, re.S)
    assert match, f"no {language} block under '### {heading}'"
    return match.group(1)


def on_mock(code: str, mock: LiveMock) -> str:
    """The page's code with only the base URL (and the key placeholder) changed."""
    assert code.count(VENDOR_BASE) == 1
    local = code.replace(VENDOR_BASE, mock.base_url).replace("YOUR_API_KEY", DEMO_KEY)
    assert "dumplingai.com" not in local  # nothing leaves the machine
    return local


def loopback_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return {**env, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@pytest.fixture(scope="module")
def mock() -> Any:
    served = LiveMock([]).start()
    yield served
    served.stop()


def journal(mock: LiveMock) -> list[dict[str, Any]]:
    return httpx.get(mock.base_url + "/__admin/requests").json()["requests"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_pages_curl_example_runs_unchanged(mock: LiveMock) -> None:
    before = len(journal(mock))
    script = on_mock(page_block("cURL", "bash"), mock)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, env=loopback_env())
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    contract = load_contract()
    op = contract.by_id("listTikTokProfileVideos")
    assert not ContractValidator(contract).schema_violations(op.response_schema(200), body, "body")
    assert body["aweme_list"] and body["has_more"] in (0, 1)
    assert {v["author"]["unique_id"] for v in body["aweme_list"]} == {"stoolpresidente"}
    (entry,) = journal(mock)[before:]
    assert (entry["status"], entry["warnings"], entry["violations"]) == (200, [], []), (
        "the page's request is a clean one"
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_pages_node_fetch_example_runs_unchanged(mock: LiveMock) -> None:
    code = page_block("Node.js (fetch)", "javascript")
    assert USAGE_LINE in code
    local = on_mock(code, mock)
    script = local.replace(USAGE_LINE.replace("YOUR_API_KEY", DEMO_KEY), "")
    script += f"""
(async () => {{
  const first = await getTikTokProfileVideos('{DEMO_KEY}', 'stoolpresidente');  // the page's usage line
  const second = await getTikTokProfileVideos('{DEMO_KEY}', 'stoolpresidente', first.max_cursor);
  console.log(JSON.stringify({{first: first.aweme_list.map(v => v.aweme_id), second: second.aweme_list.map(v => v.aweme_id)}}));
  const denied = await getTikTokProfileVideos('sk_not_a_key', 'stoolpresidente');
  console.log(`denied: ${{denied}}`);
}})();
"""
    before = len(journal(mock))
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, env=loopback_env())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Fetched 10 videos" and lines[1] == "Has more: 1", done.stdout
    assert lines[2] == "Fetched 10 videos" and lines[3] == "Has more: 1", done.stdout
    pages = json.loads(lines[4])
    assert len(set(pages["first"] + pages["second"])) == 20, "the second page continues the first"
    assert lines[5] == "denied: null"
    unauthorized = load_contract().by_id("listTikTokProfileVideos").examples(401)
    assert "Error: 401" in done.stderr and next(iter(unauthorized.values()))["error"] in done.stderr
    entries = journal(mock)[before:]
    assert [e["status"] for e in entries] == [200, 200, 401]
    assert all(e["warnings"] == [] and e["violations"] == [] for e in entries[:2])
