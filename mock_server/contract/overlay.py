"""Apply an OpenAPI Overlay 1.0 document (https://spec.openapis.org/overlay/v1.0.0).

The vendor's YAML stays verbatim; what its prose adds lives in an overlay, so a new vendor
release is a file replacement and a diff. JSONPath selection is jsonpath-ng's.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonpath_ng.ext.parser import parse as parse_jsonpath  # where it is defined: the package re-exports it untyped-ly

from mock_server.exceptions import OverlayError


def merge(target: Any, update: Any) -> Any:
    """Overlay 1.0 `update` semantics: objects merge recursively, arrays append, scalars replace."""
    if isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            target[key] = merge(target[key], value) if key in target else copy.deepcopy(value)
        return target
    if isinstance(target, list) and isinstance(update, list):
        target.extend(copy.deepcopy(update))
        return target
    return copy.deepcopy(update)


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Return a new document with every action of `overlay` applied, in order."""
    if not isinstance(overlay, dict) or not str(overlay.get("overlay", "")).startswith("1."):
        raise OverlayError("not an OpenAPI Overlay 1.x document (missing 'overlay: 1.0.0')")
    result = copy.deepcopy(document)
    for number, action in enumerate(overlay.get("actions") or [], start=1):
        target = action.get("target")
        if not target:
            raise OverlayError(f"action {number} has no target")
        matches = parse_jsonpath(target).find(result)
        if not matches:
            raise OverlayError(f"action {number}: target {target} selects nothing")
        for match in matches:
            if action.get("remove"):
                match.full_path.filter(lambda _: True, result)
            elif "update" in action:
                if not isinstance(match.value, (dict, list)):
                    raise OverlayError(f"action {number}: target {target} is not an object or array")
                merge(match.value, action["update"])
    return result


def select(document: dict[str, Any], target: str) -> list[Any]:
    """The jsonpath-ng matches of an action's target (`.value`, `.full_path`): what the action would change."""
    try:
        return list(parse_jsonpath(target).find(document))
    except Exception as exc:  # jsonpath-ng's lexer and parser errors share no base class but Exception
        raise OverlayError(f"target {target!r} is not a JSONPath jsonpath-ng can read ({exc})") from None
