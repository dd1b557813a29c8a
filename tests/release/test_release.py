"""The release: hash locks in step with pyproject.toml, the release workflow linted and its build
job run for real on a clean copy of the tree (build, twine check, contents, install from the
pinned requirements with hashes into a fresh venv, smoke test of the installed commands).

Only the build job can run here; the others (buildx and GHCR, PyPI, the GitHub release) are
checked for what they must do: trusted publishing without a token, both platforms, SBOM and
provenance, the version tag and `latest`, the CHANGELOG section as the notes.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # release/ is maintainer tooling at the repo root, not an installed package
from release import dist, lock, notes  # noqa: E402

WORKFLOWS = REPO / ".github" / "workflows"
RELEASE = WORKFLOWS / "release.yml"
VENV_BIN = Path(sys.executable).parent


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


# --- the lock -----------------------------------------------------------------------------------
def test_locks_match_pyproject_toml():
    found = [problem for each in lock.locks() for problem in lock.problems(each)]
    assert not found, (
        "\n".join(found) + "\nThe hash-locked requirements are out of date: run `make lock` and commit requirements/."
    )


def test_lock_check_names_the_disagreement_and_the_fix(tmp_path: Path):
    """A dependency added to pyproject.toml without `make lock` is caught, offline."""
    (tmp_path / "requirements").mkdir()
    for name in ("runtime.txt", "build.txt"):
        shutil.copy(REPO / "requirements" / name, tmp_path / "requirements" / name)
    data = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    bumped = re.sub(r'"httpx==[^"]+"', '"httpx==0.0.1"', data)
    (tmp_path / "pyproject.toml").write_text(
        bumped.replace("dependencies = [\n", 'dependencies = [\n  "left-pad==1.0",\n', 1), encoding="utf-8"
    )
    runtime, build = lock.locks(tmp_path / "pyproject.toml")
    assert lock.problems(build) == []
    assert lock.problems(runtime) == [
        "requirements/runtime.txt was not made from pyproject.toml's current [project].dependencies",
        "requirements/runtime.txt lacks 'left-pad==1.0' from [project].dependencies",
        f"requirements/runtime.txt pins httpx=={lock.pins((REPO / 'requirements' / 'runtime.txt').read_text())['httpx']}, "
        "pyproject.toml [project].dependencies says ==0.0.1",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "release.lock", "--check"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_every_locked_requirement_is_pinned_with_hashes():
    for each in lock.locks():
        text = each.path.read_text(encoding="utf-8")
        entries = lock.entries(text)
        assert len(entries) >= (10 if each.path.name == "runtime.txt" else 2)
        for name, block in entries:
            assert "==" in block and "--hash=sha256:" in block, f"{each.path.name}: {name} is not pinned with a hash"


# --- CHANGELOG ----------------------------------------------------------------------------------
CHANGELOG = """# Changelog

## [Unreleased]

## [1.2.0] - 2027-02-01
### Added
- Replay mode.

## [1.1.0] - 2027-01-10
### Fixed
- A fix.

