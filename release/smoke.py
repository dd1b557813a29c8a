"""`python -m release.smoke --bin VENV/bin [--version X]`: smoke-test an installed dumpling-mock.

Runs the commands a user gets from `pip install dumpling-mock`, from that venv's bin folder only:
`--version`, `serve` (health, then the vendor page's request), `contract`, `dumpling-contract`
against the served mock, `verify-client` with a tiny client, the pytest plugin when the
distribution declares one, and SIGTERM. Standard library only: the release workflow runs it with
a bare Python before anything is installed next to it. Exit status 0 when every step passed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ENDPOINT = "/api/v1/get-tiktok-profile-videos"
DEMO_KEY = "sk_mock_demo"

# The client verify-client runs: page 1 of a handle, the way the vendor page shows it.
CLIENT = """
import json, os, urllib.request
request = urllib.request.Request(
    os.environ["DUMPLING_BASE_URL"] + "/api/v1/get-tiktok-profile-videos",
    data=json.dumps({"handle": "stoolpresidente"}).encode(), method="POST",
    headers={"Authorization": "Bearer " + os.environ["DUMPLING_API_KEY"], "Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=10) as response:
    assert response.status == 200 and json.load(response)["aweme_list"]
"""


class SmokeFailure(Exception):
    """A step's command did not do what a user is promised."""


def step(name: str) -> None:
    print(f"smoke: {name}", flush=True)


def run(argv: list[str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)


def expect(result: subprocess.CompletedProcess[str], what: str, code: int = 0) -> str:
    if result.returncode != code:
        raise SmokeFailure(
            f"{what}: exit {result.returncode}, expected {code}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(base: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + ENDPOINT,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {DEMO_KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def wait_healthy(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SmokeFailure(f"`dumpling-mock serve` exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/__admin/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SmokeFailure(f"no healthy mock at {base} after {timeout} s")


def pytest_plugins(python: Path) -> dict[str, str]:
    """The pytest11 entry points the installed dumpling-mock declares (isolated mode: a checkout's
    dumpling_mock.egg-info in the current folder must not stand in for the installed one)."""
    code = (
        "import importlib.metadata as m, json; d = m.distribution('dumpling-mock'); "
        "print(json.dumps({e.name: e.value for e in d.entry_points if e.group == 'pytest11'}))"
    )
    return json.loads(expect(run([str(python), "-I", "-c", code]), "reading the entry points"))


def smoke(bin_dir: Path, version: str | None, work: Path) -> None:
    mock, kit, python = bin_dir / "dumpling-mock", bin_dir / "dumpling-contract", bin_dir / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUMPLING_")}

    step("dumpling-mock --version")
    printed = expect(run([str(mock), "--version"], env=env, cwd=work), "dumpling-mock --version").strip()
    if version and printed != f"dumpling-mock {version}":
        raise SmokeFailure(f"`dumpling-mock --version` printed {printed!r}, expected 'dumpling-mock {version}'")

    step("dumpling-mock contract")
    contract = json.loads(
        expect(run([str(mock), "contract", "--format", "json"], env=env, cwd=work), "dumpling-mock contract")
    )
    if ENDPOINT not in contract.get("paths", {}):
        raise SmokeFailure(f"the bundled contract has no {ENDPOINT}")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    step(f"dumpling-mock serve --port {port}")
    log = (work / "serve.log").open("w+")
    server = subprocess.Popen(
        [str(mock), "serve", "--port", str(port)], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_healthy(base, server)
        status, body = post(base, {"handle": "stoolpresidente"})
        if status != 200 or len(body.get("aweme_list", [])) != 10:
            raise SmokeFailure(f"the page's request got {status}: {str(body)[:300]}")

        step("dumpling-contract against the served mock")
        result = run(
            [
                str(kit),
                "--base-url",
                base,
                "--api-key",
                DEMO_KEY,
                "--max-requests",
                "60",
                "--reports-dir",
                str(work / "reports"),
            ],
            timeout=300,
            env=env,
            cwd=work,
        )
        if "CONFORMANT" not in expect(result, "dumpling-contract"):
            raise SmokeFailure(f"dumpling-contract did not report CONFORMANT:\n{result.stdout[-2000:]}")

        step("SIGTERM stops the server")
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=15)
        if code not in (0, -signal.SIGTERM):
            raise SmokeFailure(f"`dumpling-mock serve` exited with {code} after SIGTERM")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()

    step("dumpling-mock verify-client -- python client.py")
    client = work / "client.py"
    client.write_text(CLIENT, encoding="utf-8")
    out = expect(
        run([str(mock), "verify-client", "--", str(python), str(client)], env=env, cwd=work),
        "dumpling-mock verify-client",
    )
    print("\n".join("    " + line for line in out.strip().splitlines()[-3:]))

    for plugin, module in pytest_plugins(python).items():
        step(f"pytest plugin {plugin} ({module})")
        (work / "test_smoke_plugin.py").write_text("def test_plugin_loads():\n    pass\n", encoding="utf-8")
        result = run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--trace-config", "test_smoke_plugin.py"],
            env=env,
            cwd=work,
        )
        if f"<module '{module}' from " not in expect(result, f"pytest with the {plugin} plugin"):
            raise SmokeFailure(f"pytest did not load the {plugin} plugin:\n{result.stdout[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m release.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--bin", type=Path, required=True, help="the venv's bin folder holding dumpling-mock")
    parser.add_argument("--version", help="the version `dumpling-mock --version` must print (v prefix allowed)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dumpling-smoke-") as tmp:
        try:
            smoke(args.bin.resolve(), args.version.removeprefix("v") if args.version else None, Path(tmp))
        except (SmokeFailure, subprocess.TimeoutExpired) as exc:
            print(f"smoke: FAILED: {exc}", file=sys.stderr)
            return 1
    print("smoke: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
