"""The kit's options: pytest flags (also used by `dumpling-contract`), then environment, then defaults.

One frozen `KitOptions` per run. A bad value is a `UsageError` naming the flag, so nothing is sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mock_server.server.secrets import mask_text, url_secrets
from mock_server.settings import RateLimit, parse_rate_limit

ENV_BASE_URL = "DUMPLING_BASE_URL"
ENV_API_KEY = "DUMPLING_API_KEY"
REMOTE_MAX_REQUESTS = 60  # default budget against anything but the in-process mock
REMOTE_WALK_PAGES = 3
IN_PROCESS_WALK_PAGES = 30
IN_PROCESS_MAX_EXAMPLES = 40
DEFAULT_TIMEOUT_S = 30.0  # a request, in total: connect, headers and the whole body
DEFAULT_MAX_TIME_S = 900.0  # the run: no request is sent after it, one in flight is cut
FINDING_CLASSES = ("contract", "documentation")
FAIL_ON = {
    "both": frozenset(FINDING_CLASSES),
    "contract": frozenset({"contract"}),
    "documentation": frozenset({"documentation"}),
}


@dataclass(frozen=True)
class KitOptions:
    base_url: str | None  # None: the in-process mock
    api_key: str | None
    max_requests: int | None  # None: no cap (in-process default)
    rate_limit: RateLimit | None  # parsed by the mock's own parser: 2/s, 2/second, 100/min, 2/10s
    reports_dir: Path
    fail_on: frozenset[str]
    seed: int
    handle: str | None  # None: the handle of the contract's request example
    walk_pages: int
    max_examples: int
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_time_s: float = DEFAULT_MAX_TIME_S

    @property
    def remote(self) -> bool:
        return self.base_url is not None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("dumpling-contract", "contract kit (dumpling-mock)")
    group.addoption("--base-url", help=f"target to test (default: the in-process mock; env {ENV_BASE_URL})")
    group.addoption("--api-key", help=f"API key for the target (env {ENV_API_KEY}); never printed")
    group.addoption(
        "--max-requests",
        help=f"cap on HTTP requests sent, every request counted (default {REMOTE_MAX_REQUESTS} for a remote target, none in-process)",
    )
    group.addoption(
        "--rate-limit",
        help="at most this many requests per period, e.g. 2/s, 2/second, 100/minute (the syntax of `dumpling-mock serve`)",
    )
    group.addoption(
        "--reports-dir",
        default="reports",
        help="where junit.xml, drift-report.md, drift-report.html and findings.json go (default reports/)",
    )
    group.addoption(
        "--fail-on",
        choices=sorted(FAIL_ON),
        default="both",
        help="finding classes that fail the run: contract, documentation or both (default both)",
    )
    group.addoption("--seed", default="1", help="seed of the generated requests (default 1)")
    group.addoption("--handle", help="TikTok handle for the pagination walk (default: the contract's request example)")
    group.addoption(
        "--walk-pages",
        help=f"pages the pagination walk may read (default {REMOTE_WALK_PAGES} remote, {IN_PROCESS_WALK_PAGES} in-process)",
    )
    group.addoption(
        "--max-examples",
        help=f"generated cases per fuzzing test (default {IN_PROCESS_MAX_EXAMPLES}; remote: bounded by the budget)",
    )
    group.addoption(
        "--timeout",
        help=f"seconds a request may take in total, connect to last body byte (default {DEFAULT_TIMEOUT_S:g})",
    )
    group.addoption(
        "--max-time",
        help=f"seconds the run may send requests; then it stops, incomplete (default {DEFAULT_MAX_TIME_S:g})",
    )


def from_pytest(config: pytest.Config, env: Mapping[str, str] = os.environ) -> KitOptions:
    opt = config.getoption
    base_url = _base_url(opt("base_url") or env.get(ENV_BASE_URL) or None)
    api_key = _api_key(opt("api_key") or env.get(ENV_API_KEY) or None)
    remote = base_url is not None
    max_requests = _int("--max-requests", opt("max_requests"), 1, 1_000_000)
    if max_requests is None and remote:
        max_requests = REMOTE_MAX_REQUESTS
    return KitOptions(
        base_url=base_url,
        api_key=api_key,
        max_requests=max_requests,
        rate_limit=_rate_limit(opt("rate_limit")),
        reports_dir=Path(opt("reports_dir")),
        fail_on=FAIL_ON[opt("fail_on")],
        seed=_int("--seed", opt("seed"), 0, 2**63 - 1) or 0,
        handle=_handle(opt("handle")),
        walk_pages=_int("--walk-pages", opt("walk_pages"), 1, 10_000)
        or (REMOTE_WALK_PAGES if remote else IN_PROCESS_WALK_PAGES),
        max_examples=_int("--max-examples", opt("max_examples"), 1, 100_000)
        or (max_requests or IN_PROCESS_MAX_EXAMPLES),
        timeout_s=_seconds("--timeout", opt("timeout"), 3600) or DEFAULT_TIMEOUT_S,
        max_time_s=_seconds("--max-time", opt("max_time"), 7 * 86400) or DEFAULT_MAX_TIME_S,
    )


def _int(flag: str, raw: Any, low: int, high: int) -> int | None:
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    if not re.fullmatch(r"\d{1,19}", text) or not low <= int(text) <= high:
        raise pytest.UsageError(f"{flag}: must be a whole number from {low} to {high} (got {raw!r})")
    return int(text)


def _seconds(flag: str, raw: Any, high: float) -> float | None:
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    if not re.fullmatch(r"\d{1,7}(\.\d{1,3})?", text) or not 0 < float(text) <= high:
        raise pytest.UsageError(f"{flag}: must be a number of seconds above 0 and at most {high:g} (got {raw!r})")
    return float(text)


def _base_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        shown = mask_text(raw, url_secrets(raw))  # the error is printed: no password in it
        raise pytest.UsageError(f"--base-url / {ENV_BASE_URL}: must be an http:// or https:// base URL (got {shown!r})")
    return text


def _api_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not re.fullmatch(r"[\x21-\x7e]{1,512}", raw):
        raise pytest.UsageError(f"--api-key / {ENV_API_KEY}: must be 1-512 printable characters without spaces")
    return raw


def _rate_limit(raw: str | None) -> RateLimit | None:
    if raw in (None, ""):
        return None
    try:
        return parse_rate_limit(raw)
    except ValueError as exc:
        raise pytest.UsageError(f"--rate-limit: {exc} (got {raw!r})") from None


def rate_text(rate: RateLimit) -> str:
    """`2/s`, `100/m`, `2/10s`: a rate limit as the banner shows it."""
    unit = {1: "s", 60: "m", 3600: "h", 86400: "d"}.get(rate.period_s, f"{rate.period_s}s")
    return f"{rate.requests}/{unit}"


def _handle(raw: str | None) -> str | None:
    if raw in (None, ""):
        return None
    handle = str(raw).strip().lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", handle):
        raise pytest.UsageError(f"--handle: must be a TikTok username (letters, digits, '.', '_'; got {raw!r})")
    return handle
