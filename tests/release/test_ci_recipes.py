"""Checks for the CI recipes users copy: ci/github/*.yml and ci/gitlab/.gitlab-ci.yml.

GitHub workflows go through actionlint (a real linter for them). GitLab has no
offline linter, so its file is loaded as YAML and checked for the jobs, stages,
rules and scripts the recipe promises. Both are also checked for the two
promises that matter most: the drift job spends a bounded number of paid
requests and never prints or passes the API key on a command line. Every flag
a recipe passes to dumpling-mock / dumpling-contract must exist. Finally, the
recipes are for a user's repository: they name no path of this one, and use the
published release (PyPI with its hashes, or the GHCR image) at one pinned version.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "ci" / "github"
GITLAB = REPO / "ci" / "gitlab" / ".gitlab-ci.yml"
WORKFLOWS = sorted(GITHUB.glob("*.yml"))


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def triggers(workflow: dict) -> dict:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    return {on: None} if isinstance(on, str) else dict.fromkeys(on) if isinstance(on, list) else on


def steps(workflow: dict) -> list[dict]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def runs(workflow: dict) -> str:
    return "\n".join(s.get("run", "") for s in steps(workflow))


# --- GitHub Actions ------------------------------------------------------------------------------
def test_actionlint_passes_on_github_workflows():
    assert {p.name for p in WORKFLOWS} >= {"contract.yml", "drift.yml"}
    local = Path(sys.executable).parent / "actionlint"
    actionlint = str(local) if local.exists() else shutil.which("actionlint")
    assert actionlint, "actionlint not found: install the [test] extra (it provides the `actionlint` command)"
    # Uses shellcheck on `run:` scripts too when shellcheck is on PATH.
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_contract_workflow_runs_the_kit_against_a_healthy_mock_on_every_push_and_pr():
    wf = load(GITHUB / "contract.yml")
    assert {"push", "pull_request"} <= set(triggers(wf))
    script = runs(wf)
    assert "dumpling-mock serve" in script or "docker compose" in script
    assert "/__admin/health" in script, "wait for the mock's health before testing it"
    assert re.search(r"dumpling-contract .*--api-key sk_mock_demo", script)
    uploads = [s for s in steps(wf) if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert uploads and all("always()" in str(s.get("if")) for s in uploads), "upload reports even on failure"
    assert "reports" in str(uploads[0]["with"]["path"])


def test_drift_workflow_is_scheduled_budgeted_and_keeps_the_key_secret():
    wf = load(GITHUB / "drift.yml")
    assert {"schedule", "workflow_dispatch"} <= set(triggers(wf))
    assert triggers(wf)["schedule"][0]["cron"]
    script = runs(wf)
    assert re.search(r"dumpling-contract\b.*--max-requests 30\b", script), "a request budget of 30"
    # The key travels only as the DUMPLING_API_KEY env var, set from the secret.
    envs = [job.get("env", {}) for job in wf["jobs"].values()] + [s.get("env", {}) for s in steps(wf)]
    assert any(e.get("DUMPLING_API_KEY") == "${{ secrets.DUMPLING_API_KEY }}" for e in envs)
    assert any("vars." in str(e.get("DUMPLING_BASE_URL", "")) for e in envs), "base URL from a variable"
    assert_key_never_exposed(script)
    uploads = [s for s in steps(wf) if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert uploads and "always()" in str(uploads[0].get("if")), "upload the drift report even on failure"


def assert_key_never_exposed(script: str) -> None:
    assert "secrets." not in script, "secrets go through env, not into the script text"
    assert "--api-key" not in script, "a key on the command line shows up in process lists"
    assert not re.search(r"set -\w*x|CI_DEBUG_TRACE", script), "tracing would print the key"
    # Testing the variable (`[ -n "$DUMPLING_API_KEY" ]`) is fine; printing it is not.
    for printed in re.findall(r"\b(?:echo|printf)\b([^;|&}\n]*)", script):
        assert not re.search(r"\$\{?DUMPLING_API_KEY", printed), f"prints the key: {printed.strip()}"


# --- GitLab CI -----------------------------------------------------------------------------------
GITLAB_KEYWORDS = {
    "stages",
    "variables",
    "default",
    "workflow",
    "include",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
}


def gitlab_jobs(ci: dict) -> dict[str, dict]:
    return {k: v for k, v in ci.items() if k not in GITLAB_KEYWORDS and not k.startswith(".")}


def resolved(ci: dict, job: dict) -> dict:
    """A job with its `extends` templates merged in (shallow, as GitLab does per key)."""
    out: dict = {}
    parents = job.get("extends", [])
    for parent in [parents] if isinstance(parents, str) else parents:
        out.update(resolved(ci, ci[parent]))
    out.update({k: v for k, v in job.items() if k != "extends"})
    return out


def only_on_schedules(rules: list[dict]) -> bool:
    """The job's first matching rule adds it only for `$CI_PIPELINE_SOURCE == "schedule"`."""
    adding = [r for r in rules if r.get("when") != "never"]
    return bool(adding) and all(re.fullmatch(r'\$CI_PIPELINE_SOURCE == "schedule"', r.get("if", "")) for r in adding)


