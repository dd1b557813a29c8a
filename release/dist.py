"""The release's distributions: check what is in them, and write the release's pinned requirements.

python -m release.dist check dist/ [--version 1.2.3]
    one wheel and one sdist of one version (the tag's, when given, and then a public version
    PyPI accepts); both carry the bundled contract, the licence and the typing marker; the
    wheel's dependencies are pyproject.toml's, and no test code is shipped.
python -m release.dist pins dist/ --out dist/requirements.txt
    requirements/runtime.txt plus dumpling-mock itself, pinned to the hashes of this wheel
    and sdist: the file attached to the GitHub release, which the CI recipes install with
    `pip install --require-hashes --no-deps -r URL`.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "dumpling-mock"
CONTRACT = ("vendor.yaml", "prose.overlay.yaml", "admin.yaml", "vendor-page.md")
WHEEL_FILES = [f"mock_server/openapi/{f}" for f in CONTRACT] + ["mock_server/py.typed", "contract_tests/py.typed"]
SDIST_FILES = [
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "requirements/runtime.txt",
    "requirements/build.txt",
    *(f"openapi/{f}" for f in CONTRACT),
]
PUBLIC_VERSION = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")


def distributions(dist: Path) -> tuple[Path, Path]:
    wheels = sorted(dist.glob("dumpling_mock-*.whl"))
    sdists = sorted(dist.glob("dumpling_mock-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise SystemExit(
            f"{dist}: expected one wheel and one sdist of dumpling-mock, found {[p.name for p in wheels + sdists]}"
        )
    return wheels[0], sdists[0]


def wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def problems(dist: Path, version: str | None = None) -> list[str]:
    wheel, sdist = distributions(dist)
    out: list[str] = []
    found = wheel_version(wheel)
    if sdist.name != f"dumpling_mock-{found}.tar.gz":
        out.append(f"the wheel is {found} but the sdist is {sdist.name}")
    if version is not None:
        if found != version:
            out.append(f"the distributions are version {found}, the tag says {version}")
        if not PUBLIC_VERSION.fullmatch(version):
            out.append(f"{version} is not a public version PyPI accepts (a tag like v1.2.3)")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = f"dumpling_mock-{found}.dist-info"
        out += [f"{wheel.name} lacks {f}" for f in WHEEL_FILES + [f"{info}/licenses/LICENSE"] if f not in names]
        out += [f"{wheel.name} ships test code: {n}" for n in sorted(names) if n.startswith(("tests/", "release/"))]
        meta = Parser().parsestr(zf.read(f"{info}/METADATA").decode())
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
    for script in ("dumpling-mock", "dumpling-contract"):
        if not re.search(rf"^{script} = ", entry_points, re.M):
            out.append(f"{wheel.name} has no `{script}` command")
    if meta["License-Expression"] != "MIT":
        out.append(f"License-Expression is {meta['License-Expression']!r}, not MIT")
    wanted = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    required = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    if sorted(required) != sorted(d.replace(" ", "") for d in wanted):
        out.append(f"Requires-Dist {required} differ from pyproject.toml [project].dependencies {wanted}")
    with tarfile.open(sdist) as tf:
        top = f"dumpling_mock-{found}"
        members = {m.name.removeprefix(top + "/") for m in tf.getmembers()}
    out += [f"{sdist.name} lacks {f}" for f in SDIST_FILES + ["PKG-INFO"] if f not in members]
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pins(dist: Path, lock: Path = REPO / "requirements" / "runtime.txt") -> str:
    wheel, sdist = distributions(dist)
    own = (
        "\n# dumpling-mock itself: the wheel and sdist published for this release.\n"
        f"{NAME}=={wheel_version(wheel)} \\\n"
        f"    --hash=sha256:{sha256(wheel)} \\\n"
        f"    --hash=sha256:{sha256(sdist)}\n"
    )
    return lock.read_text(encoding="utf-8").rstrip("\n") + "\n" + own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m release.dist", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check")
    check.add_argument("dist", type=Path)
    check.add_argument("--version", help="the version the tag names (v prefix allowed)")
    pin = commands.add_parser("pins")
    pin.add_argument("dist", type=Path)
    pin.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "check":
        found = problems(args.dist, args.version.removeprefix("v") if args.version else None)
        for problem in found:
            print(f"release check: {problem}", file=sys.stderr)
        if not found:
            print(f"release check: {' and '.join(p.name for p in distributions(args.dist))} are complete")
        return 1 if found else 0
    args.out.write_text(pins(args.dist), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
