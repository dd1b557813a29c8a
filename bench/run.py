"""`make bench`: how fast and lean the mock is, measured against a bare FastAPI endpoint in the same
run on the same machine (issue 6). Needs `wrk` (Debian package `wrk`).

    .venv/bin/python bench/run.py [--quick] [--duration S] [--out DIR] [--prism auto|off|PATH]

Prints a table and writes `bench-results/latest.json` (and a timestamped copy) so runs can be
compared. Every server runs as its own process group on a free loopback port and is stopped at the
end of its measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mock_server.data import quirks, tiktok  # noqa: E402  (after the path tweak, for a checkout without install)
from mock_server.settings import QUIRKS  # noqa: E402

ENDPOINT = "/api/v1/get-tiktok-profile-videos"
KEY = "sk_bench_0123456789abcdef"
HANDLE = "stoolpresidente"  # the contract's example handle
DEEP_HANDLE = "videos-2000000"
DEEP_INDEX = 1_000_000  # the deep page starts one million videos down
SEED = 1
PAGE_SIZE = 10
BIG_CREDITS = 10**15
BIG_RATE = "1000000000/minute"
MARK = "BENCH_JSON "
ISSUE_PRISM = {"rps": 3500.0, "p99_ms": 34.0, "rss_mb": 297.0, "source": "issue 6 (Prism 5.16, static examples)"}


@dataclass
class Load:
    """One wrk run."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # HTTP status >= 400 plus socket errors


@dataclass
class Plan:
    duration: float = 10.0
    warmup: float = 2.0
    connections: int = 32
    threads: int = 2
    round_s: float = 5.0  # throughput runs alternate between the servers compared, in rounds this long
    # (shorter rounds weigh the first requests of wrk's fresh connections too much in the p99)
    latency_duration: float = 5.0
    mix_requests: int = 100_000
    mix_handles: int = 10_000
    cold_runs: int = 5
    distinct_pages: int = 3_000  # more than the page cache holds (~580 pages of 7 KB): walked in order, none is a hit
    fresh_mocks: int = 200  # fresh mocks per test, after the first


QUICK = Plan(
    duration=2.0,
    warmup=0.5,
    round_s=1.0,
    latency_duration=1.0,
    mix_requests=10_000,
    mix_handles=1_000,
    cold_runs=3,
    fresh_mocks=50,
)


# --- wrk ---------------------------------------------------------------------------------------
def lua_quote(text: str) -> str:
    return json.dumps(text)  # a JSON string literal of ASCII text is a valid Lua string literal


DONE_LUA = f"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n{MARK}{{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def lua_fixed(body: str, key: str = KEY) -> str:
    """Every request the same POST."""
    return (
        f'wrk.method = "POST"\nwrk.path = {lua_quote(ENDPOINT)}\nwrk.body = {lua_quote(body)}\n'
        f'wrk.headers["Authorization"] = {lua_quote("Bearer " + key)}\n'
        'wrk.headers["Content-Type"] = "application/json"\n' + DONE_LUA
    )


def lua_rotating(bodies: list[str], threads: int, start: int = 0, key: str = KEY) -> str:
    """Thread k of `threads` sends bodies start+k, start+k+threads, ... (cycling through the list),
    so together the threads walk the list in order, from `start`."""
    items = ",\n".join(lua_quote(b) for b in bodies)
    return (
        f"local bodies = {{\n{items}\n}}\n"
        "local counter = 0\n"
        "setup = function(thread)\n  thread:set('id', counter)\n  counter = counter + 1\nend\n"
        "init = function(args)\n  sent = 0\nend\n"
        f"headers = {{['Authorization'] = {lua_quote('Bearer ' + key)}, ['Content-Type'] = 'application/json'}}\n"
        "request = function()\n"
        f"  local n = ({start} + sent * {threads} + id) % #bodies + 1\n"
        "  sent = sent + 1\n"
        f"  return wrk.format('POST', {lua_quote(ENDPOINT)}, headers, bodies[n])\n"
        "end\n"
    ) + DONE_LUA


