"""`dumpling-contract`: run the contract kit (pytest over the installed `contract_tests` package).

    dumpling-contract                                   # the in-process mock
    dumpling-contract --base-url URL --api-key KEY      # any target, at most --max-requests requests
    dumpling-contract --har FILE.har                    # a recording, offline: zero requests (offline.py)

Exit codes: 0 conformant, 1 findings, 2 usage error, 3 API key missing/rejected, 4 incomplete
(request budget or --max-time spent), 5 target unreachable (or no answer within --timeout).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import contract_tests
from contract_tests import exit_codes, options

PACKAGE_DIR = Path(contract_tests.__file__).resolve().parent


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dumpling-contract",
        description="Check a target (default: the in-process mock) against the effective contract of get-tiktok-profile-videos.",
        epilog="Exit codes: 0 conformant, 1 findings, 2 usage error, 3 API key missing or rejected, 4 incomplete (budget or --max-time spent), "
        "5 target unreachable (or no answer within --timeout). "
        "Anything after -- goes to pytest.",
    )
    p.add_argument(
        "--har",
        metavar="FILE.har",
        help="check recorded traffic (HAR 1.2) offline instead of a target: zero requests sent",
    )
    p.add_argument("--base-url", help=f"target base URL (env {options.ENV_BASE_URL}; default: the in-process mock)")
    p.add_argument("--api-key", help=f"API key of the target (env {options.ENV_API_KEY}); never printed")
    p.add_argument(
        "--max-requests",
        help=f"cap on HTTP requests, every request counted (default {options.REMOTE_MAX_REQUESTS} for a remote target)",
    )
    p.add_argument(
        "--rate-limit",
        help="at most N requests per period: 2/s, 2/second, 100/minute, 1000/h (the syntax of `dumpling-mock serve`)",
    )
    p.add_argument(
        "--reports-dir",
        default="reports",
        help="junit.xml, drift-report.md, drift-report.html, findings.json (default reports/)",
    )
    failing = p.add_mutually_exclusive_group()
    failing.add_argument(
        "--strict", action="store_true", help="fail on contract violations and documentation drift (the default)"
    )
    failing.add_argument(
        "--fail-on", choices=sorted(options.FAIL_ON), help="finding classes that fail the run (default both)"
    )
    p.add_argument("--seed", help="seed of the generated requests (default 1)")
    p.add_argument("--handle", help="TikTok handle for the pagination walk (default: the contract's request example)")
    p.add_argument("--walk-pages", help="pages the pagination walk may read")
    p.add_argument("--max-examples", help="generated cases per fuzzing test")
    p.add_argument("--timeout", help=f"seconds a request may take in total (default {options.DEFAULT_TIMEOUT_S:g})")
    p.add_argument(
        "--max-time",
        help=f"seconds the run may send requests, then it stops incomplete (default {options.DEFAULT_MAX_TIME_S:g})",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more pytest output")
    return p


def pytest_args(args: argparse.Namespace, extra: list[str]) -> list[str]:
    # --assert=plain: the kit records findings instead of asserting, and rewriting schemathesis'
    # ~300 modules (it is a pytest plugin) would cost seconds on every run.
    argv = [
        str(PACKAGE_DIR),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:anyio",
        "-p",
        "no:faker",
        "--assert=plain",
        "--rootdir",
        str(PACKAGE_DIR),
        "-o",
        "addopts=",
        "-rfEs",
    ]
    argv += ["-v"] * args.verbose
    for flag in (
        "base_url",
        "max_requests",
        "rate_limit",
        "reports_dir",
        "seed",
        "handle",
        "walk_pages",
        "max_examples",
        "timeout",
        "max_time",
    ):
        value = getattr(args, flag)
        if value not in (None, ""):
            argv += ["--" + flag.replace("_", "-"), str(value)]
    argv += ["--fail-on", args.fail_on or "both"]
    return argv + extra


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    args = parser().parse_args(argv)
    if args.har:
        return _offline(args, extra)
    if args.api_key:
        os.environ[options.ENV_API_KEY] = args.api_key  # the key travels by environment, never in argv
    code = pytest.main(pytest_args(args, extra))
    from contract_tests import kit  # imported after pytest has set up its plugins

    if kit._current is None:  # pytest refused the options before the kit started: nothing was sent
        return exit_codes.USAGE
    return int(code)


def _offline(args: argparse.Namespace, extra: list[str]) -> int:
    """`--har`: no target, so the options that shape requests make no sense with it."""
    from contract_tests import offline

    given = [
        f"--{name.replace('_', '-')}"
        for name in (
            "base_url",
            "api_key",
            "max_requests",
            "rate_limit",
            "seed",
            "handle",
            "walk_pages",
            "max_examples",
        )
        if getattr(args, name)
    ]
    if given or extra:
        print(
            f"dumpling-contract: error: --har checks a recording and sends nothing; {', '.join(given) or 'pytest arguments'} cannot be used with it",
            file=sys.stderr,
        )
        return exit_codes.USAGE
    return offline.main(Path(args.har), Path(args.reports_dir), options.FAIL_ON[args.fail_on or "both"])


if __name__ == "__main__":
    raise SystemExit(main())