[1.2.0]: https://example.invalid/compare/v1.1.0...v1.2.0
"""


def test_release_notes_are_the_tags_changelog_section(tmp_path: Path):
    assert notes.section(CHANGELOG, "1.2.0") == "### Added\n- Replay mode."
    assert notes.section(CHANGELOG, "1.1.0") == "### Fixed\n- A fix."
    assert notes.section(CHANGELOG, "1.2") is None
    assert notes.section(CHANGELOG, "Unreleased") is None  # empty: nothing to release
    path = tmp_path / "CHANGELOG.md"
    path.write_text(CHANGELOG, encoding="utf-8")
    missing = subprocess.run(
        [sys.executable, "-m", "release.notes", "v1.3.0", "--changelog", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 1 and "## [1.3.0]" in missing.stderr


def test_changelog_keeps_an_unreleased_section_for_the_next_release():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(r"^## \[Unreleased\]$", text, re.M)


# --- the workflow -------------------------------------------------------------------------------
def actionlint() -> str:
    local = VENV_BIN / "actionlint"
    found = str(local) if local.exists() else shutil.which("actionlint")
    assert found, "actionlint not found: install the [test] extra"
    return found


def test_actionlint_passes_on_this_repositorys_workflows():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert RELEASE in files
    result = subprocess.run(
        [actionlint(), "-no-color", *map(str, files)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def steps_of(job: dict) -> list[dict]:
    return job.get("steps", [])


def uses(job: dict, action: str) -> list[dict]:
    return [s for s in steps_of(job) if str(s.get("uses", "")).split("@")[0] == action]


def test_release_workflow_publishes_what_the_readme_promises():
    wf = load(RELEASE)
    assert wf["on"] == {"push": {"tags": ["v*"]}}
    assert wf["permissions"] == {"contents": "read"}, "least privilege by default; jobs widen it"
    jobs = wf["jobs"]
    assert set(jobs) == {"build", "image", "pypi", "release"}
    text = RELEASE.read_text(encoding="utf-8")
    assert not re.search(r"secrets\.(?!GITHUB_TOKEN\b)", text), "no secret but the job's own GITHUB_TOKEN"

    # PyPI: trusted publishing (OIDC), only after the build and the image succeeded.
    pypi = jobs["pypi"]
    assert set(pypi["needs"]) == {"build", "image"}
    assert pypi["permissions"]["id-token"] == "write"
    (publish,) = uses(pypi, "pypa/gh-action-pypi-publish")
    assert not {"password", "user"} & set(publish.get("with") or {}), "trusted publishing needs no token"
    assert pypi["environment"]["name"] == "pypi"

    # Image: both platforms, pushed with the version and latest, SBOM and provenance attached.
    image = jobs["image"]
    assert image["permissions"]["packages"] == "write"
    (push,) = uses(image, "docker/build-push-action")
    options = push["with"]
    assert set(options["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert options["push"] is True and options["file"] == "docker/Dockerfile"
    assert options["sbom"] is True and options["provenance"] == "mode=max"
    assert "VERSION=${{ needs.build.outputs.version }}" in options["build-args"]
    assert uses(image, "docker/setup-qemu-action") and uses(image, "docker/setup-buildx-action")
    (meta,) = uses(image, "docker/metadata-action")
    tags = meta["with"]["tags"]
    assert "value=${{ needs.build.outputs.version }}" in tags and "value=latest" in tags
    assert "ghcr.io/" in text and uses(image, "actions/attest-build-provenance")

    # GitHub release: the CHANGELOG section as notes, the dists and the pinned requirements attached.
    release = jobs["release"]
    assert release["permissions"] == {"contents": "write"}
    script = "\n".join(s.get("run", "") for s in steps_of(release))
    assert "gh release create" in script and "--notes-file release-assets/release-notes.md" in script
    assert "dist/*" in script and "release-assets/requirements.txt" in script
    build_script = "\n".join(s.get("run", "") for s in steps_of(jobs["build"]))
    assert 'python -m release.notes "$GITHUB_REF_NAME" > release-assets/release-notes.md' in build_script
    # The build tools are the versions the [test] extra pins (what tests/ check them with).
    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"][
        "test"
    ]
    tools = re.search(r"pip install (build==\S+ twine==\S+)", build_script)
    assert tools and set(tools.group(1).split()) <= set(extra), "release.yml's build tools differ from the [test] extra"


def copy_of_the_tree(dest: Path) -> None:
    """The files a clean clone would have, taken from the working tree (so uncommitted work is
    tested too), as a new git repository: tracked and new files, never ignored ones."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=60,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


