"""Shared fixtures: the mock in-process (ASGI) and as a real process on a loopback port."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app.factory import create_app
from mock_server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ENDPOINT = "/api/v1/get-tiktok-profile-videos"
DEMO_KEY = "sk_mock_demo"


def auth(key: str = DEMO_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """make_client(**settings) -> a TestClient on a fresh in-process mock (client address: loopback)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(dataclasses.replace(Settings(), **overrides)), client=("127.0.0.1", 50000))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


class LiveMock:
    """A `dumpling-mock serve` process on a free loopback port."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> LiveMock:
        cmd = [
            sys.executable,
            "-m",
            "mock_server",
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            *self.args,
        ]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mock exited with {self.proc.returncode}: {self.proc.stderr.read().decode()}")
            try:
                if httpx.get(self.base_url + "/__admin/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mock did not become healthy in time")

    def stop(self, sig: int | None = None) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        if sig is None:
            self.proc.terminate()
        else:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def live_mock() -> Iterator[Callable[..., LiveMock]]:
    """live_mock(*args, env=None) -> a started LiveMock; stopped at teardown."""
    started: list[LiveMock] = []

    def start(*args: str, env: dict[str, str] | None = None, port: int | None = None) -> LiveMock:
        mock = LiveMock(list(args), env, port).start()
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.stop()