def test_gitlab_pipeline_has_the_contract_and_drift_jobs():
    ci = load(GITLAB)
    jobs = {name: resolved(ci, job) for name, job in gitlab_jobs(ci).items()}
    assert {"contract", "drift"} <= set(jobs)
    stages = ci["stages"]
    for name, job in jobs.items():
        assert job.get("stage", "test") in stages, f"{name}: stage {job.get('stage')} not in {stages}"
        script = job.get("script")
        assert isinstance(script, list) and script and all(isinstance(s, str) for s in script), f"{name}: script"

    contract, drift = jobs["contract"], jobs["drift"]
    contract_script = "\n".join(contract.get("before_script", []) + contract["script"])
    # The released image runs the mock (as a service: its CMD is `dumpling-mock serve`) and the kit.
    release = "$DUMPLING_MOCK_IMAGE:$DUMPLING_MOCK_VERSION"
    assert ci["default"]["image"]["name"] == release
    (service,) = contract["services"]
    assert service == {"name": release, "alias": "mock"}
    assert contract["variables"]["MOCK_URL"] == "http://mock:8080" and "/__admin/health" in contract_script
    assert re.search(r"dumpling-contract .*--api-key sk_mock_demo", contract_script)
    assert any(r.get("if", "").find('"schedule"') >= 0 and r.get("when") == "never" for r in contract["rules"]), (
        "the contract job stays out of scheduled (drift) pipelines"
    )

    assert only_on_schedules(drift["rules"]), "drift runs on schedules only"
    drift_script = "\n".join(drift["script"])
    assert re.search(r"dumpling-contract\b.*--max-requests 30\b", drift_script)
    assert drift["variables"]["DUMPLING_BASE_URL"] == "$DUMPLING_STAGING_BASE_URL"
    assert_key_never_exposed(drift_script)
    for job in (contract, drift):
        assert job["artifacts"]["when"] == "always" and any("reports" in p for p in job["artifacts"]["paths"])


def test_workflow_schedules_exist_in_gitlab_pipelines():
    # A `workflow:` block that never admits schedule pipelines would silently disable drift.
    rules = load(GITLAB).get("workflow", {}).get("rules", [])
    admits = [r for r in rules if r.get("when") != "never"]
    assert not rules or any("CI_COMMIT_BRANCH" in r.get("if", "") or "schedule" in r.get("if", "") for r in admits)


# --- the recipes only use flags the CLIs have -----------------------------------------------------
def recipe_invocations() -> dict[str, set[str]]:
    """script name -> every --flag passed to it by any recipe (GitHub, GitLab, compose)."""
    texts = [runs(load(p)) for p in WORKFLOWS]
    ci = load(GITLAB)
    texts += ["\n".join(resolved(ci, j).get("script", [])) for j in gitlab_jobs(ci).values()]
    texts.append(" ".join(load(REPO / "docker" / "compose.yaml")["services"]["contract"]["command"]))
    flags: dict[str, set[str]] = {"dumpling-mock": set(), "dumpling-contract": set()}
    for text in texts:
        for name in flags:
            # A command, not a part of an image name or URL (ghcr.io/dumpling-mock/dumpling-mock:1.0).
            for m in re.finditer(rf"(?<![\w/.-]){name}\b(?![:/])([^\n&|;>]*)", text):
                flags[name] |= {w.split("=")[0] for w in shlex.split(m.group(1)) if w.startswith("--")}
    return flags


