"""`dumpling-mock verify-client [options] -- COMMAND ...`: run a user's client against a fresh mock
and report every request it made, with the contract violations and documented-advice warnings
found in the journal (rules: verify/rules.py RULES).

The mock runs in this process (uvicorn in a thread, on a free loopback port); the command gets
DUMPLING_BASE_URL and DUMPLING_API_KEY. Exit status: 0 when the command succeeded, made at least
one request and no violating one (nor any warning with --warnings-as-errors); 1 otherwise; 2 for a
bad option.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.contract.document import Contract
from mock_server.exceptions import SettingsError
from mock_server.faults import spec as faults
from mock_server.faults import transport as transport_faults
from mock_server.pipeline.context import Context
from mock_server.server import logs
from mock_server.server.secrets import mask
from mock_server.settings import PARSERS, RateLimit, Settings, resolve
from mock_server.verify.rules import RULE, WARNING, Analysis, RequestReport, analyse, gave_up_silently

LOOPBACK = "127.0.0.1"
DEFAULT_TIMEOUT_S = 300
RATE_LIMIT_WINDOW_S = 86_400  # long enough that an exhausted limit stays exhausted for the run
MAX_LATENCY_MS = 60_000  # the admin API's own bound for a fault's latency
JOURNAL_PAGE = 10_000  # the admin API's largest page
INJECT = re.compile(r"(every-error|rate-limit|flaky|reset)(?::(\d{1,6}))?(?:,recover-after:(\d{1,6}))?")
INJECT_SYNTAX = "every-error, rate-limit[:N], rate-limit:N,recover-after:M, flaky:PAGE, reset:PAGE"


@dataclass(frozen=True)
class Misbehaviour:
    """What the mock does to the client during the run (--inject, --latency)."""

    every_error: bool = False  # each documented error (status + named example) once, in turn
    rate_limit_after: int | None = None  # 503 for every request after the first N
    latency_ms: int = 0  # added to every authenticated request
    faults: tuple[dict[str, Any], ...] = ()  # recovering scenarios, as admin API fault bodies (faults/spec.py)
    notes: tuple[str, ...] = ()  # what each scenario does, for the report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s [options] -- COMMAND [ARG ...]"
    parser.add_argument("--seed", help="seed of the fake data (default 1)")
    parser.add_argument("--port", help="loopback port of the mock (default: a free one), for a client with a fixed URL")
    parser.add_argument("--config", help="YAML config file of the mock (same keys as `serve`)")
    parser.add_argument(
        "--api-key",
        dest="api_key",
        metavar="KEY[:CREDITS]",
        help="the key the mock accepts, given to the command as DUMPLING_API_KEY (default: the demo key sk_mock_demo)",
    )
    parser.add_argument(
        "--inject",
        action="append",
        default=[],
        metavar="MISBEHAVIOUR",
        help="every-error: each documented error once, in turn, for the first requests; "
        "rate-limit[:N]: every request after the first N (default 1) gets the documented 503; "
        "rate-limit:N,recover-after:M: the M requests after the first N get it, then service recovers; "
        "flaky:PAGE: the first request for page PAGE of a handle gets a 502, the next succeeds; "
        "reset:PAGE: its connection is reset instead (repeatable)",
    )
    parser.add_argument("--latency", metavar="MS", help=f"add MS milliseconds to every response (0-{MAX_LATENCY_MS})")
    parser.add_argument("--warnings-as-errors", action="store_true", help="fail on warnings too")
    parser.add_argument("--report-json", metavar="PATH", help="also write the report as JSON to PATH")
    parser.add_argument(
        "--timeout", metavar="SECONDS", help=f"kill the command after SECONDS (default {DEFAULT_TIMEOUT_S})"
    )
    parser.add_argument(
        "client_command", nargs=argparse.REMAINDER, metavar="COMMAND", help="the client to run, after --"
    )


def parse_misbehaviour(injections: list[str], latency: str | None) -> Misbehaviour:
    every_error, after = False, None
    faults: list[dict[str, Any]] = []
    notes: list[str] = []
    for item in injections:
        match = INJECT.fullmatch(item.strip())
        name, number, recover = match.groups() if match else (None, None, None)
        if (
            not match
            or (name == "every-error" and number)
            or (name in ("flaky", "reset") and (not number or recover or int(number) < 1))
            or (recover and (not number or int(number) < 1 or int(recover) < 1))
        ):
            raise SettingsError(f"--inject: unknown misbehaviour {item!r} (known: {INJECT_SYNTAX})")
        if name == "every-error":
            every_error = True
        elif name == "rate-limit" and recover and number:  # the check above: recover-after comes with N
            faults.append({"steps": [{"kind": "PASS", "count": int(number)}, {"status": 503, "count": int(recover)}]})
            notes.append(
                f"--inject {item.strip()}: the {_plural(int(recover), 'request')} after the first {number} got the documented 503, then service recovered"
            )
        elif name == "rate-limit":
            after = int(number or 1)
        elif name == "flaky" and number:  # the check above: flaky and reset come with a page
            faults.append({"steps": [502], "match": {"page": int(number)}})
            notes.append(
                f"--inject flaky:{number}: the first request for page {number} of a handle got a 502, the next one service"
            )
        elif name == "reset" and number:
            faults.append({"steps": ["CONNECTION_RESET_BY_PEER"], "match": {"page": int(number)}})
            notes.append(
                f"--inject reset:{number}: the first request for page {number} of a handle had its connection reset"
            )
    ms = 0
    if latency is not None:
        if not latency.strip().isdigit() or int(latency) > MAX_LATENCY_MS:
            raise SettingsError(
                f"--latency: must be a whole number of milliseconds from 0 to {MAX_LATENCY_MS} (got {latency!r})"
            )
        ms = int(latency)
    return Misbehaviour(every_error, after, ms, tuple(faults), tuple(notes))


def _timeout(value: str | None) -> float:
    if value is None:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if not 0 < seconds <= 86_400:
        raise SettingsError(f"--timeout: must be a number of seconds from 0 to 86400 (got {value!r})")
    return seconds


def mock_settings(args: argparse.Namespace, env: dict[str, str], misbehaviour: Misbehaviour) -> Settings:
    """The user's seed/config/key, on a fresh in-memory mock that only this run talks to."""
    flags = {"seed": args.seed, "config": args.config, "api_keys": [args.api_key] if args.api_key else None}
    settings = resolve(flags, env)
    port = 0 if getattr(args, "port", None) in (None, "") else _port(args.port)
    settings = dataclasses.replace(
        settings, host=LOOPBACK, port=port, workers=1, state=None, admin_token=None, upstream=None, log_level="warning"
    )
    if misbehaviour.rate_limit_after is not None:
        settings = dataclasses.replace(
            settings, rate_limit=RateLimit(misbehaviour.rate_limit_after, RATE_LIMIT_WINDOW_S)
        )
    return settings


