"""Testcontainers recipe (`pip install testcontainers httpx`): the mock's Docker image as a
session fixture, reset before each test.

A published port reaches the container from Docker's bridge, not from loopback, so the admin API
needs a token: the container gets DUMPLING_MOCK_ADMIN_TOKEN and the tests send X-Admin-Token.
With DUMPLING_BASE_URL set, the tests use that mock instead (and DUMPLING_ADMIN_TOKEN, if it has
one): that is how this project's own `make test` runs them, without Docker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

IMAGE = os.environ.get("DUMPLING_IMAGE", "dumpling-mock:local")  # `make docker-build` builds it
ADMIN_TOKEN = os.environ.get("DUMPLING_ADMIN_TOKEN", "example-admin-token")


@pytest.fixture(scope="session")
def dumpling_url() -> Iterator[str]:
    """The base URL of a healthy mock (GET /__admin/health answers 200)."""
    if os.environ.get("DUMPLING_BASE_URL"):
        yield os.environ["DUMPLING_BASE_URL"].rstrip("/")
        return
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError:
        pytest.fail(
            "set DUMPLING_BASE_URL to a running mock, or `pip install testcontainers` to start its image", pytrace=False
        )

    container = DockerContainer(IMAGE).with_exposed_ports(8080).with_env("DUMPLING_MOCK_ADMIN_TOKEN", ADMIN_TOKEN)
    with container:  # starting the container: the only part `make test` does not run
        url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(8080)}"
        wait_healthy(url)
        yield url


def wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url + "/__admin/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the mock at {url} did not become healthy within {timeout_s:g} s")
        time.sleep(0.2)


@pytest.fixture
def admin(dumpling_url: str) -> Iterator[httpx.Client]:
    """A client of the mock's admin API; the mock is back to its start (demo keys, empty
    journal, no faults) before each test."""
    with httpx.Client(base_url=dumpling_url + "/__admin", headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=10) as client:
        client.post("/reset").raise_for_status()
        yield client
