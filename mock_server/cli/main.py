"""`dumpling-mock` (also `python -m mock_server`).

    dumpling-mock serve [--host H] [--port P] [--seed N] [--config FILE] [--api-key KEY[:CREDITS]]...
    dumpling-mock contract [show] [--format yaml|json]    print the effective contract
    dumpling-mock contract diff OLD NEW / update PAGE [--write]   vendor page changes (contract_commands.py)
    dumpling-mock verify-client [--inject ...] -- COMMAND ...   check a client's requests (verify_client.py)
    dumpling-mock proxy --upstream URL [--host H] [--port P]    validating reverse proxy (forward.py)
        [--record FILE.har [--max-requests N]]                  recording proxy (recorder.py)
    dumpling-mock serve --replay FILE.har [--replay ...] [--on-miss generate|404|error]   (replay.py)

Every setting flag has a DUMPLING_MOCK_* environment twin and a config-file key (README: "Settings");
the record/replay flags name files of one run and are flags only.
A bad value ends the command with one line on stderr and exit code 2; an address that cannot be
listened on (a port in use), with one line and exit code 3 (serving.py: the other exit codes).
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mock_server import __version__
from mock_server.cli import contract_commands
from mock_server.exceptions import CannotListen, DumplingMockError, SettingsError
from mock_server.recording.replay import ON_MISS
from mock_server.server import logs, serving
from mock_server.server.secrets import mask_text, url_secrets
from mock_server.settings import Settings, resolve, settings_to_json
from mock_server.testing import verify_client

SERVE_FLAGS = (
    ("--host", "address to bind (default 127.0.0.1; 0.0.0.0 to listen on every interface)"),
    ("--port", "port to listen on (default 8080)"),
    ("--seed", "seed of the fake data (default 1): same seed + handle = same bytes"),
    ("--config", "YAML config file (keys: the settings' names, see README)"),
    ("--rate-limit", "per-key rate limit, N/second|minute|hour|day (default 1000/minute)"),
    ("--log-level", "critical|error|warning|info|debug (default info)"),
    ("--state", "SQLite file that keeps keys, credits and the journal across restarts (default: memory)"),
    ("--workers", "uvicorn worker processes sharing one ledger (default 1)"),
    ("--admin-token", "open the admin API beyond loopback, to requests with X-Admin-Token: TOKEN"),
    ("--journal-limit", "request journal entries kept (default 10000)"),
    ("--journal-max-bytes", "request journal's total size, e.g. 32MB (default; KB/MB/GB are powers of 1024)"),
    ("--max-body-bytes", "largest request body accepted (default 65536)"),
    (
        "--client-timeout",
        "seconds a client has to send its request headers, and again its body (API and admin; default 10)",
    ),
    ("--page-size", "videos per page (default 10)"),
    ("--contract", "vendor OpenAPI YAML to serve instead of the bundled one"),
    ("--overlay", "OpenAPI Overlay to apply instead of the bundled prose overlay"),
    (
        "--retry-after",
        "Retry-After on 503s: off (default: the vendor does not document it), window (seconds until the rate-limit window resets) or SECONDS",
    ),
    ("--cors", "origins a browser page may call the mock from, comma-separated, or * (default: CORS off)"),
    (
        "--fidelity",
        "docs (default: the vendor page's item shape) or tiktok (TikTok's full aweme shape: music, text_extra, play_addr, ...)",
    ),
    (
        "--quirks",
        "TikTok pagination quirks to serve, comma-separated: pinned, duplicates, empty-page, page-sizes, zero-cursor, or all (default: none)",
    ),
    (
        "--validation",
        "documented (default: the YAML, the page's prose and the mock's assumptions) or vendor (accept what the vendor's YAML accepts)",
    ),
)


PROXY_FLAGS = {
    "--host",
    "--port",
    "--config",
    "--log-level",
    "--admin-token",
    "--journal-limit",
    "--journal-max-bytes",
    "--max-body-bytes",
    "--client-timeout",
    "--contract",
    "--overlay",
    "--validation",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dumpling-mock", description="Offline twin of DumplingAI's get-tiktok-profile-videos."
    )
    parser.add_argument("--version", action="version", version=f"dumpling-mock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="start the mock server")
    for flag, help_text in SERVE_FLAGS:
        serve.add_argument(flag, help=help_text)
    serve.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY[:CREDITS]",
        help="an API key and its credits (repeatable; default: the demo keys)",
    )
    serve.add_argument(
        "--replay",
        action="append",
        metavar="FILE.har",
        help="answer recorded requests with their recorded status and body (repeatable; earlier files win)",
    )
    serve.add_argument(
        "--on-miss", choices=ON_MISS, help="a request not in the recordings: generate (default), 404 or error (500)"
    )
    serve.add_argument(
        "--fault",
        action="append",
        dest="faults",
        metavar="YAML",
        help="a fault, as the admin API takes it, in YAML or JSON, e.g. '{steps: [503, reset, 200], match: {page: 3}}' (repeatable)",
    )
    verify = commands.add_parser(
        "verify-client", help="run your client against a fresh mock and check every request it makes"
    )
    verify_client.add_arguments(verify)
    proxy = commands.add_parser(
        "proxy", help="validating reverse proxy: forward to a real API, check both ways against the contract"
    )
    proxy.add_argument("--upstream", help="base URL to forward to, e.g. https://staging.example.com (required)")
    proxy.add_argument(
        "--record",
        metavar="FILE.har",
        help="record every interaction with the upstream into a HAR 1.2 file, credentials scrubbed",
    )
    proxy.add_argument(
        "--max-requests",
        metavar="N",
        help="with --record: forward at most N requests (each may cost credits), then answer 503",
    )
    for flag, help_text in SERVE_FLAGS:
        if flag in PROXY_FLAGS:
            proxy.add_argument(flag, help=help_text)
    contract = commands.add_parser("contract", help="print the effective contract (vendor YAML + prose overlay)")
    contract.add_argument("--format", choices=("yaml", "json"), default="yaml")
    contract.add_argument("--contract", help="vendor OpenAPI YAML (default: bundled)")
    contract.add_argument("--overlay", help="OpenAPI Overlay (default: bundled)")
    contract_commands.add_subcommands(contract)
    return parser


@dataclasses.dataclass(frozen=True)
class Recording:
    """The record/replay flags: command-line only (they name files of one run, not a setting)."""

    record: Path | None = None
    max_requests: int | None = None
    replay: tuple[Path, ...] = ()
    on_miss: str = "generate"


def serve(settings: Settings, recording: Recording = Recording()) -> int:
    import uvicorn

    from mock_server.app.factory import SETTINGS_ENV, build_context, create_app, freeze_startup_objects
    from mock_server.faults import transport as transport_faults

    if settings.upstream and settings.workers > 1:
        raise SettingsError("--workers: proxy mode (an upstream is set) runs one worker")
    if recording.replay and (settings.workers > 1 or settings.upstream):
        raise SettingsError("--replay: replay runs one worker and no upstream")
    log_config = logs.configure(settings.log_level)
    scratch: str | None = None
    if settings.workers > 1 and settings.state is None:
        scratch = tempfile.mkdtemp(prefix="dumpling-mock-")
        atexit.register(shutil.rmtree, scratch, True)
        settings = dataclasses.replace(settings, state=Path(scratch) / "state.sqlite3")
    ctx = build_context(settings)  # fails fast, in one line, on a bad contract or state file
    sock = serving.bind(settings.host, settings.port)  # before any banner: a port in use prints no curl
    settings = dataclasses.replace(settings, port=sock.getsockname()[1])  # --port 0: the port bound

    def ready() -> None:
        _banner(settings)
        logs.event("ready", url=f"http://{settings.host}:{settings.port}", workers=settings.workers, pid=os.getpid())

    common: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        log_config=log_config,
        access_log=False,
        server_header=False,
        date_header=settings.upstream is None,  # a proxy passes the upstream's Date on
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        http=transport_faults.protocol(settings.client_timeout),  # header limits, and faults below HTTP
    )
    if settings.workers == 1:
        app = create_app(ctx=ctx, responder=_responder(settings, recording, ctx))
        freeze_startup_objects()
        return serving.run_one(uvicorn.Config(app, **common), sock, ready)
    ctx.store.close()
    os.environ[SETTINGS_ENV] = settings_to_json(settings)
    config = uvicorn.Config(
        "mock_server.app.factory:create_app_from_env", factory=True, workers=settings.workers, **common
    )
    code, stopped_by = serving.run_workers(config, sock, ready)
    if scratch:
        shutil.rmtree(scratch, True)  # now: a signal re-raised below ends the process without atexit
    serving.reraise(stopped_by)
    return code


def _responder(settings: Settings, recording: Recording = Recording(), ctx: Any = None) -> Any:
    """The mock's responder, the replayer (--replay), or in proxy mode the one that forwards to
    the upstream, recording (--record) or not."""
    from mock_server.pipeline.forward import Forwarder
    from mock_server.pipeline.routes import mock_respond
    from mock_server.recording.recorder import Recorder
    from mock_server.recording.replay import Replayer, index

    if settings.upstream:
        forwarder = Forwarder(settings.upstream)
        if recording.record is None:
            return forwarder
        try:
            return Recorder(forwarder, settings.upstream, recording.record, recording.max_requests)
        except OSError as exc:
            raise SettingsError(f"--record: cannot write {recording.record} ({exc.strerror or exc})") from None
    if recording.replay:
        recorded = index(ctx.contract, list(recording.replay))
        print(
            f"dumpling-mock: replaying {len(recorded)} recorded request(s) from {', '.join(p.name for p in recording.replay)}; misses: {recording.on_miss}",
            file=sys.stderr,
            flush=True,
        )
        return Replayer(recorded, recording.on_miss)
    return mock_respond


def _recording(args: argparse.Namespace) -> Recording:
    """The record/replay flags, checked like settings (one line, exit 2)."""
    record = getattr(args, "record", None)
    max_requests = getattr(args, "max_requests", None)
    if max_requests is not None and not record:
        raise SettingsError("--max-requests: only with --record FILE.har")
    if max_requests is not None and not (max_requests.isdigit() and 1 <= int(max_requests) <= 1_000_000):
        raise SettingsError(f"--max-requests: must be a whole number from 1 to 1000000 (got {max_requests!r})")
    if record and Path(record).expanduser().exists():  # a recording cost credits: never overwrite one
        raise SettingsError(f"--record: {record} exists; move it away or record into another file")
    replay = tuple(Path(p).expanduser() for p in getattr(args, "replay", None) or ())
    for path in replay:
        if not path.is_file():
            raise SettingsError(f"--replay: no such file: {path}")
    on_miss = getattr(args, "on_miss", None)
    if on_miss and not replay:
        raise SettingsError("--on-miss: only with --replay FILE.har")
    return Recording(
        Path(record).expanduser() if record else None,
        int(max_requests) if max_requests else None,
        replay,
        on_miss or "generate",
    )


def _banner(settings: Settings) -> None:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    if settings.upstream:
        print(
            f"dumpling-mock {__version__} proxy on http://{host}:{settings.port} -> {mask_text(settings.upstream, url_secrets(settings.upstream))}\n"
            "Requests and responses are checked against the contract: violations in the X-Mock-Violations\n"
            f"header and the journal (GET http://{host}:{settings.port}/__admin/requests). Keys are never logged.\n",
            file=sys.stderr,
            flush=True,
        )
        return
    key = next((k.key for k in settings.keys if k.active), "YOUR_KEY")
    shown = key if not settings.api_keys else "YOUR_API_KEY"  # never print a configured key
    print(
        f"dumpling-mock {__version__} on http://{host}:{settings.port} (seed {settings.seed}, {len(settings.keys)} key(s))\n"
        f"Try:\n  curl -X POST http://{host}:{settings.port}/api/v1/get-tiktok-profile-videos \\\n"
        f"    -H 'Authorization: Bearer {shown}' -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{ "handle": "stoolpresidente" }}\'\n',
        file=sys.stderr,
        flush=True,
    )


def print_contract(args: argparse.Namespace) -> int:
    from mock_server.contract.document import load_contract

    contract = load_contract(
        Path(args.contract) if args.contract else None, Path(args.overlay) if args.overlay else None
    )
    sys.stdout.write(contract.yaml_text if args.format == "yaml" else contract.json_bytes.decode() + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            recording = _recording(args)
            flags = {k: v for k, v in vars(args).items() if k not in ("command", "replay", "on_miss")}
            return (
                serve(resolve(flags, os.environ), recording) if recording.replay else serve(resolve(flags, os.environ))
            )
        if args.command == "contract":
            return contract_commands.run(args) if args.contract_command in ("diff", "update") else print_contract(args)
        if args.command == "verify-client":
            return verify_client.main(args)
        if args.command == "proxy":
            recording = _recording(args)
            settings = resolve(
                {k: v for k, v in vars(args).items() if k not in ("command", "record", "max_requests")}, os.environ
            )
            if settings.upstream is None:
                raise SettingsError("proxy: --upstream URL is required (or DUMPLING_MOCK_UPSTREAM)")
            proxy_settings = dataclasses.replace(settings, workers=1)
            return serve(proxy_settings, recording) if recording.record else serve(proxy_settings)
    except CannotListen as exc:
        print(f"dumpling-mock: error: {exc}", file=sys.stderr)
        return serving.EXIT_CANNOT_LISTEN
    except DumplingMockError as exc:  # any of exceptions.py's tree: one line, exit 2, no traceback
        print(f"dumpling-mock: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2
