"""What changed between two versions of the vendor's contract, judged by what it does to a client.

A small table-driven differ (oasdiff's rule names where one exists). No OpenAPI differ that is
well kept installs from the registries this project reaches (oasdiff is a Go binary, the npm
`openapi-changes` downloads its binary at install time), and the generic part is small here: one
operation, JSON bodies. What is specific to this kit is what no generic differ sees: the page's
prose (the error-message catalogue, the credit cost) and the prose overlay written against the
old YAML, whose actions may no longer apply or may now contradict what the vendor documents
(`overlay_review.py`). The YAML is read with `contract.build_contract` and `$ref`s are followed
with `contract.resolve`: one loader, one resolver. Not compared: inside `oneOf`/`anyOf`, and
constraints other than type, format, nullability, enum and presence.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mock_server.contract.document import Operation, build_contract
from mock_server.contract.overlay_review import OverlayFinding, overlay_findings
from mock_server.contract.refs import resolve
from mock_server.contract.vendor_page import Source
from mock_server.exceptions import ContractError

BREAKING = "breaking"
NON_BREAKING = "non-breaking"

# code -> (class, title). A change is breaking when a client written against OLD can fail against NEW.
RULES: dict[str, tuple[str, str]] = {
    "operation-removed": (BREAKING, "operation removed"),
    "operation-security-added": (BREAKING, "operation now needs authentication"),
    "request-body-became-required": (BREAKING, "request body became required"),
    "new-required-request-property": (BREAKING, "new required request field"),
    "request-property-became-required": (BREAKING, "request field became required"),
    "request-property-removed": (BREAKING, "request field removed"),
    "request-property-type-changed": (BREAKING, "request field retyped"),
    "request-property-enum-value-removed": (BREAKING, "request enum value removed"),
    "response-status-removed": (BREAKING, "response status removed"),
    "response-property-removed": (BREAKING, "response field removed"),
    "response-property-type-changed": (BREAKING, "response field retyped"),
    "request-property-no-longer-nullable": (BREAKING, "request field may no longer be null"),
    "response-property-became-nullable": (BREAKING, "response field may now be null"),
    "response-property-became-optional": (BREAKING, "response field no longer always present"),
    "response-property-enum-value-removed": (BREAKING, "response enum value removed"),
    "response-header-removed": (BREAKING, "response header removed"),
    "error-message-changed": (BREAKING, "documented error message changed"),
    "error-message-removed": (BREAKING, "documented error message removed"),
    "credit-cost-changed": (BREAKING, "credit cost changed"),
    "operation-added": (NON_BREAKING, "operation added"),
    "operation-security-removed": (NON_BREAKING, "operation no longer needs authentication"),
    "request-body-became-optional": (NON_BREAKING, "request body became optional"),
    "new-optional-request-property": (NON_BREAKING, "new optional request field"),
    "request-property-became-optional": (NON_BREAKING, "request field became optional"),
    "request-property-enum-value-added": (NON_BREAKING, "request enum value added"),
    "response-status-added": (NON_BREAKING, "response status added"),
    "response-property-added": (NON_BREAKING, "response field added"),
    "response-property-became-required": (NON_BREAKING, "response field now always present"),
    "response-property-no-longer-nullable": (NON_BREAKING, "response field no longer null"),
    "response-property-type-narrowed": (NON_BREAKING, "response field narrowed to fewer types"),
    "request-property-type-widened": (NON_BREAKING, "request field accepts more types"),
    "request-property-became-nullable": (NON_BREAKING, "request field may now be null"),
    "response-property-enum-value-added": (NON_BREAKING, "response enum value added"),
    "response-header-added": (NON_BREAKING, "response header added"),
    "error-message-added": (NON_BREAKING, "documented error message added"),
}


@dataclass(frozen=True)
class Change:
    code: str
    where: str
    old: Any = None
    new: Any = None

    @property
    def kind(self) -> str:
        return RULES[self.code][0]

    @property
    def title(self) -> str:
        return RULES[self.code][1]


@dataclass(frozen=True)
class Diff:
    old: Source
    new: Source
    overlay_label: str | None
    changes: list[Change]
    overlay: list[OverlayFinding]
    notes: list[str] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.kind == BREAKING]

    @property
    def non_breaking(self) -> list[Change]:
        return [c for c in self.changes if c.kind == NON_BREAKING]


def diff(old: Source, new: Source, overlay: dict[str, Any] | None = None, overlay_label: str | None = None) -> Diff:
    """Every change from OLD to NEW, plus what NEW does to the overlay's actions."""
    notes: list[str] = []
    changes = diff_documents(old.document, new.document)
    if old.messages is not None and new.messages is not None:
        changes += diff_messages(old.messages, new.messages)
    else:
        side = "OLD" if old.messages is None else "NEW"
        notes.append(f"error messages not compared: {side} documents none (a bare YAML without error examples)")
    if old.credit_cost is not None and new.credit_cost is not None:
        if old.credit_cost != new.credit_cost:
            changes.append(
                Change("credit-cost-changed", "credits per successful request", old.credit_cost, new.credit_cost)
            )
    elif old.credit_cost is not None or new.credit_cost is not None:
        notes.append(f"credit cost not compared: {'NEW' if new.credit_cost is None else 'OLD'} states none")
    findings = overlay_findings(old, new, overlay) if overlay is not None else []
    return Diff(old, new, overlay_label, changes, findings, notes)


