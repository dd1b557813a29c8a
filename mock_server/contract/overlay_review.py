"""The prose overlay, written against the vendor's old YAML, read against a new page.

Each action of `openapi/prose.overlay.yaml` records one fact the page's prose adds to its YAML.
When the vendor publishes a new page, an action may select nothing any more (the effective
contract would not load), the vendor's YAML may now document the fact itself (the same way,
partly, or differently: e.g. the 503), and the new prose may disagree with what the overlay says
(an error message, the credit cost). This module finds those places and names the action to edit;
editing it stays a person's call. Selection and application are `overlay.py`'s; `$ref`s are
followed with `contract.resolve`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from mock_server.contract.document import build_contract
from mock_server.contract.overlay import apply_overlay, select
from mock_server.contract.refs import resolve
from mock_server.contract.vendor_page import Source
from mock_server.exceptions import ContractError, OverlayError

# code -> title, for the overlay's actions read against the NEW YAML (and the NEW page's prose).
OVERLAY_RULES: dict[str, str] = {
    "overlay-target-missing": "no longer applies: its target selects nothing (the contract will not load)",
    "overlay-redundant": "the vendor's YAML now says the same: the action can go",
    "overlay-overlaps-yaml": "the vendor's YAML now documents part of it, the same way",
    "overlay-contradicts-yaml": "the vendor's YAML now says something else where the action writes",
    "overlay-contradicts-page": "the effective contract disagrees with the new page's prose",
}


@dataclass(frozen=True)
class OverlayFinding:
    code: str
    action: int  # 1-based, as overlay.py numbers them; 0 = the overlay as a whole
    target: str
    detail: str

    @property
    def title(self) -> str:
        return OVERLAY_RULES[self.code]


def overlay_findings(old: Source, new: Source, overlay: dict[str, Any]) -> list[OverlayFinding]:
    """The actions of an overlay written against OLD, read against NEW (and NEW's prose, for a page).

    Actions apply in order, so each is read against OLD and NEW with the actions before it applied
    to both: what NEW has there and OLD lacks, the vendor added.
    """
    findings: list[OverlayFinding] = []
    actions = [a for a in overlay.get("actions") or [] if isinstance(a, dict)]
    old_doc, new_doc = old.document, new.document
    writes: list[tuple[int, str, Any, Any, Any]] = []  # (action, target, update, NEW value, OLD value)
    for number, action in enumerate(actions, start=1):
        target = str(action.get("target", ""))
        try:
            new_matches = select(new_doc, target)
            old_matches = {str(m.full_path): m.value for m in select(old_doc, target)}
            new_doc = _apply(new_doc, action) if new_matches else new_doc
        except OverlayError as exc:
            findings.append(OverlayFinding("overlay-target-missing", number, target, str(exc)))
            continue
        if not new_matches:
            findings.append(OverlayFinding("overlay-target-missing", number, target, "selects nothing in NEW"))
            continue
        if "update" in action:
            writes += [
                (number, target, action["update"], m.value, old_matches.get(str(m.full_path))) for m in new_matches
            ]
        try:
            old_doc = _apply(old_doc, action)
        except OverlayError:
            pass  # an action OLD did not take either: nothing to compare it with
    for number, target, update, now, before in writes:  # `$ref`s resolved once every action applied
        findings += _compare_update(number, target, update, now, before, new_doc)
    findings += _effective_against_page(new_doc, new, actions)
    return sorted(findings, key=lambda f: f.action or len(actions) + 1)  # by action, a person edits them in order


def _apply(document: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    return apply_overlay(document, {"overlay": "1.0.0", "actions": [action]})


def _compare_update(
    number: int, target: str, update: Any, now: Any, before: Any, document: dict[str, Any]
) -> list[OverlayFinding]:
    """Where the action writes: what the vendor added since OLD (same or different), or changed under it."""
    findings: list[OverlayFinding] = []
    if not isinstance(update, dict) or not isinstance(now, dict):
        return findings
    before = before if isinstance(before, dict) else {}
    for key, value in update.items():
        if key not in now:
            continue  # the overlay still adds it, as it did
        here = f"{target}['{key}']"
        if key not in before:  # the vendor added this since OLD
            same, differ, only = _leaves(value, now[key], document)
            if differ:
                shown = "; ".join(f"{p or key}: vendor {v!r}, overlay {o!r}" for p, v, o in differ[:3])
                more = f" (+{len(differ) - 3} more)" if len(differ) > 3 else ""
                findings.append(
                    OverlayFinding(
                        "overlay-contradicts-yaml",
                        number,
                        here,
                        f"the vendor now documents `{key}` itself, differently: {shown}{more}",
                    )
                )
            elif only:
                findings.append(
                    OverlayFinding(
                        "overlay-overlaps-yaml",
                        number,
                        here,
                        f"the vendor now documents `{key}` itself; the same: {_paths(same)}; "
                        f"still only in the overlay: {_paths(only)}",
                    )
                )
            else:
                findings.append(
                    OverlayFinding(
                        "overlay-redundant",
                        number,
                        here,
                        f"the vendor now documents `{key}` exactly as the overlay does",
                    )
                )
        elif before[key] != now[key]:
            if isinstance(value, dict) and isinstance(now[key], dict):
                findings += _compare_update(number, here, value, now[key], before[key], document)
            else:
                findings.append(
                    OverlayFinding(
                        "overlay-contradicts-yaml",
                        number,
                        here,
                        f"the vendor changed `{key}` from {before[key]!r} to {now[key]!r}; the overlay still sets {value!r}",
                    )
                )
    return findings


def _leaves(
    overlay_value: Any, vendor_value: Any, document: dict[str, Any], path: str = ""
) -> tuple[list[str], list[tuple[str, Any, Any]], list[str]]:
    """(paths the same, (path, vendor, overlay) that differ, paths only the overlay has), `$ref`s followed."""
    if overlay_value == vendor_value or _deref(document, overlay_value) == _deref(document, vendor_value):
        return [path], [], []
    overlay_value, vendor_value = _deref(document, overlay_value), _deref(document, vendor_value)
    if not (isinstance(overlay_value, dict) and isinstance(vendor_value, dict)):
        return [], [(path, vendor_value, overlay_value)], []
    same: list[str] = []
    differ: list[tuple[str, Any, Any]] = []
    only: list[str] = []
    for key, value in overlay_value.items():
        sub = f"{path}.{key}" if path else str(key)
        if key not in vendor_value:
            only.append(sub)
            continue
        s, d, o = _leaves(value, vendor_value[key], document, sub)
        same, differ, only = same + s, differ + d, only + o
    return same, differ, only


def _paths(paths: list[str]) -> str:
    shown = ", ".join(f"`{p}`" for p in paths[:5])
    return shown + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")


def _deref(document: dict[str, Any], node: Any) -> Any:
    try:
        return resolve(document, node)
    except (ContractError, KeyError, TypeError):
        return node  # a $ref to what only the overlay adds (e.g. components.headers): compare as written


def _effective_against_page(
    effective: dict[str, Any], new: Source, actions: list[dict[str, Any]]
) -> list[OverlayFinding]:
    """NEW + overlay against NEW's prose: every page message an example, every example on the page, the cost."""
    if not new.is_page:
        return []
    findings: list[OverlayFinding] = []
    try:
        contract = build_contract(copy.deepcopy(effective))
    except ContractError as exc:
        return [OverlayFinding("overlay-contradicts-page", 0, "$", f"the effective contract does not build: {exc}")]
    examples = contract.error_messages
    for status, messages in sorted((new.messages or {}).items()):
        ours = examples.get(status, [])
        for message in messages:
            if not any(_same_message(message, m) for m in ours):
                findings.append(
                    OverlayFinding(
                        "overlay-contradicts-page",
                        _action_for(actions, f"'{status}'"),
                        f"{status} error messages",
                        f"the page documents {message!r}; no example of the effective contract says it",
                    )
                )
    for status, ours in sorted(examples.items()):
        page = (new.messages or {}).get(status, ())
        for message in ours:
            if not any(_same_message(p, message) for p in page):
                findings.append(
                    OverlayFinding(
                        "overlay-contradicts-page",
                        _action_for(actions, repr(message)),
                        f"{status} error messages",
                        f"an example says {message!r}; the page no longer documents it",
                    )
                )
    costs = {op.credit_cost for op in contract.operations}
    if new.credit_cost is not None and costs and costs != {new.credit_cost}:
        findings.append(
            OverlayFinding(
                "overlay-contradicts-page",
                _action_for(actions, "'x-credit-cost'"),
                "credit cost",
                f"the effective contract charges {', '.join(map(str, sorted(costs)))} credits per call; the page says {new.credit_cost}",
            )
        )
    return findings


def _action_for(actions: list[dict[str, Any]], needle: str) -> int:
    """The first action (1-based) whose target or update mentions `needle` (a repr), so a person knows where to edit."""
    for number, action in enumerate(actions, start=1):
        if needle.strip("'") in str(action.get("target", "")) or needle in repr(action.get("update")):
            return number
    return 0


def _same_message(page: str, example: str) -> bool:
    """The page abbreviates some messages with a trailing `...`: a prefix of the full one."""
    return page == example or (page.endswith("...") and example.startswith(page[:-3]))
