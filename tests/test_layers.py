"""The layers of docs/architecture.md hold (import-linter, configured in pyproject.toml), and the
contract really catches an upward import: a copy of the tree with one added is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's packages come before the installed ones
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for name in ("mock_server", "contract_tests"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept, 0 broken." in result.stdout, result.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    stage = root / "mock_server" / "pipeline" / "validate_request.py"
    stage.write_text(stage.read_text() + "\nfrom mock_server.admin import routes as _upward  # noqa: E402\n")
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout
    assert "mock_server layers" in result.stdout and "BROKEN" in result.stdout
    assert "mock_server.pipeline.validate_request -> mock_server.admin.routes" in result.stdout


def test_the_pipeline_importing_client_verification_is_refused(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    stage = root / "mock_server" / "pipeline" / "send.py"
    stage.write_text(stage.read_text() + "\nfrom mock_server.verify import rules as _rules  # noqa: E402\n")
    result = lint_imports(root)
    assert result.returncode == 1
    assert "pipeline stages never import client verification BROKEN" in result.stdout


def test_every_package_ships_in_the_wheel() -> None:
    """setuptools lists packages explicitly (openapi/ ships as mock_server.openapi): a new package
    left out of pyproject.toml would be missing from the wheel and the image."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for name in ("mock_server", "contract_tests")
        for init in (REPO / name).rglob("__init__.py")
    }
    assert on_disk <= listed, sorted(on_disk - listed)
    assert listed - on_disk == {"mock_server.openapi"}


def test_the_readme_names_every_folder_in_layer_order() -> None:
    """README "Architecture": one row per folder (or top module) of mock_server, highest layer
    first, as import-linter's layers contract has them; docs/architecture.md lists every module."""
    import re
    import tomllib

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    rows = [m.group(1) for m in re.finditer(r"^\| (`[^|]+`) \|", section, re.M)]
    named = [re.findall(r"`([a-z_]+)(?:/|\.py)`", row) for row in rows]
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c["layers"] for c in config["contracts"] if c["name"].startswith("mock_server layers"))
    expected = [sorted(part.strip().removeprefix("mock_server.") for part in layer.split("|")) for layer in layers]
    assert [sorted(n) for n in named] == expected
    on_disk = {p.name for p in (REPO / "mock_server").iterdir() if (p / "__init__.py").exists() and p.name != "openapi"}
    on_disk |= {"settings", "exceptions"}
    assert {n for row in named for n in row} == on_disk
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for module in (REPO / "mock_server").rglob("*.py"):
        if module.name in ("__init__.py", "__main__.py") or module.parent.name == "openapi":
            continue
        relative = module.relative_to(REPO / "mock_server").as_posix()
        assert f"`{relative}`" in doc or f"`{module.name}`" in doc, f"docs/architecture.md does not list {relative}"


def test_make_test_runs_the_static_checks_and_the_readme_names_real_targets() -> None:
    import re

    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    assert re.search(r"^test: lint$", makefile, re.M)
    lint = makefile.split("\nlint: ", 1)[1].split("\n\n", 1)[0]
    for tool in ("ruff check .", "ruff format --check .", "mypy", "lint-imports"):
        assert tool in lint, tool
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"`make ([a-z][a-z-]*)", readme))
    assert mentioned and mentioned <= targets, sorted(mentioned - targets)
