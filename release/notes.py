"""`python -m release.notes VERSION`: print CHANGELOG.md's section for VERSION (the GitHub release's
notes). Exits 1, naming the heading it looked for, when the section is missing or empty, so a tag
whose changes were never written down is not released."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def section(changelog: str, version: str) -> str | None:
    """The text under `## [VERSION]` (Keep a Changelog), up to the next `## ` heading."""
    heading = re.compile(rf"^## \[?v?{re.escape(version)}\]?(?:\s|$).*$", re.M)
    found = heading.search(changelog)
    if not found:
        return None
    following = re.compile(r"^## ", re.M).search(changelog, found.end())
    body = changelog[found.end() : following.start() if following else len(changelog)]
    body = re.sub(r"^\[[^\]]+\]:\s*\S+\s*$", "", body, flags=re.M)  # link references of the footer
    return body.strip() or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m release.notes", description=__doc__.splitlines()[0])
    parser.add_argument("version", help="1.2.3 or v1.2.3")
    parser.add_argument("--changelog", type=Path, default=REPO / "CHANGELOG.md")
    args = parser.parse_args(argv)
    version = args.version.removeprefix("v")
    body = section(args.changelog.read_text(encoding="utf-8"), version)
    if body is None:
        print(
            f"{args.changelog.name} has no non-empty section `## [{version}] - YYYY-MM-DD`: "
            f"write the release's changes there before tagging",
            file=sys.stderr,
        )
        return 1
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
