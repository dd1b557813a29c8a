"""The JSON-lines logs: one record per line for every line-splitting reader."""

from __future__ import annotations

import json
import logging

import pytest

from mock_server.server.logs import ACCESS, AccessLog, JsonFormatter

# Every character some reader splits lines on (Python's str.splitlines splits on all of them).
SEPARATORS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def test_an_access_log_line_with_every_line_separator_in_the_handle_is_one_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ACCESS.setLevel(logging.INFO)
    handle = "a" + "b".join(SEPARATORS) + "z"
    log = AccessLog()
    log.write({"method": "POST", "path": "/x", "status": 404, "handle": handle})
    log.flush()
    out = capsys.readouterr().err
    lines = out.splitlines()
    assert len(lines) == 1, lines
    assert json.loads(lines[0])["handle"] == handle
    assert "\\u2028" in lines[0] and "\\u2029" in lines[0] and "\\u0085" in lines[0]


def test_an_event_line_with_line_separators_is_one_record() -> None:
    record = logging.LogRecord("dumpling_mock", logging.INFO, __file__, 1, "refused %s", ("x\u2028y\x85",), None)
    record.fields = {"handle": SEPARATORS}  # type: ignore[attr-defined]
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    parsed = json.loads(line)
    assert parsed["msg"] == "refused x\u2028y\x85" and parsed["handle"] == SEPARATORS