# --- the YAML --------------------------------------------------------------------------------------
def diff_documents(old_doc: dict[str, Any], new_doc: dict[str, Any]) -> list[Change]:
    old_ops = {(op.method, op.path): op for op in build_contract(old_doc).operations}
    new_ops = {(op.method, op.path): op for op in build_contract(new_doc).operations}
    changes = [Change("operation-removed", f"{m} {p}") for m, p in old_ops if (m, p) not in new_ops]
    changes += [Change("operation-added", f"{m} {p}") for m, p in new_ops if (m, p) not in old_ops]
    for key in (k for k in old_ops if k in new_ops):
        changes += _diff_operation(old_doc, old_ops[key], new_doc, new_ops[key])
    return changes


def _diff_operation(old_doc: dict[str, Any], old: Operation, new_doc: dict[str, Any], new: Operation) -> list[Change]:
    name = f"{old.method} {old.path}"
    changes: list[Change] = []
    if old.secured != new.secured:
        changes.append(Change("operation-security-added" if new.secured else "operation-security-removed", name))
    if old.request_required != new.request_required and new.request_schema is not None:
        code = "request-body-became-required" if new.request_required else "request-body-became-optional"
        changes.append(Change(code, f"{name} request body"))
    changes += _diff_fields(
        "request", f"{name} request body", fields(old_doc, old.request_schema), fields(new_doc, new.request_schema)
    )
    changes += [Change("response-status-removed", f"{name} {s}") for s in old.responses if s not in new.responses]
    changes += [Change("response-status-added", f"{name} {s}") for s in new.responses if s not in old.responses]
    for status in (s for s in old.responses if s in new.responses):
        where = f"{name} {status} response"
        old_headers = {h.lower(): h for h in old.responses[status].get("headers") or {}}
        new_headers = {h.lower(): h for h in new.responses[status].get("headers") or {}}
        changes += [
            Change("response-header-removed", f"{where} header {h}")
            for k, h in old_headers.items()
            if k not in new_headers
        ]
        changes += [
            Change("response-header-added", f"{where} header {h}")
            for k, h in new_headers.items()
            if k not in old_headers
        ]
        old_schema = old.response_schema(int(status)) if status.isdigit() else None
        new_schema = new.response_schema(int(status)) if status.isdigit() else None
        changes += _diff_fields("response", f"{where} body", fields(old_doc, old_schema), fields(new_doc, new_schema))
    return changes


@dataclass(frozen=True)
class Field:
    """What a client relies on about one field of a body."""

    type: str  # "string", "string(date-time)", "integer|string", "" when the schema says none
    nullable: bool
    enum: tuple[Any, ...] | None
    required: bool


BODY = "(body)"  # the path of the body itself


def fields(
    document: dict[str, Any], schema: Any, path: str = BODY, required: bool = True, refs: frozenset[str] = frozenset()
) -> dict[str, Field]:
    """Every field of a schema by path (`aweme_list[].desc`), `$ref`s followed, recursion cut."""
    if not isinstance(schema, dict):
        return {}
    seen = set(refs)
    node: Any = schema
    while isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in seen:
            return {path: Field("(recursive)", False, None, required)}
        seen.add(node["$ref"])
        try:
            node = resolve(document, {"$ref": node["$ref"]})
        except (KeyError, TypeError):
            raise ContractError(f"$ref {node['$ref']!r} points at nothing in the document") from None
    node = _merge_all_of(document, node)
    types = node.get("type")
    type_list = sorted(types) if isinstance(types, list) else [types] if types else []
    nullable = bool(node.get("nullable")) or "null" in type_list
    type_list = [t for t in type_list if t != "null"]
    if not type_list:
        type_list = ["object"] if "properties" in node else ["array"] if "items" in node else []
    kind = "|".join(type_list) + (f"({node['format']})" if node.get("format") else "")
    enum = tuple(node["enum"]) if isinstance(node.get("enum"), list) else None
    out = {path: Field(kind, nullable, enum, required)}
    required_names = set(node["required"]) if isinstance(node.get("required"), list) else set()
    prefix = "" if path == BODY else f"{path}."
    properties = node.get("properties")
    for name, sub in (properties if isinstance(properties, dict) else {}).items():
        out.update(fields(document, sub, f"{prefix}{name}", name in required_names, frozenset(seen)))
    if isinstance(node.get("items"), dict):
        out.update(fields(document, node["items"], f"{'' if path == BODY else path}[]", True, frozenset(seen)))
    return out


