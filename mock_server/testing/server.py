"""`MockServer`: a fresh mock for one test, on a free loopback port, with what a test asks of it
(credits, faults, the journal, the verify-client rules) as plain method calls.

The same object backs the pytest fixtures (testing/plugin.py) and `from mock_server import
MockServer` (unittest, scripts, async code). Options go through the CLI's own parsers
(settings.from_options), so a bad option fails with the CLI's one-line message. The contract is
parsed and compiled once (`compile_contract`) and shared by every mock built from it; each mock
has its own ledger, journal and faults, so mocks never see each other's requests.

The server runs on its own event loop in a daemon thread (uvicorn, httptools), so a test's
synchronous client can call it; `transport` serves the same app in the caller's event loop
without a socket (`httpx.AsyncClient(transport=mock.transport)`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mock_server.contract.document import Contract, load_contract
from mock_server.contract.validator import ContractValidator
from mock_server.exceptions import ClientCheckError, FaultError, SettingsError
from mock_server.faults import spec as faults
from mock_server.journal.entry import JournalEntry
from mock_server.journal.query import JournalQuery
from mock_server.settings import PARSERS, ApiKey, Settings, from_options, parse
from mock_server.testing.verify_client import UnmatchedRecorder, request_table
from mock_server.verify.rules import VIOLATION, WARNING, Analysis, analyse

LOOPBACK = "127.0.0.1"
ALIASES = {"keys": "api_keys"}
# Where and how the mock runs is MockServer's business: a free loopback port, one process, memory;
# its logs follow the test process's own logging configuration.
NOT_OPTIONS = {
    **dict.fromkeys(
        ("host", "port", "workers", "state", "upstream", "admin_token"), "it runs on a free loopback port, in memory"
    ),
    "log_level": "its logs follow your logging configuration (logger 'dumpling_mock')",
}
OPTIONS = tuple(sorted({*ALIASES, *PARSERS} - set(ALIASES.values()) - set(NOT_OPTIONS)))
MAX_LATENCY_MS = 60_000  # the admin API's bound (FaultInput.latency_ms)


@dataclass(frozen=True)
class CompiledContract:
    """The effective contract, parsed and with its validator, shared by every mock built from it."""

    contract: Contract
    validator: ContractValidator
    contract_path: Path | None = None
    overlay_path: Path | None = None
    validation: str = "documented"


def compile_contract(
    contract: str | Path | None = None, overlay: str | Path | None = None, validation: str = "documented"
) -> CompiledContract:
    """Parse and compile a contract once, for many mocks (default: the bundled one).

    >>> compiled = compile_contract()
    >>> with MockServer(compiled=compiled) as a, MockServer(compiled=compiled) as b:
    ...     a.url != b.url
    True
    """
    contract_path = parse("contract", str(contract), "contract") if contract is not None else None
    overlay_path = parse("overlay", str(overlay), "overlay") if overlay is not None else None
    mode = parse("validation", validation, "validation")
    loaded = load_contract(contract_path, overlay_path, mode)
    return CompiledContract(loaded, ContractValidator(loaded), contract_path, overlay_path, mode)


@dataclass(frozen=True)
class ClientFinding:
    """A verify-client finding about one request: which request, which rule, and the fix."""

    request: int  # 1 for the first request the mock received
    method: str
    path: str
    status: int
    handle: str
    rule: str
    severity: str  # "violation" or "warning"
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        return f"request #{self.request} ({self.method} {self.path} -> {self.status}): {self.severity} {self.rule}: {self.message}"


def settings_for(options: Mapping[str, Any], compiled: CompiledContract | None = None) -> Settings:
    """Validated Settings for a test mock: the CLI's parsers and messages, on loopback, in memory."""
    for name in options:
        if name in NOT_OPTIONS:
            raise SettingsError(f"{name}: not an option of a test mock ({NOT_OPTIONS[name]})")
        if name not in OPTIONS:
            raise SettingsError(f"unknown option {name!r} (known: {', '.join(OPTIONS)})")
    given = {name: _keys(value) if name == "keys" else value for name, value in options.items()}
    settings = from_options(given, ALIASES)
    if compiled is not None and (settings.contract, settings.overlay, settings.validation) != (
        compiled.contract_path,
        compiled.overlay_path,
        compiled.validation,
    ):
        raise SettingsError(
            "contract/overlay/validation: differ from the compiled contract given (compile_contract(contract, overlay, validation))"
        )
    return dataclasses.replace(settings, host=LOOPBACK, port=0, state=None, workers=1, upstream=None, admin_token=None)