@pytest.mark.parametrize("script", ["dumpling-mock", "dumpling-contract"])
def test_recipes_only_pass_flags_the_cli_accepts(script):
    entry = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"][script]
    module, func = entry.split(":")
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} does not exist yet")
    argv = [script, "serve", "--help"] if script == "dumpling-mock" else [script, "--help"]
    code = f"import sys; from {module} import {func} as main; sys.argv = {argv!r}; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    used = recipe_invocations()[script]
    assert used, f"no recipe calls {script}"
    missing = {f for f in used if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", result.stdout)}
    assert not missing, f"recipes pass {sorted(missing)} but `{' '.join(argv)}` does not list them"


# --- recipes for a user's repository: published artifacts, one pinned version (issue 18) -----------
RECIPES = [*WORKFLOWS, GITLAB]


def yaml_strings(node) -> list[str]:
    """Every key and value of a YAML document: what a CI system reads (comments are not)."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in yaml_strings(k) + yaml_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in yaml_strings(v)]
    return [node] if isinstance(node, str) else []


def repository_paths() -> set[str]:
    """Every file and folder of this repository, relative to its root."""
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, timeout=60).stdout.split()
    paths = set()
    for rel in listed or [p.relative_to(REPO).as_posix() for p in REPO.rglob("*") if ".git" not in p.parts]:
        parts = rel.split("/")
        paths |= {"/".join(parts[: n + 1]) for n in range(len(parts))}
    return paths


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_names_no_path_of_this_repository(recipe: Path):
    """Copied into a user's repository, a recipe cannot build or install from this checkout."""
    text = "\n".join(yaml_strings(load(recipe)))
    assert not re.search(r"pip\d?(\.\d+)? install[^\n]*\s(-e\s+)?\.(\s|$|\[)", text), (
        "installs the checkout (pip install .)"
    )
    assert not re.search(r"docker (compose|build)\b|buildx", text), "builds an image from the checkout"
    paths = repository_paths()
    found = []
    for path in sorted(paths):
        # A top-level folder counts when written as a path (`docker/`, `./release`), not as the word
        # it also is (`docker run`, "release"); files and deeper paths count as they are written.
        folder = "/" not in path and any(p.startswith(path + "/") for p in paths)
        written = re.escape(path) + ("/" if folder else r"(?![\w-])")
        if re.search(r"(?:(?<=\./)|(?<![\w/.$-]))" + written, text) or (
            folder and re.search(rf"\./{re.escape(path)}\b", text)
        ):
            found.append(path)
    assert not found, f"{recipe.name} names paths of this repository: {found}"


def published(source_url: str) -> tuple[str, str]:
    """(GHCR image, releases download URL) of the project whose source is `source_url`."""
    owner_repo = source_url.removeprefix("https://github.com/").strip("/")
    return f"ghcr.io/{owner_repo.lower()}", f"{source_url.rstrip('/')}/releases/download"


def test_recipes_use_the_published_release_pinned_in_one_place():
    urls = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    image, releases = published(urls["Source"])
    versions = set()
    for path in WORKFLOWS:
        wf = load(path)
        env = wf["env"]
        # One place: the repository variable, with the release the recipe was written for as default.
        m = re.fullmatch(
            r"\$\{\{ vars\.DUMPLING_MOCK_VERSION \|\| '(\d+\.\d+\.\d+)' \}\}", env["DUMPLING_MOCK_VERSION"]
        )
        assert m, f"{path.name}: DUMPLING_MOCK_VERSION = {env['DUMPLING_MOCK_VERSION']!r}"
        versions.add(m.group(1))
        assert env.get("DUMPLING_MOCK_RELEASES", releases) == releases
        assert env.get("DUMPLING_MOCK_IMAGE", image) == image
        text = runs(wf)
        # Nothing else names a version: every use goes through the variable.
        assert not re.search(r"dumpling-mock[=:@]=?\d", text) and "DUMPLING_MOCK_VERSION" in text
        for job in wf["jobs"].values():
            install = "\n".join(s.get("run", "") for s in job.get("steps", []))
            if "pip install" in install:
                assert re.search(
                    r'pip install --require-hashes --no-deps \\\n\s+-r "\$DUMPLING_MOCK_RELEASES/'
                    r'v\$DUMPLING_MOCK_VERSION/requirements.txt"',
                    install,
                ), install
            if "docker run" in install:
                assert '"$DUMPLING_MOCK_IMAGE:$DUMPLING_MOCK_VERSION"' in install
    ci = load(GITLAB)
    assert ci["variables"]["DUMPLING_MOCK_IMAGE"] == image
    versions.add(ci["variables"]["DUMPLING_MOCK_VERSION"])
    gitlab_text = GITLAB.read_text(encoding="utf-8")
    assert gitlab_text.count(ci["variables"]["DUMPLING_MOCK_VERSION"]) == 1, "the version is named once"
    assert len(versions) == 1 and re.fullmatch(r"\d+\.\d+\.\d+", versions.pop())
    # The release workflow publishes exactly these: the image under the repository's name, and
    # requirements.txt attached to the GitHub release.
    release = (REPO / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert "IMAGE=ghcr.io/${GITHUB_REPOSITORY,,}" in release and "release-assets/requirements.txt" in release


def test_readme_copy_paste_fetches_these_recipes_at_their_release():
    """The README's copy-paste names each recipe at the release the recipes default to."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## CI recipes") : readme.index("## Releases")]
    version = load(GITLAB)["variables"]["DUMPLING_MOCK_VERSION"]
    source = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Source"]
    raw = source.replace("https://github.com/", "https://raw.githubusercontent.com/")
    for recipe in RECIPES:
        rel = recipe.relative_to(REPO).as_posix()
        assert f"{raw}/v{version}/{rel}" in section, f"README's copy-paste lacks {rel} at v{version}"
    image, _ = published(source)
    assert f"{image}:{version}" in readme, "the README's docker run names the recipes' release"
