"""`make test-image`: build docker/Dockerfile for real and run the image, without a Docker engine.

Debian's buildah builds it (`--storage-driver vfs --isolation chroot`, in a throw-away storage
folder) and `buildah run` runs it. The official base image cannot be pulled offline, so unless
PYTHON_IMAGE names a pullable one, a stand-in base is made from Debian's own packages (debootstrap
--variant=minbase, python3, python3-venv and a `python` link) and cached as a tarball. The machine
reaches the package registries through a TLS-intercepting proxy: its CA bundle and a pip config
naming it go into the build as secrets, read-only mounts that never reach a layer, the way users
behind a corporate proxy build (README "Docker"); a test proves neither is in the image.

Then, in the running image: the vendor page's curl, the HEALTHCHECK command, the versions, uid
10001, the contract kit against the mock, and SIGTERM as `docker stop` sends it. Skipped, with the
reason, where buildah (or debootstrap, or root) is missing; `make test` skips it too, as
`make test-image` runs it (and .ci/run runs that where it can install buildah).

Environment: PYTHON_IMAGE (a base to use instead of the stand-in), DUMPLING_IMAGE_CACHE (where the
stand-in tarball is kept; default ~/.cache/dumpling-mock), DEBIAN_MIRROR, DUMPLING_BUILD_CA (the CA
bundle to trust; default: the system's).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "Dockerfile"
VERSION = "0.0.1.dev0+image.test"  # the build argument; the image must report exactly this
STAND_IN = "localhost/dumpling-stand-in-python:3.11-bookworm"
STAND_IN_PACKAGES = ("python3", "python3-venv")
IMAGE = "localhost/dumpling-mock:image-test"
ENDPOINT = "/api/v1/get-tiktok-profile-videos"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DUMPLING_TEST_IMAGE") != "1",
        reason="builds and runs the Docker image for real: `make test-image` runs it",
    ),
]


def timing(label: str, seconds: float) -> None:
    """Shown in the test output (make test-image prints them): the figures the README quotes."""
    print(f"\n[image timing] {label}: {seconds:.1f} s", file=sys.__stderr__, flush=True)


@dataclass(frozen=True)
class Buildah:
    """buildah on a private vfs storage, so a run neither needs nor touches the machine's own."""

    exe: str
    root: Path

    def argv(self, *args: str) -> list[str]:
        return [
            self.exe,
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--storage-driver",
            "vfs",
            *args,
        ]

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            pytest.fail(
                f"buildah {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result


@pytest.fixture(scope="module")
def buildah() -> Iterator[Buildah]:
    exe = shutil.which("buildah")
    if not exe:
        pytest.skip(
            "buildah not found: `apt-get install -y buildah debootstrap` (Debian/Ubuntu) to build and run "
            "the image here, or build it with Docker (`make docker-build`)"
        )
    if os.geteuid() != 0:
        pytest.skip("building with buildah's vfs storage and chroot isolation needs root here")
    root = Path(tempfile.mkdtemp(prefix="dumpling-image-", dir=os.environ.get("DUMPLING_IMAGE_TMP", "/var/tmp")))
    try:
        yield Buildah(exe, root)
    finally:
        subprocess.run(Buildah(exe, root).argv("rm", "--all"), capture_output=True, timeout=120)
        subprocess.run(Buildah(exe, root).argv("rmi", "--all", "--force"), capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def cache_dir() -> Path:
    return Path(os.environ.get("DUMPLING_IMAGE_CACHE") or Path.home() / ".cache" / "dumpling-mock")


def stand_in_tarball() -> Path:
    """Debian bookworm minbase + python3 + python3-venv + /usr/bin/python, as a cached tarball."""
    mirror = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
    key = hashlib.sha256(json.dumps([mirror, STAND_IN_PACKAGES, "bookworm", "minbase", 1]).encode()).hexdigest()[:12]
    tarball = cache_dir() / f"stand-in-python-bookworm-{key}.tar"
    if tarball.exists():
        return tarball
    debootstrap = shutil.which("debootstrap")
    if not debootstrap:
        pytest.skip(
            "debootstrap not found (`apt-get install -y debootstrap`): it makes the stand-in base image; "
            "or set PYTHON_IMAGE to a base buildah can pull"
        )
    tarball.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=tarball.parent) as tmp:
        rootfs = Path(tmp) / "rootfs"
        result = subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                f"--include={','.join(STAND_IN_PACKAGES)}",
                "bookworm",
                str(rootfs),
                mirror,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, f"debootstrap failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        (rootfs / "usr" / "bin" / "python").symlink_to("python3")  # as the official image has it
        for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for f in (rootfs / leftovers).glob("*"):
                if f.is_file():
                    f.unlink()
        partial = Path(tmp) / "base.tar"
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."], check=True, timeout=300)
        partial.replace(tarball)  # atomic: a half-written tarball is never taken for a cached one
    timing("stand-in base made with debootstrap (cached for later runs)", time.monotonic() - started)
    return tarball


@pytest.fixture(scope="module")
def base_image(buildah: Buildah) -> str:
    if os.environ.get("PYTHON_IMAGE"):
        return os.environ["PYTHON_IMAGE"]
    tarball = stand_in_tarball()
    started = time.monotonic()
    ctr = buildah("from", "scratch").stdout.strip()
    buildah("add", ctr, str(tarball), "/", timeout=300)
    buildah(
        "config",
        "--env",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--env",
        "LANG=C.UTF-8",
        "--cmd",
        "python3",
        ctr,
    )
    buildah("commit", "--rm", ctr, STAND_IN, timeout=300)
    timing("stand-in base imported into buildah", time.monotonic() - started)
    return STAND_IN


def ca_bundle() -> Path | None:
    """The CA bundle pip must trust in the build: the system's, which holds the proxy's CA."""
    named = (
        os.environ.get("DUMPLING_BUILD_CA")
        or ssl.get_default_verify_paths().cafile
        or "/etc/ssl/certs/ca-certificates.crt"
    )
    return Path(named) if Path(named).is_file() else None


@pytest.fixture(scope="module")
def image(buildah: Buildah, base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    secrets: list[str] = []
    ca = ca_bundle()
    if ca:
        # What a user behind a TLS-intercepting proxy writes: a pip config naming the mounted CA.
        pip_conf = tmp_path_factory.mktemp("build-secrets") / "pip.conf"
        pip_conf.write_text("[global]\ncert = /run/secrets/ca.pem\n", encoding="utf-8")
        secrets = ["--secret", f"id=pip.conf,src={pip_conf}", "--secret", f"id=ca.pem,src={ca}"]
    started = time.monotonic()
    buildah(
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--layers=false",
        "--build-arg",
        f"PYTHON_IMAGE={base_image}",
        "--build-arg",
        f"VERSION={VERSION}",
        *secrets,
        "-f",
        str(DOCKERFILE),
        "-t",
        IMAGE,
        str(REPO),
        timeout=1200,
    )
    timing("image build (buildah bud)", time.monotonic() - started)
    return IMAGE


@pytest.fixture(scope="module")
def container(buildah: Buildah, image: str) -> str:
    return buildah("from", "--name", "dumpling-image-test", image).stdout.strip()


def image_config(buildah: Buildah, image: str) -> dict:
    return json.loads(buildah("inspect", "--type", "image", image).stdout)["Docker"]["config"]


def healthcheck(config: dict) -> list[str]:
    test = config["Healthcheck"]["Test"]
    assert test[0] == "CMD", test
    return test[1:]


def test_image_is_configured_as_the_dockerfile_says(buildah: Buildah, image: str):
    config = image_config(buildah, image)
    assert config["User"] == "10001:10001"
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["DUMPLING_MOCK_HOST"] == "0.0.0.0" and env["DUMPLING_MOCK_PORT"] == "8080"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert config["Cmd"] == ["dumpling-mock", "serve"] and not config.get("Entrypoint")
    assert config["WorkingDir"] == "/data" and "/data" in config["Volumes"]
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["StopSignal"] == "SIGTERM"
    assert "/__admin/health" in " ".join(healthcheck(config))
    assert config["Labels"]["org.opencontainers.image.version"] == VERSION


def test_build_secrets_are_not_in_the_image(buildah: Buildah, container: str):
    """The proxy's CA bundle and the pip config were mounted for one RUN only."""
    ca = ca_bundle()
    if ca is None:
        pytest.skip("no CA bundle on this machine: the build had no secrets to leak")
    mount = Path(buildah("mount", container).stdout.strip())
    try:
        assert not (mount / "etc" / "pip.conf").exists()
        assert not (mount / "run" / "secrets").exists() or not any((mount / "run" / "secrets").iterdir())
        size, digest = ca.stat().st_size, hashlib.sha256(ca.read_bytes()).hexdigest()
        copies = [
            p
            for p in mount.rglob("*")
            if p.is_file()
            and not p.is_symlink()
            and p.stat().st_size == size
            and hashlib.sha256(p.read_bytes()).hexdigest() == digest
        ]
        assert not copies, f"the build's CA bundle was baked into the image: {copies}"
    finally:
        buildah("umount", container)


def run_in(
    buildah: Buildah, container: str, *argv: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    envs = [a for k, v in (env or {}).items() for a in ("--env", f"{k}={v}")]
    return buildah("run", "--isolation", "chroot", *envs, container, "--", *argv, timeout=timeout, check=False)


def the_pages_curl(port: int) -> list[str]:
    """The curl example of the vendor's page (openapi/vendor-page.md), pointed at the container."""
    page = (REPO / "openapi" / "vendor-page.md").read_text(encoding="utf-8")
    block = re.search(r"```bash[^\n]*\n(curl .*?)```", page, re.S)
    assert block, "vendor-page.md has no curl example"
    command = block.group(1).replace("\\\n", " ")
    command = command.replace("https://app.dumplingai.com", f"http://127.0.0.1:{port}").replace(
        "YOUR_API_KEY", "sk_mock_demo"
    )
    return shlex.split(command)


def server_pid(buildah_pid: int) -> int | None:
    """The `dumpling-mock serve` process under `buildah run` (what is PID 1 in a container)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    children: dict[int, list[tuple[int, str]]] = {}
    for line in out.splitlines():
        pid, ppid, args = line.split(None, 2)
        children.setdefault(int(ppid), []).append((int(pid), args))
    todo, found = [buildah_pid], None
    while todo:
        for pid, args in children.get(todo.pop(), []):
            if re.search(r"python\S* /opt/venv/bin/dumpling-mock serve", args):
                found = pid
            todo.append(pid)
    return found


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        assert proc.poll() is None, f"the container exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no 200 from {url} in {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)


def test_image_serves_the_pages_curl_passes_its_healthcheck_and_stops_on_sigterm(
    buildah: Buildah, image: str, container: str, make_client, tmp_path: Path
):
    config = image_config(buildah, image)
    probe = healthcheck(config)
    port = free_port()
    # chroot isolation shares the host's network: listen on loopback and a free port instead of
    # the image's 0.0.0.0:8080 (checked above), so nothing is exposed and no port collides.
    net = {"DUMPLING_MOCK_HOST": "127.0.0.1", "DUMPLING_MOCK_PORT": str(port)}
    log = tmp_path / "container.log"
    envs = [a for k, v in net.items() for a in ("--env", f"{k}={v}")]
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            buildah.argv("run", "--isolation", "chroot", *envs, container, "--", *config["Cmd"]),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/__admin/health", proc, log)
        timing("container start -> healthy", time.monotonic() - started)
        pid = server_pid(proc.pid)
        assert pid, "no dumpling-mock serve process under buildah run"
        uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
        assert uids and uids.groups() == ("10001", "10001"), "the server must run as uid 10001"

        # The vendor page's curl gets the very bytes the in-process mock gives (same seed, same data).
        head, body = tmp_path / "headers", tmp_path / "body"
        result = subprocess.run(
            the_pages_curl(port) + ["-sS", "-D", str(head), "-o", str(body)], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
        assert head.read_text().split()[1] == "200", head.read_text()
        assert re.search(r"(?im)^x-ratelimit-limit: 1000\r?$", head.read_text())
        expected = make_client().post(
            ENDPOINT, json={"handle": "stoolpresidente"}, headers={"Authorization": "Bearer sk_mock_demo"}
        )
        assert expected.status_code == 200
        assert body.read_bytes() == expected.content

        # The HEALTHCHECK command, run inside the container as Docker runs it.
        assert run_in(buildah, container, *probe, env=net).returncode == 0
        version = run_in(buildah, container, "dumpling-mock", "--version")
        assert version.stdout.strip() == f"dumpling-mock {VERSION}", version.stdout + version.stderr

        # The contract kit in the image (the GitLab recipe's job) passes against the containerised mock.
        reports = "/tmp/reports"
        kit = run_in(
            buildah,
            container,
            "dumpling-contract",
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--api-key",
            "sk_mock_demo",
            "--max-requests",
            "60",
            "--reports-dir",
            reports,
            timeout=300,
        )
        assert kit.returncode == 0, kit.stdout[-3000:] + kit.stderr[-3000:]
        assert "CONFORMANT" in kit.stdout

        # SIGTERM to the server process, as `docker stop` sends it to PID 1: a graceful, prompt stop.
        stop = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 15 s after SIGTERM:\n{log.read_text()[-3000:]}")
        timing("SIGTERM -> stopped", time.monotonic() - stop)
        text = log.read_text()
        assert "shutdown complete" in text.lower(), text[-3000:]
        # buildah reports a child killed by a signal as "exited on <signal>": here SIGTERM, re-raised
        # by uvicorn after draining (143 from `docker stop`), not SIGKILL.
        assert "exited on terminated" in text, text[-3000:]
        # And the probe really probes: with the server gone it fails.
        assert run_in(buildah, container, *probe, env=net).returncode != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
