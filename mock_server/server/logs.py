"""Structured (JSON lines) logs. Access logs carry masked keys only; uvicorn's own access log,
which would print raw paths and no key, is replaced by ours."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any

import orjson

ACCESS = logging.getLogger("dumpling_mock.access")
MAX_PENDING = 256  # lines; a loop that never turns still writes its access log
EVENTS = logging.getLogger("dumpling_mock")
# orjson escapes the C0 controls (U+000B, U+000C, U+001C-U+001E among them) but writes these raw;
# every one of them ends a line for some reader (Python's str.splitlines, JavaScript, editors), so a
# client's handle could split one record in two. Escaped, each line is one JSON record for all.
LINE_BREAKS = str.maketrans({0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def json_line(fields: dict[str, Any]) -> str:
    """One JSON record on one line, whatever line separators its values hold."""
    text = orjson.dumps(fields, default=str).decode()
    return text if text.isascii() else text.translate(LINE_BREAKS)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json_line(line)


def configure(level: str) -> dict[str, Any]:
    """Configure our loggers and return a uvicorn `log_config` that uses the same format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("dumpling_mock")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "mock_server.server.logs.JsonFormatter"}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


class AccessLog:
    """One JSON line per request, in the same format as every other line, written straight to
    stderr (logging's record machinery was a tenth of a mock request's cost, bench/).

    Lines are batched: the first line of a batch schedules a flush on the event loop, so all the
    requests finished in one turn of the loop cost one write (a write per line was another tenth).
    A line reaches stderr a turn of the loop after its response; `flush()` at shutdown."""

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._second = -1
        self._stamp = ""

    def write(self, fields: dict[str, Any]) -> None:
        if not ACCESS.isEnabledFor(logging.INFO):
            return
        now = time.time()
        if int(now) != self._second:  # strftime once a second, not once a request
            self._second = int(now)
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self._second))
        line = {
            "ts": f"{self._stamp}.{int(now % 1 * 1000):03d}Z",
            "level": "info",
            "logger": ACCESS.name,
            "msg": "request",
            **fields,
        }
        self._pending.append(json_line(line))
        if len(self._pending) >= MAX_PENDING:
            self.flush()
        elif len(self._pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no event loop (a direct call): write now
                self.flush()

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            sys.stderr.write("\n".join(lines) + "\n")
            sys.stderr.flush()


def event(message: str, **fields: Any) -> None:
    EVENTS.info(message, extra={"fields": fields})
