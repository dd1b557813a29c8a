"""The contract diff as a person reads it (Markdown, in the contract kit's report style) and as JSON.

Exit codes: 0 no breaking change, 1 at least one breaking change, 2 usage error. Overlay findings
are for whoever keeps the overlay (a person edits it): they are reported and never fail a run.
"""

from __future__ import annotations

from typing import Any

import orjson

from mock_server.contract.diff import BREAKING, NON_BREAKING, RULES, Change, Diff

NO_BREAKING = 0
HAS_BREAKING = 1  # a usage error is 2, as for every dumpling-mock command (cli.main)

SECTIONS = {
    BREAKING: ("Breaking changes", "a client written against OLD can fail against NEW; fails the run (exit code 1)"),
    NON_BREAKING: ("Non-breaking changes", "additions and loosenings; reported only"),
}


def exit_code(result: Diff) -> int:
    return HAS_BREAKING if result.breaking else NO_BREAKING


def verdict(result: Diff) -> str:
    counts = (
        f"{plural(len(result.breaking), 'breaking change')}, {plural(len(result.non_breaking), 'non-breaking change')}, "
        f"{plural(len(result.overlay), 'overlay finding')}"
    )
    if result.breaking:
        return f"BREAKING: {counts}"
    if result.changes or result.overlay:
        return f"NO BREAKING CHANGE: {counts}"
    return "NO CHANGE: the two contracts document the same API"


def markdown(result: Diff) -> str:
    lines = [
        "# Contract diff report",
        "",
        f"- **Result:** {verdict(result)} (exit code {exit_code(result)})",
        f"- **Old:** `{result.old.label}` ({result.old.summary()})",
        f"- **New:** `{result.new.label}` ({result.new.summary()})",
        f"- **Overlay:** `{result.overlay_label}`" if result.overlay_label else "- **Overlay:** none",
        "",
    ]
    for kind, (title, meaning) in SECTIONS.items():
        changes = [c for c in result.changes if c.kind == kind]
        lines += [f"## {title} ({len(changes)})", "", f"_{meaning}._", ""]
        if not changes:
            lines += ["None.", ""]
            continue
        lines += ["| change | where | old | new |", "|---|---|---|---|"]
        lines += [f"| `{c.code}`: {c.title} | {_cell(c.where)} | {_value(c.old)} | {_value(c.new)} |" for c in changes]
        lines.append("")
    if result.overlay_label:
        lines += [
            f"## Overlay findings ({len(result.overlay)})",
            "",
            "_actions of the overlay that no longer apply to NEW, or that NEW's YAML or prose now "
            "contradicts; for a person to edit; reported only._",
            "",
        ]
        if not result.overlay:
            lines += ["None: every action applies to NEW as it did to OLD.", ""]
        else:
            lines += ["| action | target | finding |", "|---:|---|---|"]
            for f in result.overlay:
                action = str(f.action) if f.action else "—"
                target = f"`{f.target}`" if f.target.startswith("$") else f.target
                lines.append(f"| {action} | {_cell(target)} | `{f.code}`: {_cell(f.detail)} |")
            lines.append("")
    if result.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in result.notes] + [""]
    return "\n".join(lines)


def as_json(result: Diff) -> bytes:
    data: dict[str, Any] = {
        "result": verdict(result),
        "exit_code": exit_code(result),
        "old": {"source": result.old.label, "summary": result.old.summary()},
        "new": {"source": result.new.label, "summary": result.new.summary()},
        "overlay": result.overlay_label,
        "changes": [_change(c) for c in result.changes],
        "overlay_findings": [
            {"code": f.code, "action": f.action or None, "target": f.target, "title": f.title, "detail": f.detail}
            for f in result.overlay
        ],
        "notes": result.notes,
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _change(change: Change) -> dict[str, Any]:
    return {
        "code": change.code,
        "class": RULES[change.code][0],
        "title": change.title,
        "where": change.where,
        "old": change.old,
        "new": change.new,
    }


def _value(value: Any) -> str:
    if value is None:
        return "—"
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return _cell(f"`{text}`" if "`" not in text else text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