def _port(value: str) -> int:
    try:
        port: int = PARSERS["port"](value)  # PARSERS holds each setting's parser; the port's gives an int
        return port
    except ValueError as exc:
        raise SettingsError(f"--port: {exc} (got {value!r})") from None


def install_faults(ctx: Context, misbehaviour: Misbehaviour) -> int:
    """Queue the misbehaviour as faults (the admin API's mechanism). Latency comes first: the
    fault list is walked in order and latency only adds up until a status fault is taken.
    Returns the number of one-shot errors queued."""
    if misbehaviour.latency_ms:
        ctx.store.add_fault({"latency_ms": misbehaviour.latency_ms}, None)
    for body in misbehaviour.faults:  # the recovering scenarios come before every-error's queue
        ctx.store.add_fault(*faults.parse_fault(body, ctx.contract))
    queued = 0
    if misbehaviour.every_error:
        for op in ctx.contract.operations:
            for status in (s for s in op.statuses if s >= 400):
                for example in op.examples(status) or [None]:
                    spec = {"status": status, "operation": op.operation_id, **({"example": example} if example else {})}
                    ctx.store.add_fault(spec, 1)
                    queued += 1
    return queued


class UnmatchedRecorder:
    """ASGI wrapper: notes the requests no contract operation matched (wrong path or method).
    The journal only sees the contract's operations, and a wrong URL is a client's first bug."""

    def __init__(self, app: ASGIApp, contract: Contract) -> None:
        self.app = app
        self.patterns = [
            (op.method, re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(op.path)))) for op in contract.operations
        ]
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(
            m == scope["method"] and p.fullmatch(scope["path"]) for m, p in self.patterns
        ):
            await self.app(scope, receive, send)
            return
        at = time.time()

        async def capture(message: Any) -> None:
            # noted before the response leaves: a client that reads it, then asks, finds it
            if (
                message["type"] == "http.response.start" and message["status"] >= 400
            ):  # /openapi.json, /__admin/... are not bugs
                self.seen.append(
                    {
                        "at": at,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": message["status"],
                        "operation": None,
                    }
                )
            await send(message)

        await self.app(scope, receive, capture)