@pytest.mark.slow
def test_release_build_job_runs_on_a_clean_copy_and_its_install_passes_the_smoke_test(tmp_path: Path):
    """Every `run:` of the build job, in order, as GitHub runs them, for the tag v0.9.1."""
    assert (VENV_BIN / "twine").exists() and (VENV_BIN / "pyproject-build").exists(), "install the [test] extra"
    tree = tmp_path / "clone"
    tree.mkdir()
    copy_of_the_tree(tree)
    changelog = tree / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text(encoding="utf-8").replace(
            "## [Unreleased]\n", "## [0.9.1] - 2027-01-31\n### Fixed\n- The test release.\n\n## [Unreleased]\n", 1
        ),
        encoding="utf-8",
    )
    git = [
        "git",
        "-c",
        "user.name=release-test",
        "-c",
        "user.email=release-test@example.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release test"], ["tag", "v0.9.1"]):
        subprocess.run(git + argv, cwd=tree, check=True, capture_output=True, timeout=60)

    runner = tmp_path / "runner"
    runner.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUMPLING_", "GITHUB_", "SETUPTOOLS_SCM"))}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env['PATH']}",
        GITHUB_REF_NAME="v0.9.1",
        RUNNER_TEMP=str(runner),
        GITHUB_OUTPUT=str(runner / "output"),
        GITHUB_ENV=str(runner / "env"),
    )
    ran = run_steps(steps_of(load(RELEASE)["jobs"]["build"]), tree, env)
    assert "Smoke test of the installed commands" in ran

    outputs = dict(line.split("=", 1) for line in (runner / "output").read_text().splitlines())
    assert outputs == {"version": "0.9.1", "prerelease": "false"}
    assert (tree / "release-assets" / "release-notes.md").read_text() == "### Fixed\n- The test release.\n"
    wheel, sdist = dist.distributions(tree / "dist")
    assert (wheel.name, sdist.name) == ("dumpling_mock-0.9.1-py3-none-any.whl", "dumpling_mock-0.9.1.tar.gz")
    with zipfile.ZipFile(wheel) as zf:
        assert {f"mock_server/openapi/{f}" for f in dist.CONTRACT} <= set(zf.namelist())
    pinned = (tree / "release-assets" / "requirements.txt").read_text()
    assert (
        f"dumpling-mock==0.9.1 \\\n    --hash=sha256:{dist.sha256(wheel)} \\\n    --hash=sha256:{dist.sha256(sdist)}\n"
        in pinned
    )
    # The venv the smoke test ran holds exactly the locked versions, and this release.
    frozen = subprocess.run(
        [str(runner / "smoke" / "bin" / "python"), "-m", "pip", "freeze", "--all"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    installed = lock.pins(frozen)
    locked = lock.pins(pinned)
    assert installed.pop("dumpling-mock") == "0.9.1"
    assert {k: v for k, v in installed.items() if k not in ("pip", "setuptools")} == {
        k: v for k, v in locked.items() if k in installed and k != "dumpling-mock"
    }
    assert set(installed) - {"pip", "setuptools"} <= set(locked)

    # The contract recipe, in a user's checkout, installs this release the way it would install it
    # from GitHub (its requirements.txt, hashes checked) and passes. Only the release's location
    # (a local folder instead of github.com and PyPI) and the port (8080 may be taken here) differ.
    releases = tmp_path / "releases"
    (releases / "v0.9.1").mkdir(parents=True)
    shutil.copy(tree / "release-assets" / "requirements.txt", releases / "v0.9.1" / "requirements.txt")
    user = tmp_path / "user-repo"
    user.mkdir()
    port = free_port()
    recipe_env = {
        **env,
        "PATH": f"{runner / 'smoke' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "DUMPLING_MOCK_VERSION": "0.9.1",
        "DUMPLING_MOCK_RELEASES": releases.as_uri(),
        "PIP_FIND_LINKS": str(tree / "dist"),
        "MOCK_URL": f"http://127.0.0.1:{port}",
    }
    job = load(REPO / "ci" / "github" / "contract.yml")["jobs"]["contract"]
    steps = [{**s, "run": s["run"].replace("--port 8080", f"--port {port}")} for s in steps_of(job) if "run" in s]
    try:
        ran = run_steps(steps, user, recipe_env)
    finally:
        pid = dict(line.split("=", 1) for line in (runner / "env").read_text().splitlines()).get("MOCK_PID")
        if pid:
            subprocess.run(["kill", "-KILL", pid], capture_output=True)
    assert ran[0].startswith("Install dumpling-mock") and "Run the contract suite" in ran
    assert (user / "reports" / "junit.xml").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_steps(steps: list[dict], cwd: Path, env: dict[str, str]) -> list[str]:
    """Each step's `run:` as GitHub's runner runs it (bash -eo pipefail), with $GITHUB_ENV applied."""
    ran = []
    for step in steps:
        if "run" not in step:
            continue
        assert "${{" not in step["run"], f"{step['name']}: pass expressions through env, so this test can run it"
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (
            f"step {step['name']!r} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
        github_env = Path(env["GITHUB_ENV"])
        if github_env.exists():
            env.update(line.split("=", 1) for line in github_env.read_text().splitlines() if "=" in line)
        ran.append(step["name"])
    return ran


def test_version_comes_from_the_git_tag():
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["dynamic"] == ["version"] and "version" not in data["project"]
    assert "setuptools-scm" in " ".join(data["build-system"]["requires"])
    from importlib.metadata import version

    from mock_server import __version__

    assert __version__ == version("dumpling-mock")
    printed = subprocess.run(
        [sys.executable, "-m", "mock_server", "--version"], capture_output=True, text=True, timeout=60
    )
    assert printed.stdout.strip() == f"dumpling-mock {__version__}"


def test_dockerfile_installs_only_from_the_hash_locks():
    """Every package the image build fetches is checked against requirements/*.txt's hashes: the
    dependencies and the build tools come from the locks, the wheel is built without fetching."""
    text = re.sub(r"\s*\\\n\s*", " ", (REPO / "docker" / "Dockerfile").read_text(encoding="utf-8"))
    runs = [line for line in text.splitlines() if line.startswith("RUN ")]
    commands = [c.strip() for run in runs for c in re.split(r"&&|;", run)]
    installs = [c for c in commands if re.search(r"pip\b.* (install|wheel)\b", c)]
    assert len(installs) == 4, installs
    for command in installs:
        from_lock = re.search(r"install .*--require-hashes --no-deps -r requirements/(runtime|build)\.txt$", command)
        own_wheel = re.search(r"(install|wheel) .*--no-deps (--no-build-isolation )?.*(/wheels/\*\.whl|\.)$", command)
        assert from_lock or own_wheel, f"fetches without hashes: {command}"
        if "wheel" in command.split():
            assert "--no-build-isolation" in command, "an isolated build would fetch unhashed build tools"
    assert {m for c in installs for m in re.findall(r"requirements/(\w+)\.txt", c)} == {"runtime", "build"}


def step_named(job: str, name: str) -> dict:
    (found,) = [s for s in steps_of(load(RELEASE)["jobs"][job]) if s.get("name") == name]
    return found


@pytest.mark.parametrize(
    ("tag", "version", "prerelease"),
    [
        ("v1.2.3", "1.2.3", "false"),
        ("v1.3.0rc1", "1.3.0rc1", "true"),
        ("v2.0.0b2", "2.0.0b2", "true"),
    ],
)
def test_version_step_tells_releases_from_prereleases(tmp_path: Path, tag: str, version: str, prerelease: str):
    """`latest` and the GitHub release's pre-release flag follow this step's output."""
    out = tmp_path / "output"
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_REF_NAME": tag,
        "GITHUB_OUTPUT": str(out),
        "GITHUB_ENV": str(tmp_path / "env"),
    }
    run_steps([step_named("build", "Version from the tag")], tmp_path, env)
    assert dict(line.split("=", 1) for line in out.read_text().splitlines()) == {
        "version": version,
        "prerelease": prerelease,
    }


def test_image_name_step_lowercases_the_repository(tmp_path: Path):
    """GHCR refuses upper case; the recipes name ghcr.io/<owner>/<repo> in lower case."""
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_REPOSITORY": "Dumpling-Mock/Dumpling-Mock",
        "GITHUB_ENV": str(tmp_path / "env"),
    }
    run_steps([step_named("image", "Image name (GHCR wants it in lower case)")], tmp_path, env)
    assert (tmp_path / "env").read_text() == "IMAGE=ghcr.io/dumpling-mock/dumpling-mock\n"
