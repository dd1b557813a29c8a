"""`make mutation`'s summary: the mutation score of each module mutmut has results for.

Score = mutants detected (a test failed, or the mutant hung past mutmut's timeout) / mutants
checked. A mutant no test reaches counts as surviving: it is a gap too. Read from mutmut 3's
`mutants/**/*.py.meta` files, with mutmut's own names for its exit codes.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

DETECTED = ("killed", "timeout", "segfault", "caught by type check")
NOT_COUNTED = ("not checked", "skipped", "check was interrupted by user")


def main(root: Path = Path("mutants")) -> int:
    rows = []
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text("utf-8")).get("exit_code_by_key", {})
        statuses = Counter(status_by_exit_code[code] for code in codes.values())
        checked = sum(n for status, n in statuses.items() if status not in NOT_COUNTED)
        if not checked:
            continue
        detected = sum(statuses[s] for s in DETECTED)
        module = str(meta.relative_to(root))[: -len(".meta")]
        rows.append(
            f"{module:32} {100 * detected / checked:5.1f}%  {detected}/{checked} detected, {checked - detected} surviving"
        )
    print("\n".join(rows) if rows else "no mutation results yet: run `make mutation` first")
    return 0


if __name__ == "__main__":
    sys.exit(main(*[Path(a) for a in sys.argv[1:]]))