@contextmanager
def running(app: ASGIApp, log_level: str, port: int = 0) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on a loopback port (0: a free one); yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise SettingsError(f"--port: cannot listen on {LOOPBACK}:{port} ({exc.strerror or exc})") from None
    config = uvicorn.Config(
        app,
        log_config=logs.configure(log_level),
        access_log=False,
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=5,
        http=transport_faults.protocol(Settings().client_timeout),  # faults below HTTP need the socket
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dumpling-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the mock did not start")
        time.sleep(0.01)
    try:
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def client_env(env: dict[str, str], base_url: str, key: str) -> dict[str, str]:
    """The user's environment plus the mock's URL and key; an HTTP(S)_PROXY of the user's must
    not catch the loopback traffic, so loopback joins NO_PROXY (curl, requests, httpx read it)."""
    for name in ("NO_PROXY", "no_proxy"):
        env[name] = ",".join(part for part in (env.get(name, ""), f"{LOOPBACK},localhost") if part)
    return {**env, "DUMPLING_BASE_URL": base_url, "DUMPLING_API_KEY": key}


def run_command(command: list[str], env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """(exit status, problem). The command runs in its own process group so that a timeout or
    Ctrl-C ends it and its children."""
    try:
        proc = subprocess.Popen(command, env=env, process_group=0)
    except FileNotFoundError:
        return None, f"command not found: {command[0]}"
    except PermissionError:
        return None, f"command is not executable: {command[0]}"
    except OSError as exc:
        return None, f"cannot run {command[0]}: {exc.strerror or exc}"
    try:
        return proc.wait(timeout=timeout), ""
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return None, f"the command did not finish within {timeout:g} s and was killed"
    except KeyboardInterrupt:
        _kill_group(proc)
        raise


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def read_journal(base_url: str) -> tuple[list[dict[str, Any]], bool]:
    """(the journal, oldest first; whether older entries were already dropped)."""
    entries: list[dict[str, Any]] = []
    since = 0
    with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as client:
        while True:  # pages ascend from `since`; `next` is the following page's `since`
            response = client.get("/__admin/requests", params={"since": since, "limit": JOURNAL_PAGE})
            response.raise_for_status()
            page = response.json()
            entries += page["requests"]
            since = page["next"]
            if not page["has_more"]:
                break
    return entries, bool(entries) and entries[0]["id"] > 1


def every_error_note(analysis: Analysis, queued: int, others: frozenset[str] = frozenset()) -> str:
    """What --inject every-error did in this run: the client may have stopped before the last error.
    `others`: the faults of other scenarios ('fault 3'), whose errors are not every-error's."""
    injected = [
        r for r in analysis.requests
        if r.forced and r.forced.startswith("fault") and r.status >= 400 and r.forced.split(" step ")[0] not in others
    ]  # fmt: skip
    if len(injected) >= queued:
        return f"--inject every-error: {_plural(queued, 'request')} got each of the {queued} documented errors in turn"
    if not injected:
        return f"--inject every-error: none of the {queued} documented errors was injected: the client made no valid authenticated request"
    names = ", ".join(f"{r.status} {r.example}" if r.example else str(r.status) for r in injected)
    return (
        f"--inject every-error: {len(injected)} of the {queued} documented errors injected ({names}); "
        f"the client made no further valid authenticated request, so the other {queued - len(injected)} were not"
    )


# --- the report ----------------------------------------------------------------------------------
@dataclass
class Verdict:
    analysis: Analysis
    command: list[str]
    exit_code: int | None
    failures: list[str]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


def judge(
    analysis: Analysis,
    command: list[str],
    exit_code: int | None,
    problem: str,
    warnings_as_errors: bool,
    notes: list[str],
) -> Verdict:
    failures = []
    if problem:
        failures.append(problem)
    elif exit_code != 0:
        failures.append(
            f"the command exited with {exit_code}"
            if exit_code is not None and exit_code >= 0
            else f"the command was killed by signal {-(exit_code or 0)}"
        )
    if not analysis.requests:
        failures.append("the command made no request to the mock")
    violating = sum(1 for r in analysis.requests if any(f.severity != WARNING for f in r.findings))
    if violating:
        failures.append(f"{_plural(violating, 'request')} broke the contract")
    if warnings_as_errors and analysis.warnings:
        failures.append(f"{_plural(analysis.warnings, 'warning')} (--warnings-as-errors)")
    return Verdict(analysis, command, exit_code, failures, notes)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(analysis: Analysis) -> str:
    return (
        f"verify-client: {_plural(len(analysis.requests), 'request')}, "
        f"{_plural(analysis.violations, 'violation')}, {_plural(analysis.warnings, 'warning')}"
    )


def format_report(verdict: Verdict, base_url: str) -> str:
    command = shlex.join(verdict.command)
    ended = "did not finish" if verdict.exit_code is None else f"exited with {verdict.exit_code}"
    title = (
        f"\nverify-client: `{command}` {ended} after {_plural(len(verdict.analysis.requests), 'request')} to {base_url}"
    )
    lines = [title, *request_table(verdict.analysis)]
    lines += [f"note: {note}" for note in verdict.notes]
    lines.append(summary_line(verdict.analysis))
    if verdict.ok:
        lines.append("verify-client: OK")
    else:
        lines.append("verify-client: FAILED: " + "; ".join(verdict.failures))
    return "\n".join(lines) + "\n"


def request_table(analysis: Analysis) -> list[str]:
    """One row per request, each finding under its request: what was sent, the rule, the fix."""
    rows = [("#", "METHOD", "PATH", "STATUS", "HANDLE", "FINDINGS")]
    for r in analysis.requests:
        rows.append((str(r.number), r.method, r.path, _status(r), r.handle or "-", _count(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
        if index:
            for finding in analysis.requests[index - 1].findings:
                lines.append(f"     {finding.severity:<9} {finding.rule}: {finding.message}")
    if len(rows) == 1:
        lines.append("(no request reached the mock)")
    return lines


def _status(r: RequestReport) -> str:
    """`503 (injected: rate_limited)` for a forced response: the client did not cause it."""
    if r.fault:  # the connection was broken: no status, or one that never completed
        return f"{r.status or '-'} (injected: {r.fault})"
    if not r.forced:
        return str(r.status)
    how = "injected" if r.forced.startswith("fault") else r.forced
    return f"{r.status} ({how}: {r.example})" if r.example else f"{r.status} ({how})"


def _count(r: RequestReport) -> str:
    if not r.findings:
        return "ok"
    violations = sum(1 for f in r.findings if f.severity != WARNING)
    warnings = len(r.findings) - violations
    parts = [_plural(violations, "violation")] if violations else []
    return ", ".join(parts + ([_plural(warnings, "warning")] if warnings else []))


def report_json(verdict: Verdict, base_url: str) -> bytes:
    used = sorted({f.rule for r in verdict.analysis.requests for f in r.findings})
    return orjson.dumps(
        {
            "ok": verdict.ok,
            "command": verdict.command,
            "exit_code": verdict.exit_code,
            "base_url": base_url,
            "summary": {
                "requests": len(verdict.analysis.requests),
                "violations": verdict.analysis.violations,
                "warnings": verdict.analysis.warnings,
            },
            "failures": verdict.failures,
            "notes": verdict.notes,
            "requests": [r.as_dict() for r in verdict.analysis.requests],
            "rules": {name: {"severity": RULE[name].severity, "what": RULE[name].what} for name in used},
        },
        option=orjson.OPT_INDENT_2,
    )


# --- the command ---------------------------------------------------------------------------------
def main(args: argparse.Namespace) -> int:
    from mock_server.app.factory import build_context, create_app

    command = list(args.client_command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise SettingsError("verify-client: give the client's command after --, e.g. verify-client -- node client.js")
    misbehaviour = parse_misbehaviour(args.inject, args.latency)
    timeout = _timeout(args.timeout)
    report_path = Path(args.report_json) if args.report_json else None
    settings = mock_settings(args, dict(os.environ), misbehaviour)
    key = next(k.key for k in settings.keys if k.active) if not settings.api_keys else settings.api_keys[0].key
    ctx = build_context(settings)
    queued = install_faults(ctx, misbehaviour)
    scenarios = frozenset(f"fault {f['id']}" for f in ctx.store.faults() if "steps" in f)
    recorder = UnmatchedRecorder(create_app(ctx=ctx), ctx.contract)
    notes = []
    if misbehaviour.rate_limit_after is not None:
        notes.append(
            f"--inject rate-limit: requests after the first {misbehaviour.rate_limit_after} got the documented 503"
        )
    if misbehaviour.latency_ms:
        notes.append(f"--latency: every authenticated response was delayed by {misbehaviour.latency_ms} ms")
    notes += misbehaviour.notes
    try:
        with running(recorder, settings.log_level, settings.port) as base_url:
            env = client_env(dict(os.environ), base_url, key)
            print(
                f"verify-client: running `{shlex.join(command)}` with DUMPLING_BASE_URL={base_url} DUMPLING_API_KEY={mask(key)}",
                file=sys.stderr,
                flush=True,
            )
            exit_code, problem = run_command(command, env, timeout)
            journal, dropped = read_journal(base_url)
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"verify-client: the mock failed: {exc}", file=sys.stderr)
        return 1
    if dropped:
        notes.append(f"the journal keeps the last {settings.journal_limit} requests; older ones were not checked")
    entries = sorted([*journal, *recorder.seen], key=lambda e: (e["at"], e.get("id", 0)))
    analysis = analyse(entries, ctx.validator)
    gave_up_silently(analysis, exit_code if not problem else None)
    if queued:
        notes.insert(0, every_error_note(analysis, queued, scenarios))
    verdict = judge(analysis, command, exit_code, problem, args.warnings_as_errors, notes)
    sys.stdout.write(format_report(verdict, base_url))
    sys.stdout.flush()
    if report_path is not None:
        try:
            report_path.write_bytes(report_json(verdict, base_url))
        except OSError as exc:
            print(f"verify-client: cannot write {report_path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0 if verdict.ok else 1
