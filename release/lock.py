"""`make lock`: the hash-locked requirements the Docker image and the CI recipes install from.

    requirements/runtime.txt   pyproject.toml [project].dependencies, every transitive pin, every hash
    requirements/build.txt     pyproject.toml [build-system].requires (what builds the wheel)

uv resolves them once for every platform (`--universal`) on CPython 3.11, the image's Python, so
the same file serves linux/amd64, linux/arm64 and the recipes' runners. Each file's header carries
a digest of the pyproject.toml list it was made from: `tests/test_release_lock.py` compares it
offline and says "run make lock" when the two disagree.

    python -m release.lock           regenerate both files (needs uv and the package index)
    python -m release.lock --check   exit 1 with the reason when a file is out of date
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON_VERSION = "3.11"  # the image's interpreter (docker/Dockerfile's PYTHON_IMAGE)
DIGEST_LINE = re.compile(r"^# input-sha256: ([0-9a-f]{64})$", re.M)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


@dataclass(frozen=True)
class Lock:
    """One lock file and the pyproject.toml list it is made from."""

    path: Path
    table: str  # shown in messages
    requirements: tuple[str, ...]


def locks(pyproject: Path = REPO / "pyproject.toml") -> list[Lock]:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    folder = pyproject.parent / "requirements"
    return [
        Lock(folder / "runtime.txt", "[project].dependencies", tuple(data["project"]["dependencies"])),
        Lock(folder / "build.txt", "[build-system].requires", tuple(data["build-system"]["requires"])),
    ]


def digest(requirements: tuple[str, ...]) -> str:
    """Order-insensitive: reordering pyproject.toml's list needs no new lock."""
    return hashlib.sha256(json.dumps(sorted(requirements)).encode()).hexdigest()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """name -> version of every `name==version` line of a requirements file."""
    return {canonical(m.group(1)): m.group(2) for m in PIN.finditer(text)}


def problems(lock: Lock) -> list[str]:
    """Why `lock.path` does not match pyproject.toml (empty when it does)."""
    rel = lock.path.relative_to(lock.path.parents[1]).as_posix()
    if not lock.path.exists():
        return [f"{rel} is missing"]
    text = lock.path.read_text(encoding="utf-8")
    found = DIGEST_LINE.search(text)
    out = []
    if not found or found.group(1) != digest(lock.requirements):
        out.append(f"{rel} was not made from pyproject.toml's current {lock.table}")
    locked = pins(text)
    for requirement in lock.requirements:
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(==\s*([^\s;,]+))?", requirement)
        assert m, requirement
        name, wanted = canonical(m.group(1)), m.group(3)
        if name not in locked:
            out.append(f"{rel} lacks {requirement!r} from {lock.table}")
        elif wanted and locked[name] != wanted:
            out.append(f"{rel} pins {name}=={locked[name]}, pyproject.toml {lock.table} says =={wanted}")
    unhashed = [n for n, block in entries(text) if "--hash=sha256:" not in block]
    if unhashed:
        out.append(f"{rel}: no hash for {', '.join(unhashed)}")
    return out


def entries(text: str) -> list[tuple[str, str]]:
    """(name, the requirement's text with its continuation lines) for each pin."""
    out, current = [], None
    for line in text.splitlines():
        m = PIN.match(line)
        if m:
            current = [canonical(m.group(1)), line]
            out.append(current)
        elif current and line.startswith("    --hash"):
            current[1] += "\n" + line
        elif not line.startswith(" "):
            current = None
    return [(n, b) for n, b in out]


def compile_lock(lock: Lock, uv: str) -> None:
    """Resolve `lock.requirements` with uv and write the file with its digest header."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "requirements.in"
        source.write_text("\n".join(lock.requirements) + "\n", encoding="utf-8")
        out = Path(tmp) / "out.txt"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
        subprocess.run(
            [
                uv,
                "pip",
                "compile",
                str(source),
                "--output-file",
                str(out),
                "--quiet",
                "--universal",
                "--python-version",
                PYTHON_VERSION,
                "--generate-hashes",
                "--no-header",
                "--annotation-style",
                "line",
            ],
            check=True,
            env=env,
        )
        body = out.read_text(encoding="utf-8").replace(str(source), "pyproject.toml")
    header = (
        f"# Generated by `make lock` from pyproject.toml {lock.table}: do not edit by hand.\n"
        f"# Every platform, CPython {PYTHON_VERSION}; install with `pip install --require-hashes -r {lock.path.name}`.\n"
        f"# input-sha256: {digest(lock.requirements)}\n"
    )
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_text(header + body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m release.lock", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the files are up to date")
    args = parser.parse_args(argv)
    if args.check:
        found = [p for lock in locks() for p in problems(lock)]
        for problem in found:
            print(f"{problem}: run `make lock`", file=sys.stderr)
        return 1 if found else 0
    uv = shutil.which("uv", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if not uv:
        print("uv not found: install the [test] extra (`make install`)", file=sys.stderr)
        return 2
    for lock in locks():
        compile_lock(lock, uv)
        print(f"wrote {lock.path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
