"""`serve` as a process (mock_server/server/serving.py): what it prints is true when it prints it.

A port in use ends it with one line and exit code 3 before any banner; the banner names the port
actually bound (`--port 0`); with `--workers 2` the banner means the workers accept connections;
SIGTERM exits with the signal with N workers as with one; workers never outlive their parent.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port

BANNER = re.compile(r"^dumpling-mock \S+ on http://127\.0\.0\.1:(\d+) ")


class Serve:
    """`dumpling-mock serve ...` with its stderr read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "mock_server", "serve", "--log-level", "warning", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.proc.poll() is None, f"serve exited with {self.proc.returncode}: {''.join(self.seen)}"
                continue
            self.seen.append(line)
            match = pattern.search(line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern.pattern}: {''.join(self.seen)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_a_port_in_use_ends_serve_with_one_line_and_exit_3_before_any_banner() -> None:
    with socket.socket() as owner:
        owner.bind(("127.0.0.1", 0))
        owner.listen()
        port = owner.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "mock_server", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"dumpling-mock: error: cannot listen on 127.0.0.1:{port}: address already in use"
        " (another server owns it: stop it or choose another --port)"
    ]


def test_port_0_prints_the_port_bound() -> None:
    serve = Serve("--port", "0")
    try:
        port = int(serve.wait_for(BANNER).group(1))
        assert port != 0
        curl = serve.wait_for(re.compile(r"curl -X POST (\S+)"))
        assert curl.group(1) == f"http://127.0.0.1:{port}/api/v1/get-tiktok-profile-videos"
        assert httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=5).json()["status"] == "ok"
    finally:
        serve.stop()


@pytest.mark.slow
def test_with_two_workers_the_banner_means_ready_and_sigterm_exits_143() -> None:
    port = free_port()
    serve = Serve("--port", str(port), "--workers", "2")
    try:
        serve.wait_for(BANNER, timeout=60)
        # At once, without retrying: the workers accept connections when the banner says so.
        for _ in range(4):
            assert httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=5).status_code == 200
        serve.proc.send_signal(signal.SIGTERM)
        code = serve.proc.wait(timeout=30)
    finally:
        serve.stop()
    assert code == -signal.SIGTERM  # 143 in a shell, as with one worker


@pytest.mark.slow
def test_workers_exit_when_their_parent_is_killed() -> None:
    port = free_port()
    serve = Serve("--port", str(port), "--workers", "2")
    workers: list[int] = []
    try:
        serve.wait_for(BANNER, timeout=60)
        workers = [
            pid
            for pid in children(serve.proc.pid)
            if "--multiprocessing-fork" in Path(f"/proc/{pid}/cmdline").read_text()
        ]
        assert len(workers) == 2
        serve.proc.kill()  # kill -9: the parent gets no chance to stop its workers
        serve.proc.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if alive(pid)]
        assert not left, "orphaned workers still running"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=2)
    finally:
        serve.stop()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_sigint_exits_130() -> None:
    serve = Serve("--port", "0")
    try:
        serve.wait_for(BANNER)
        serve.proc.send_signal(signal.SIGINT)
        code = serve.proc.wait(timeout=30)
    finally:
        serve.stop()
    assert code == 130