def parse_wrk(output: str) -> Load:
    """The JSON line our Lua `done` hook prints (wrk's own text output is for humans)."""
    line = next((ln for ln in output.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
    data = json.loads(line[len(MARK) :])
    seconds = data["duration_us"] / 1e6
    return Load(
        requests=data["requests"],
        seconds=round(seconds, 3),
        rps=round(data["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=round(data["p50_us"] / 1000, 3),
        p99_ms=round(data["p99_us"] / 1000, 3),
        errors=data["errors"],
    )


def wrk(url: str, script: str, duration: float, connections: int, threads: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            handle.name,
            url,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


# --- processes ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port: int, body: str, key: str = KEY, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", ENDPOINT, body, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants (uvicorn's supervisor, its workers, multiprocessing helpers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def status_kb(pid: int, field_name: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/PID/status, in kB (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory_mb(root: int) -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory summed over the process tree."""
    pids = tree_pids(root)
    return {
        "peak_rss_mb": round(sum(status_kb(p, "VmHWM") for p in pids) / 1024, 1),
        "rss_mb": round(sum(status_kb(p, "VmRSS") for p in pids) / 1024, 1),
        "processes": len(pids),
    }


@dataclass
class Server:
    name: str
    cmd: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Any = None
    started_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.log = tempfile.TemporaryFile()
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends uvicorn's workers too
        )
        return self

    def wait_ready(self, body: str, timeout: float = 30.0) -> float:
        """Seconds from process start to the first 200 on the endpoint."""
        assert self.proc is not None
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if post(self.port, body, timeout=2.0)[0] == 200:
                    return time.perf_counter() - self.started_at
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} did not answer 200 within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # leftovers of the group (a worker that outlived its parent)
        self.log.close()
        self.proc = None


def mock_cmd(port: int, workers: int = 1, extra: tuple[str, ...] = ()) -> list[str]:
    """The mock with default settings, except a key and rate limit large enough never to trip."""
    return [
        sys.executable,
        "-m",
        "mock_server",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--api-key",
        f"{KEY}:{BIG_CREDITS}",
        "--rate-limit",
        BIG_RATE,
        *extra,
    ]


def baseline_cmd(port: int, workers: int = 1) -> list[str]:
    """Bare FastAPI on uvicorn with the mock's server options (uvloop + httptools, no access log)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "baseline_app:app",
        "--app-dir",
        str(ROOT / "bench"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
        "--timeout-keep-alive",
        "5",
    ]


@contextlib.contextmanager
def running(
    name: str, cmd: list[str], port: int, ready_body: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    server = Server(name, cmd, port, env or {}).start()
    try:
        server.wait_ready(ready_body)
        yield server
    finally:
        server.stop()


# --- measurements -------------------------------------------------------------------------------
def body_of(handle: str, max_cursor: str | None = None) -> str:
    body: dict[str, Any] = {"handle": handle}
    if max_cursor is not None:
        body["maxCursor"] = max_cursor
    return json.dumps(body, separators=(",", ":"))


def deep_profile() -> tiktok.Profile:
    return tiktok.Profile(SEED, DEEP_HANDLE, tiktok.video_count(SEED, DEEP_HANDLE), PAGE_SIZE)


def cursor_before(profile: tiktok.Profile, index: int) -> str | None:
    """The maxCursor whose page starts at video `index` (the max_cursor of the page before it)."""
    if index == 0:
        return None
    return str(tiktok.video(profile, index - 1, trim=True)["create_time"] * 1000)


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds used so far by `root` and its descendants (/proc/PID/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def throughput(name: str, cmd: list[str], port: int, plan: Plan, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One server on its own (Prism)."""
    return paired({name: (cmd, port, env)}, plan)[name]


def paired(servers: dict[str, tuple[list[str], int, dict[str, str] | None]], plan: Plan) -> dict[str, dict[str, Any]]:
    """Throughput of several servers, measured in alternating rounds (A B A B ...) so that a
    machine whose speed drifts (a shared VM) drifts for all of them alike; their ratio is what the
    targets compare. Requests/s = all requests / all seconds; p50 and p99 = the median of the
    rounds' figures; cpu_us_per_request = the server's own CPU (user + system) per request."""
    body = body_of(HANDLE)
    script = lua_fixed(body)
    rounds = max(1, round(plan.duration / plan.round_s))
    loads: dict[str, list[Load]] = {name: [] for name in servers}
    cpu: dict[str, float] = dict.fromkeys(servers, 0.0)
    with contextlib.ExitStack() as stack:
        started = {
            name: stack.enter_context(running(name, cmd, port, body, env)) for name, (cmd, port, env) in servers.items()
        }
        for server in started.values():
            wrk(server.url, script, plan.warmup, plan.connections, plan.threads)
        for _ in range(rounds):
            for name, server in started.items():
                before = tree_cpu_s(server.proc.pid)  # type: ignore[union-attr]
                loads[name].append(wrk(server.url, script, plan.duration / rounds, plan.connections, plan.threads))
                cpu[name] += tree_cpu_s(server.proc.pid) - before  # type: ignore[union-attr]
        memory = {name: tree_memory_mb(server.proc.pid) for name, server in started.items()}  # type: ignore[union-attr]
    results = {}
    for name, runs in loads.items():
        requests, seconds = sum(r.requests for r in runs), sum(r.seconds for r in runs)
        results[name] = {
            "requests": requests,
            "seconds": round(seconds, 3),
            "rps": round(requests / seconds, 1) if seconds else 0.0,
            "p50_ms": round(statistics.median(r.p50_ms for r in runs), 3),
            "p99_ms": round(statistics.median(r.p99_ms for r in runs), 3),
            "p99_ms_rounds": [r.p99_ms for r in runs],
            "errors": sum(r.errors for r in runs),
            "cpu_us_per_request": round(cpu[name] / requests * 1e6, 1) if requests else 0.0,
            **memory[name],
        }
    return results


def throughput_pair(workers: int, plan: Plan, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The mock and the bare FastAPI baseline with `workers` workers, in alternating rounds."""
    mock_port, base_port = free_port(), free_port()
    measured = paired(
        {
            "mock": (mock_cmd(mock_port, workers), mock_port, None),
            "baseline": (baseline_cmd(base_port, workers), base_port, env),
        },
        plan,
    )
    return {f"mock_{workers}w": measured["mock"], f"baseline_{workers}w": measured["baseline"]}


def cold_start(plan: Plan) -> dict[str, Any]:
    times = []
    for _ in range(plan.cold_runs):
        port = free_port()
        server = Server("mock", mock_cmd(port), port).start()
        try:
            times.append(server.wait_ready(body_of(HANDLE)))
        finally:
            server.stop()
    return {"median_s": round(statistics.median(times), 3), "runs_s": [round(t, 3) for t in times]}


def fresh_mock(plan: Plan) -> dict[str, Any]:
    """A fresh mock per test (bench/fresh_mock.py, in a process of its own): start, first request, stop."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "fresh_mock.py"), str(plan.fresh_mocks)],
                         capture_output=True, text=True, timeout=600, check=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def deep_pages(plan: Plan) -> dict[str, Any]:
    """Page 1 against a page one million videos deep: the same page repeated (a cache hit), then
    `distinct_pages` different pages at each depth, walked in order so that the LRU page cache
    never hits (the cost of rendering); one connection, so latency is service time."""
    profile = deep_profile()
    port = free_port()
    result: dict[str, Any] = {"handle": DEEP_HANDLE, "deep_index": DEEP_INDEX}
    with running("mock", mock_cmd(port), port, body_of(DEEP_HANDLE)) as server:
        first = [body_of(DEEP_HANDLE, cursor_before(profile, i * PAGE_SIZE)) for i in range(plan.distinct_pages)]
        deep = [
            body_of(DEEP_HANDLE, cursor_before(profile, DEEP_INDEX + i * PAGE_SIZE)) for i in range(plan.distinct_pages)
        ]
        status, page = post(port, deep[0])
        if status != 200 or json.loads(page)["aweme_list"][0] != tiktok.video(profile, DEEP_INDEX):
            raise RuntimeError("the deep cursor does not lead to video 1,000,000")
        # Page 1 and the deep page alternate, a second at a time, so that a drifting machine
        # drifts for both; each distinct walk goes on where its last round stopped (never a hit).
        scripts: dict[str, Callable[[int], str]] = {
            "page1_same": lambda _: lua_fixed(first[0]),
            "deep_same": lambda _: lua_fixed(deep[0]),
            "page1_distinct": lambda start: lua_rotating(first, 1, start=start),
            "deep_distinct": lambda start: lua_rotating(deep, 1, start=start),
        }
        sent = dict.fromkeys(scripts, 0)
        rounds: dict[str, list[Load]] = {label: [] for label in scripts}
        for label, script in scripts.items():
            sent[label] += wrk(server.url, script(0), plan.warmup, 1, 1).requests
        for _ in range(max(1, round(plan.latency_duration))):
            for label, script in scripts.items():
                load = wrk(server.url, script(sent[label]), 1.0, 1, 1)
                sent[label] += load.requests
                rounds[label].append(load)
        for label, loads in rounds.items():
            result[label] = {
                "requests": sum(r.requests for r in loads),
                "p50_ms": round(statistics.median(r.p50_ms for r in loads), 3),
                "p99_ms": round(statistics.median(r.p99_ms for r in loads), 3),
            }
    result["ratio_same_p50"] = round(result["deep_same"]["p50_ms"] / result["page1_same"]["p50_ms"], 2)
    result["ratio_distinct_p50"] = round(result["deep_distinct"]["p50_ms"] / result["page1_distinct"]["p50_ms"], 2)
    result["data_module_us"] = data_module_times(profile)
    return result


def data_module_times(profile: tiktok.Profile, rounds: int = 300) -> dict[str, float]:
    """In-process cost of computing (not serving) page 1 and the deep page, median of `rounds`."""
    out = {}
    rich = lambda cursor: quirks.page(profile, cursor, False, "tiktok", QUIRKS)  # noqa: E731 (--fidelity tiktok --quirks all)
    for prefix, render in (("", lambda cursor: tiktok.page(profile, cursor)), ("tiktok_all_quirks_", rich)):
        for label, index in (("page1", 0), ("deep", DEEP_INDEX)):
            cursor = cursor_before(profile, index)
            samples = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                render(cursor)
                samples.append(time.perf_counter() - t0)
            out[prefix + label] = round(statistics.median(samples) * 1e6, 1)
    out["ratio"] = round(out["deep"] / out["page1"], 2)
    out["tiktok_all_quirks_ratio"] = round(out["tiktok_all_quirks_deep"] / out["tiktok_all_quirks_page1"], 2)
    return out


def handle_mix(plan: Plan) -> dict[str, Any]:
    """Peak memory after `mix_requests` requests walking `mix_handles` distinct handles in turn
    (so no cache can hold them all). wrk runs for a duration, not a count: run it in chunks, each
    continuing the walk where the last one stopped, until enough requests were served."""
    port = free_port()
    bodies = [body_of(f"bench_user_{i}") for i in range(plan.mix_handles)]
    served, seconds, errors, p99, chunk_s = 0, 0.0, 0, 0.0, 5.0
    with running("mock", mock_cmd(port), port, body_of(HANDLE)) as server:
        idle = tree_memory_mb(server.proc.pid)  # type: ignore[union-attr]
        while served < plan.mix_requests:
            load = wrk(
                server.url, lua_rotating(bodies, plan.threads, start=served), chunk_s, plan.connections, plan.threads
            )
            served, seconds, errors, p99 = (
                served + load.requests,
                seconds + load.seconds,
                errors + load.errors,
                max(p99, load.p99_ms),
            )
            rate = max(1.0, load.requests / max(load.seconds, 0.001))
            chunk_s = max(1.0, min(120.0, (plan.mix_requests - served) / rate + 0.5))
            print(f"bench:   {served:,} of {plan.mix_requests:,} requests", file=sys.stderr, flush=True)
        after = tree_memory_mb(server.proc.pid)  # type: ignore[union-attr]
    return {
        "handles": plan.mix_handles,
        "requests": served,
        "seconds": round(seconds, 1),
        "rps": round(served / seconds, 1),
        "max_p99_ms": p99,
        "errors": errors,
        "idle_rss_mb": idle["rss_mb"],
        **after,
    }


def workers_exact(workers: int = 2, budget: int = 600, limit: int = 1000, sent: int = 1200) -> dict[str, Any]:
    """Credits and rate limit stay exact across workers: `sent` concurrent requests with a key worth
    `budget` successes and a limit of `limit` requests a day must give exactly budget x 200,
    (limit - budget) x 403 and (sent - limit) x 503."""
    import httpx

    port = free_port()
    cost = 10
    cmd = [
        sys.executable,
        "-m",
        "mock_server",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--api-key",
        f"{KEY}:{budget * cost}",
        "--rate-limit",
        f"{limit}/day",
        "--log-level",
        "warning",
    ]
    server = Server("mock", cmd, port).start()
    try:
        deadline = time.perf_counter() + 30
        while True:  # readiness without spending the key's budget
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.url + "/__admin/health", timeout=1).status_code == 200:
                    break
            if time.perf_counter() > deadline or server.proc.poll() is not None:  # type: ignore[union-attr]
                raise RuntimeError(f"mock did not start:\n{server.output()}")
            time.sleep(0.02)

        async def fire() -> list[int]:
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
                gate = asyncio.Semaphore(32)

                async def one() -> int:
                    async with gate:
                        response = await client.post(
                            ENDPOINT,
                            content=body_of(HANDLE),
                            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
                        )
                        return response.status_code

                return list(await asyncio.gather(*(one() for _ in range(sent))))

        day = int(time.time() // 86400)
        statuses = asyncio.run(fire())
        keys = httpx.get(server.url + "/__admin/keys", timeout=5).json()["keys"]
    finally:
        server.stop()
    counts = {str(s): statuses.count(s) for s in sorted(set(statuses))}
    expected = {"200": budget, "403": limit - budget, "503": sent - limit}
    same_day = day == int(time.time() // 86400)
    return {
        "workers": workers,
        "sent": sent,
        "counts": counts,
        "expected": expected,
        "credits_left": keys[0]["credits"],
        "exact": (counts == expected and keys[0]["credits"] == 0) or not same_day,
    }


PRISM_PLACES = ("bench/node_modules/.bin/prism", "node_modules/.bin/prism")


def find_prism(choice: str) -> str | None:
    """`auto`: prism on PATH, else in bench/node_modules (`npm install --prefix bench @stoplight/prism-cli`)."""
    if choice == "off":
        return None
    if choice != "auto":
        return choice
    return shutil.which("prism") or next((str(ROOT / p) for p in PRISM_PLACES if (ROOT / p).exists()), None)


def prism(path: str, plan: Plan) -> dict[str, Any]:
    """Stoplight Prism serving the effective contract from its static examples."""
    contract = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    with contract:
        contract.write(
            subprocess.run(
                [sys.executable, "-m", "mock_server", "contract"], capture_output=True, text=True, check=True, cwd=ROOT
            ).stdout
        )
    port = free_port()
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    cmd = [path, "mock", "--host", "127.0.0.1", "--port", str(port), "--errors", "false", contract.name]
    try:
        result = throughput("prism", cmd, port, plan)
    finally:
        os.unlink(contract.name)
    return {"version": version, **result}


# --- report -------------------------------------------------------------------------------------
def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issue's targets against this run's figures (those whose runs were made)."""
    r = results
    prism_rps = (r.get("prism") or ISSUE_PRISM)["rps"]
    checks: dict[str, tuple[Any, str, bool]] = {}
    if "mock_1w" in r and "baseline_1w" in r:
        ratio = r["mock_1w"]["rps"] / r["baseline_1w"]["rps"]
        checks["1 worker >= 60% of bare FastAPI req/s"] = (round(ratio, 2), ">= 0.60", ratio >= 0.6)
    if "mock_1w" in r:
        checks["1 worker p99 < 10 ms at 32 connections"] = (r["mock_1w"]["p99_ms"], "< 10", r["mock_1w"]["p99_ms"] < 10)
        checks["1 worker >= 3x Prism static req/s"] = (
            round(r["mock_1w"]["rps"] / prism_rps, 1),
            ">= 3",
            r["mock_1w"]["rps"] >= 3 * prism_rps,
        )
    if "mix" in r:
        checks["peak RSS < 100 MB after the handle mix"] = (
            r["mix"]["peak_rss_mb"],
            "< 100",
            r["mix"]["peak_rss_mb"] < 100,
        )
    if "cold_start" in r:
        checks["cold start < 1.5 s"] = (r["cold_start"]["median_s"], "< 1.5", r["cold_start"]["median_s"] < 1.5)
    if "deep" in r:
        ratio = r["deep"]["ratio_distinct_p50"]
        checks["deep page within 1.2x page 1 (distinct pages)"] = (ratio, "<= 1.2", ratio <= 1.2)
    if "fresh_mock" in r:
        median = r["fresh_mock"]["median_ms"]
        checks["fresh mock per test < 50 ms after the first"] = (median, "< 50", median < 50)
    if "exact" in r:
        checks["2 workers: credits and rate limit exact"] = (
            r["exact"]["counts"],
            f"= {r['exact']['expected']}",
            r["exact"]["exact"],
        )
    return {name: {"value": v, "target": t, "met": ok} for name, (v, t, ok) in checks.items()}


LABELS = {
    "mock_1w": "mock, 1 worker",
    "baseline_1w": "bare FastAPI, 1 worker",
    "mock_2w": "mock, 2 workers",
    "baseline_2w": "bare FastAPI, 2 workers",
    "prism": "Prism, static examples",
}


def table(results: dict[str, Any]) -> str:
    """The figures as the README shows them."""
    r = results
    rows = [("run", "req/s", "p50 ms", "p99 ms", "CPU us/req", "errors", "peak RSS MB")]
    for key, label in LABELS.items():
        if key in r:
            x = r[key]
            rows.append(
                (
                    label,
                    f"{x['rps']:,.0f}",
                    f"{x['p50_ms']:.2f}",
                    f"{x['p99_ms']:.2f}",
                    f"{x.get('cpu_us_per_request', 0):,.0f}",
                    str(x["errors"]),
                    f"{x['peak_rss_mb']:.1f}",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for workers in (1, 2):
        mock, base = r.get(f"mock_{workers}w"), r.get(f"baseline_{workers}w")
        if mock and base:
            lines.append(f"mock / bare FastAPI, {workers} worker(s): {mock['rps'] / base['rps']:.2f} of the requests/s")
    if "cold_start" in r:
        cold = r["cold_start"]
        lines.append(
            f"cold start (process start -> first 200), median of {len(cold['runs_s'])}: {cold['median_s']:.2f} s"
        )
    if "mix" in r:
        mix = r["mix"]
        lines.append(
            f"handle mix: {mix['requests']:,} requests over {mix['handles']:,} handles at {mix['rps']:,.0f} req/s: "
            f"peak RSS {mix['peak_rss_mb']:.1f} MB (idle {mix['idle_rss_mb']:.1f} MB, after {mix['rss_mb']:.1f} MB)"
        )
    if "deep" in r:
        d = r["deep"]
        lines.append(
            f"page 1 vs {d['deep_index']:,} videos deep ({d['handle']}, 1 connection, p50 ms): "
            f"same page {d['page1_same']['p50_ms']:.2f} vs {d['deep_same']['p50_ms']:.2f} ({d['ratio_same_p50']}x); "
            f"{r['plan']['distinct_pages']:,} distinct pages {d['page1_distinct']['p50_ms']:.2f} vs "
            f"{d['deep_distinct']['p50_ms']:.2f} ({d['ratio_distinct_p50']}x); "
            f"data module alone {d['data_module_us']['page1']:,.0f} vs {d['data_module_us']['deep']:,.0f} us"
        )
        if "tiktok_all_quirks_page1" in d["data_module_us"]:
            lines.append(
                f"--fidelity tiktok --quirks all, data module alone: page 1 {d['data_module_us']['tiktok_all_quirks_page1']:,.0f} vs "
                f"deep {d['data_module_us']['tiktok_all_quirks_deep']:,.0f} us ({d['data_module_us']['tiktok_all_quirks_ratio']}x)"
            )
    if "fresh_mock" in r:
        f = r["fresh_mock"]
        lines.append(
            f"fresh mock per test (start, first request, stop), {f['mocks']} mocks: median {f['median_ms']:.1f} ms, "
            f"p95 {f['p95_ms']:.1f} ms, max {f['max_ms']:.1f} ms; the first of a run {f['first_ms']:,.0f} ms (imports, contract)"
        )
    if "exact" in r:
        e = r["exact"]
        lines.append(
            f"2 workers, {e['sent']:,} concurrent requests: statuses {e['counts']} (expected {e['expected']}), "
            f"credits left {e['credits_left']}"
        )
    if "prism" not in r and "mock_1w" in r:
        lines.append(
            f"Prism not measured in this run; reference from {ISSUE_PRISM['source']}: "
            f"{ISSUE_PRISM['rps']:,.0f} req/s, p99 {ISSUE_PRISM['p99_ms']} ms, {ISSUE_PRISM['rss_mb']} MB"
        )
    lines += ["", "targets (issue 6):"]
    for name, t in r["targets"].items():
        lines.append(f"  [{'met' if t['met'] else 'MISSED'}] {name}: {t['value']} (target {t['target']})")
    return "\n".join(lines)


STEPS = ("throughput_1w", "throughput_2w", "cold_start", "mix", "deep", "exact", "fresh_mock", "prism")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the mock against a bare FastAPI endpoint (issue 6).")
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test (figures are rough)")
    parser.add_argument("--duration", type=float, help="seconds per throughput run (default 10)")
    parser.add_argument("--only", help=f"comma-separated steps to run (default all): {','.join(STEPS)}")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench-results", help="where the JSON goes (default bench-results/)"
    )
    parser.add_argument(
        "--prism", default="auto", help="auto (prism on PATH or in bench/node_modules), off, or its path"
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)", file=sys.stderr)
        return 2
    only = set(args.only.split(",")) if args.only else set(STEPS)
    unknown = only - set(STEPS)
    if unknown:
        print(f"bench: unknown step(s) {', '.join(sorted(unknown))}; steps: {', '.join(STEPS)}", file=sys.stderr)
        return 2
    plan = dataclasses.replace(
        QUICK if args.quick else Plan(), **({"duration": args.duration} if args.duration else {})
    )
    prism_path = find_prism(args.prism)

    results: dict[str, Any] = {"plan": asdict(plan)}
    body_file = Path(tempfile.mkstemp(suffix=".json")[1])
    env = {"BENCH_BODY_FILE": str(body_file)}
    steps: dict[str, Callable[[int], dict[str, Any]]] = {
        "throughput_1w": lambda p: throughput_pair(1, plan, env),
        "throughput_2w": lambda p: throughput_pair(2, plan, env),
        "cold_start": lambda p: cold_start(plan),
        "mix": lambda p: handle_mix(plan),
        "deep": lambda p: deep_pages(plan),
        "exact": lambda p: workers_exact(),
        "fresh_mock": lambda p: fresh_mock(plan),
        "prism": lambda p: prism(prism_path, plan) if prism_path else {},
    }
    try:
        port = free_port()
        with running("mock", mock_cmd(port), port, body_of(HANDLE)) as server:
            body_file.write_bytes(post(server.port, body_of(HANDLE))[1])  # the baseline serves these very bytes
        results["page_bytes"] = body_file.stat().st_size
        for name in STEPS:
            if name in only and not (name == "prism" and not prism_path):
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                result = steps[name](free_port())
                if name.startswith("throughput_"):
                    results.update(result)  # mock_Nw and baseline_Nw
                else:
                    results[name] = result
    finally:
        body_file.unlink()
    results["targets"] = targets(results)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip(),
    }
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(table(results))
    args.out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2)
    (args.out / "latest.json").write_text(text)
    (args.out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(text)
    print(f"\nwritten: {args.out / 'latest.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