def _keys(value: Any) -> Any:
    """`keys={"sk_test": 30}` (key: credits) as the CLI's list form; lists and text pass as they are."""
    if isinstance(value, Mapping):
        return [{"key": key, "credits": credits} for key, credits in value.items()]
    return value


def _replayer(contract: Any, replay: Any, on_miss: str) -> Any:
    """`replay=` / `on_miss=`: the replaying responder, with the CLI's one-line errors."""
    from mock_server.exceptions import HarError
    from mock_server.recording.replay import ON_MISS, Replayer, index

    files = [Path(replay)] if isinstance(replay, (str, Path)) else [Path(p) for p in replay]
    if not files:
        raise SettingsError("on_miss: only with replay=FILE.har")
    if on_miss not in ON_MISS:
        raise SettingsError(f"on_miss: must be one of {', '.join(ON_MISS)} (got {on_miss!r})")
    try:
        return Replayer(index(contract, files), on_miss)
    except HarError as exc:
        raise SettingsError(f"replay: {exc}") from None


class MockServer:
    """A fresh dumpling-mock on a free loopback port: a context manager, sync or async.

    Options are the settings of `dumpling-mock serve` (README "Settings"), checked the same way:
    `keys` ({key: credits}, or a list of "KEY[:CREDITS]"; default: the demo keys), `handles`
    ({handle: number of videos}), `seed`, `rate_limit` ("2/second"), `page_size`, `fidelity`, `quirks`,
    `journal_limit`, `max_body_bytes`, `client_timeout`, `contract`, `overlay`, `config`.
    `compiled` shares one parsed contract between mocks. `replay` (a HAR file or a list of them)
    and `on_miss` ("generate", "404" or "error") are `serve --replay` / `--on-miss` (replay.py).

    >>> with MockServer(keys={"sk_test": 30}, handles={"alice": 25}) as mock:
    ...     response = httpx.post(mock.url + "/api/v1/get-tiktok-profile-videos",
    ...                           headers={"Authorization": f"Bearer {mock.api_key}"}, json={"handle": "alice"})
    ...     (response.status_code, mock.credits())
    (200, 20)
    """

    def __init__(
        self, *, compiled: CompiledContract | None = None, replay: Any = (), on_miss: str = "generate", **options: Any
    ) -> None:
        self._settings = settings_for(options, compiled)
        from mock_server.app.factory import build_context, create_app  # the app's modules load with the first mock
        from mock_server.pipeline.routes import mock_respond

        if compiled is None:
            compiled = compile_contract(self._settings.contract, self._settings.overlay, self._settings.validation)
        responder = _replayer(compiled.contract, replay, on_miss) if replay or on_miss != "generate" else mock_respond
        self._ctx = build_context(self._settings, compiled.contract, compiled.validator)
        self._recorder = UnmatchedRecorder(create_app(ctx=self._ctx, responder=responder), compiled.contract)
        self._serving: _Serving | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> MockServer:
        """Start serving on a free loopback port (a context manager does it for you)."""
        if self._serving is None:
            self._serving = _Serving(self._recorder)
        return self

    def stop(self) -> None:
        """Stop serving: the port is closed when this returns. Safe to call twice."""
        serving, self._serving = self._serving, None
        if serving is not None:
            serving.stop()
        self._ctx.access_log.flush()
        self._ctx.store.close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> MockServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # --- where to send requests -----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:41873`.

        >>> httpx.get(mock.url + "/__admin/health").json()["status"]  # doctest: +SKIP
        'ok'
        """
        if self._serving is None:
            raise RuntimeError("the mock is not started: use `with MockServer() as mock:` or mock.start()")
        return self._serving.url

    @property
    def api_key(self) -> str:
        """The first key given in `keys`, or the demo key `sk_mock_demo`.

        >>> MockServer(keys={"sk_test": 30}).api_key  # doctest: +SKIP
        'sk_test'
        """
        if self._settings.api_keys:
            return self._settings.api_keys[0].key
        return next(k.key for k in self._settings.keys if k.active)

    @property
    def transport(self) -> httpx.ASGITransport:
        """An httpx transport that calls the mock in your event loop, without a socket.

        >>> async with httpx.AsyncClient(transport=mock.transport, base_url="http://mock") as client:  # doctest: +SKIP
        ...     await client.get("/__admin/health")
        <Response [200 OK]>
        """
        return httpx.ASGITransport(app=self._recorder, client=(LOOPBACK, 50000))

    # --- credits --------------------------------------------------------------------------------
    def credits(self, key: str | None = None) -> int:
        """The credits left on `key` (default: `api_key`).

        >>> mock.credits("sk_test")  # doctest: +SKIP
        30
        """
        balance = self._ctx.store.credits(key if key is not None else self.api_key)
        if balance is None:
            raise KeyError(
                "no such key in this mock (keys: " + ", ".join(k["key"] for k in self._ctx.store.keys()) + ")"
            )
        return balance

    def set_credits(self, key: str, credits: int) -> None:
        """Give `key` exactly `credits` (a new key is created, active).

        >>> mock.set_credits("sk_test", 5)  # the next request gets the documented 403  # doctest: +SKIP
        """
        parsed = parse("api_keys", [{"key": key, "credits": credits}], "set_credits")[0]
        found = self._ctx.store.find_key(key)
        self._ctx.store.put_key(ApiKey(parsed.key, parsed.credits, found.active if found is not None else True))

    # --- faults ---------------------------------------------------------------------------------
    def fault(
        self,
        status: int | None = None,
        example: str | None = None,
        times: int | None = 1,
        latency_ms: int = 0,
        *,
        kind: str | None = None,
        steps: list[Any] | None = None,
        match: Mapping[str, Any] | None = None,
        probability: float | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next `times` matching requests (None: until `reset`) with a documented
        `status` (and named `example`), after `latency_ms`; or break the connection (`kind`,
        e.g. "reset"); or play a sequence of `steps`. `match` narrows it to a handle, page, key
        or operation. The one fault schema of `POST /__admin/faults`, `serve --fault` and
        `faults:` (openapi/admin.yaml), checked the same way.

        >>> mock.fault(503, times=2)  # the next two requests get the documented 503  # doctest: +SKIP
        >>> mock.fault(502, example="service_unavailable")  # doctest: +SKIP
        >>> mock.fault(None, latency_ms=200, times=None)  # every response 200 ms late  # doctest: +SKIP
        >>> mock.fault(steps=[503, "502/service_unavailable", "reset", 200], match={"handle": "alice", "page": 3})  # doctest: +SKIP
        """
        if status is not None:
            _whole("status", status, 200, 599)
        if times is not None:
            _whole("times", times, 1, None)
        _whole("latency_ms", latency_ms, 0, MAX_LATENCY_MS)
        body: dict[str, Any] = {
            "status": status,
            "example": example,
            "latency_ms": latency_ms or None,
            "kind": kind,
            "steps": steps,
            "match": dict(match) if match is not None else None,
            "probability": probability,
            "retry_after": retry_after,
        }
        body = {k: v for k, v in body.items() if v is not None}
        if times is not None and steps is None:
            body["count"] = times
        try:
            ((spec, count),) = faults.check_configured([body], self._ctx.contract)
        except FaultError as exc:
            raise ValueError(f"fault: {str(exc).removeprefix('fault 1: ')}") from None
        self._ctx.store.add_fault(spec, count)

    # --- the journal ----------------------------------------------------------------------------
    def requests(
        self, handle: str | None = None, status: int | None = None, key: str | None = None, operation: str | None = None
    ) -> list[JournalEntry]:
        """The requests the mock received, oldest first, filtered like `GET /__admin/requests`
        (`key`: the plain key or its masked form).

        >>> [e.status for e in mock.requests(handle="alice")]  # doctest: +SKIP
        [503, 503, 200]
        """
        query = JournalQuery(handle=handle, status=status, key=key, operation=operation)
        return [JournalEntry.from_dict(e) for e in self._journal() if query.matches(e)]

    def violations(self, warnings: bool = False) -> list[ClientFinding]:
        """What the verify-client rules find in the requests sent so far: violations (the
        contract forbids it), and warnings too with `warnings=True`.

        >>> [f.rule for f in mock.violations()]  # doctest: +SKIP
        ['unknown-value']
        """
        wanted = (VIOLATION, WARNING) if warnings else (VIOLATION,)
        return [
            ClientFinding(r.number, r.method, r.path, r.status, r.handle, f.rule, f.severity, f.message)
            for r in self._analysis().requests
            for f in r.findings
            if f.severity in wanted
        ]

    def assert_clean(self, warnings: bool = False) -> None:
        """Fail (ClientCheckError, an AssertionError) when a request broke the contract, or, with
        `warnings=True`, drew a warning; the message shows each request, the rule and the fix.

        >>> mock.assert_clean()  # doctest: +SKIP
        """
        __tracebackhide__ = True
        analysis = self._analysis()
        bad = analysis.violations + (analysis.warnings if warnings else 0)
        if bad:
            what = "violation" if not warnings else "violation or warning"
            lines = [
                f"dumpling-mock: {bad} contract {what}{'' if bad == 1 else 's'} in {len(analysis.requests)} request(s) to {self._where()}",
                *request_table(analysis),
            ]
            raise ClientCheckError("\n".join(lines))

    def reset(self) -> None:
        """Back to the start: the configured keys and credits, an empty journal, no faults.

        >>> mock.reset()  # doctest: +SKIP
        """
        self._ctx.store.reset()
        self._recorder.seen.clear()

    # --- internals ------------------------------------------------------------------------------
    def _journal(self) -> list[dict[str, Any]]:
        return self._ctx.store.journal(0, self._settings.journal_limit)

    def _analysis(self) -> Analysis:
        entries = sorted([*self._journal(), *self._recorder.seen], key=lambda e: (e["at"], e.get("id", 0)))
        return analyse(entries, self._ctx.validator)

    def _where(self) -> str:
        return self._serving.url if self._serving is not None else "the mock"

    def __repr__(self) -> str:
        return f"<MockServer {self._where()} seed={self._settings.seed}>"


