"""Structured (JSON lines) logs. Access logs carry masked keys only; uvicorn's own access log,
which would print raw paths and no key, is replaced by ours."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

ACCESS = logging.getLogger("dumpling_mock.access")
EVENTS = logging.getLogger("dumpling_mock")


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
        return orjson.dumps(line, default=str).decode()


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
        "formatters": {"json": {"()": "mock_server.logs.JsonFormatter"}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def access(fields: dict[str, Any]) -> None:
    """One JSON line per request. Written straight to stderr, in the same format as every other
    line, because logging's record machinery was a tenth of a mock request's cost (bench/)."""
    if ACCESS.isEnabledFor(logging.INFO):
        now = time.time()
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z",
            "level": "info",
            "logger": ACCESS.name,
            "msg": "request",
            **fields,
        }
        sys.stderr.write(orjson.dumps(line, default=str).decode() + "\n")


def event(message: str, **fields: Any) -> None:
    EVENTS.info(message, extra={"fields": fields})