def _merge_all_of(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(node.get("allOf"), list):
        return node
    merged = {k: v for k, v in node.items() if k != "allOf"}
    for part in node["allOf"]:
        part = _merge_all_of(document, resolve(document, part) if isinstance(part, dict) else {})
        merged["properties"] = {**(part.get("properties") or {}), **(merged.get("properties") or {})}
        merged["required"] = list(dict.fromkeys((merged.get("required") or []) + (part.get("required") or [])))
        for key in ("type", "nullable", "enum", "format", "items"):
            if key in part and key not in merged:
                merged[key] = part[key]
    return merged


def _diff_fields(direction: str, where: str, old: dict[str, Field], new: dict[str, Field]) -> list[Change]:
    """Compare two field maps; `direction` is "request" (the client writes) or "response" (it reads)."""
    changes: list[Change] = []
    removed = _topmost(p for p in old if p not in new)
    added = _topmost(p for p in new if p not in old)
    for path in removed:
        changes.append(Change(f"{direction}-property-removed", _at(where, path), old[path].type))
    for path in added:
        if direction == "request":
            code = "new-required-request-property" if new[path].required else "new-optional-request-property"
        else:
            code = "response-property-added"
        changes.append(Change(code, _at(where, path), None, new[path].type))
    for path in (p for p in old if p in new):
        before, after = old[path], new[path]
        if before.type != after.type:
            # A client sends the old types: the new ones must accept them. It reads the new: the old must cover them.
            wider = _accepts(after.type, before.type) if direction == "request" else _accepts(before.type, after.type)
            kind = ("widened" if direction == "request" else "narrowed") if wider else "changed"
            changes.append(Change(f"{direction}-property-type-{kind}", _at(where, path), before.type, after.type))
        if before.nullable != after.nullable:
            code = (
                f"{direction}-property-became-nullable"
                if after.nullable
                else f"{direction}-property-no-longer-nullable"
            )
            changes.append(Change(code, _at(where, path)))
        if before.required != after.required and path != BODY:
            became = "required" if after.required else "optional"
            changes.append(Change(f"{direction}-property-became-{became}", _at(where, path)))
        if before.enum is not None and after.enum is not None:
            gone = [v for v in before.enum if v not in after.enum]
            new_values = [v for v in after.enum if v not in before.enum]
            if gone:
                changes.append(Change(f"{direction}-property-enum-value-removed", _at(where, path), gone, None))
            if new_values:
                changes.append(Change(f"{direction}-property-enum-value-added", _at(where, path), None, new_values))
    return changes


def _accepts(wide: str, narrow: str) -> bool:
    """Every value of type `narrow` is a value of type `wide` ("integer|string" accepts "string"; "number" accepts "integer")."""
    if not wide:  # no type: anything
        return True
    if not narrow or "(" in wide or "(" in narrow:  # from anything to a type, or a format changed: a change
        return False
    accepted = set(wide.split("|"))
    return all(t in accepted or (t == "integer" and "number" in accepted) for t in narrow.split("|") if t)


def _topmost(paths: Iterable[str]) -> list[str]:
    """Paths whose parent is not also in the list: a removed object is one change, not one per field."""
    chosen = set(paths)
    if BODY in chosen:
        return [BODY]
    return sorted(
        p for p in chosen if not any(p.startswith(q + ".") or p.startswith(q + "[]") for q in chosen if q != p)
    )


def _at(where: str, path: str) -> str:
    return where if path == BODY else f"{where} `{path}`"


# --- the prose ------------------------------------------------------------------------------------
def diff_messages(old: dict[int, tuple[str, ...]], new: dict[int, tuple[str, ...]]) -> list[Change]:
    """Per status: a reworded message (paired by similarity) changed, others removed or added."""
    changes: list[Change] = []
    for status in sorted(set(old) | set(new)):
        gone = [m for m in old.get(status, ()) if m not in new.get(status, ())]
        came = [m for m in new.get(status, ()) if m not in old.get(status, ())]
        for message in gone:
            ratios = [(difflib.SequenceMatcher(None, message, m).ratio(), m) for m in came]
            best = max(ratios, default=(0.0, ""))
            if best[0] >= 0.5:
                came.remove(best[1])
                changes.append(Change("error-message-changed", f"{status} error message", message, best[1]))
            else:
                changes.append(Change("error-message-removed", f"{status} error message", message, None))
        changes += [Change("error-message-added", f"{status} error message", None, m) for m in came]
    return changes