def _whole(name: str, value: Any, low: int, high: int | None) -> None:
    """The admin API's bounds on a fault (FaultInput), with its kind of message."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ValueError(f"fault: {name} must be a whole number {bound} (got {value!r})")


class _Serving:
    """uvicorn on its own event loop in a daemon thread, on a socket bound before it starts (so the
    port is known and free). Stopping closes the listening socket and every connection at once,
    without uvicorn's fixed 0.1 s shutdown grace: a test's mock has no request in flight to wait for."""

    def __init__(self, app: Any) -> None:
        import uvicorn  # only when a mock is served

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOOPBACK, 0))
        self.url = f"http://{LOOPBACK}:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            lifespan="off",
            timeout_keep_alive=5,
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"dumpling-mock {self.url}", daemon=True)
        self.thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        except BaseException:
            self._end_loop()
            self.sock.close()
            raise

    async def _start(self) -> None:
        self.server.config.load()
        self.server.lifespan = self.server.config.lifespan_class(self.server.config)
        await self.server.startup(sockets=[self.sock])

    async def _stop(self) -> None:
        for listener in self.server.servers:
            listener.close()
        for connection in list(self.server.server_state.connections):
            connection.shutdown()
        tasks = list(self.server.server_state.tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=10)
        finally:
            self._end_loop()
            self.sock.close()

    def _end_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


__all__ = [
    "ClientCheckError",
    "ClientFinding",
    "CompiledContract",
    "JournalEntry",
    "MockServer",
    "compile_contract",
]
