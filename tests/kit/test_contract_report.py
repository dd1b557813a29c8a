"""The contract kit's HTML report and live view, on hand-made input (the kit runs that write them
are in test_contract_kit.py)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from contract_tests import html_report
from contract_tests.progress import LiveView
from mock_server.server.secrets import mask


def test_html_report_is_the_markdown_rendered_with_raw_html_escaped(tmp_path: Path) -> None:
    text = "# Contract kit report\n\n- **Result:** FINDINGS\n\n```text\n<script>alert(1)</script>\n```\n\n<img src=x onerror=alert(1)>\n"
    page = html_report.render(text, "Contract kit report")
    assert "<h1>Contract kit report</h1>" in page and "<strong>Result:</strong> FINDINGS" in page
    assert "<script>" not in page and "<img" not in page  # a target's body is shown, never run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "default-src 'none'" in page and "http" not in page.split("<body>")[0].replace("http-equiv", "")


def test_html_report_masks_keys(tmp_path: Path) -> None:
    path = html_report.write(
        tmp_path / "r.html",
        "key sk_live_0123456789 and Authorization: Bearer sk_other_abcdef",
        "t",
        ["sk_live_0123456789"],
    )
    written = path.read_text()
    assert "sk_live_0123456789" not in written and "sk_other_abcdef" not in written
    assert mask("sk_live_0123456789") in written


def test_live_view_prints_plain_lines_when_not_on_a_terminal() -> None:
    counts = {"used": 23, "ok": 13}
    view = LiveView(60, 10, lambda: (counts["used"], counts["ok"]), ["sk_secret_key_123"], stream=io.StringIO())
    view.test_started("contract_tests/test_contract.py::test_coverage_phase[sk_secret_key_123]")
    assert not view.live
    line = view.plain()
    shown = re.escape(mask("sk_secret_key_123"))
    assert re.fullmatch(
        rf"dumpling-contract: 23/60 requests, at most 130 credits, \d+\.\d s \(after test_coverage_phase\[{shown}\]\)",
        line,
    ), line
    assert "secret" not in line
    view.stop()
    in_process = LiveView(None, 10, lambda: (5, 5), [], stream=io.StringIO())
    assert "5 requests, no credits (in-process)" in in_process.line()
