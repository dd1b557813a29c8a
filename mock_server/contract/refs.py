"""The one `$ref` resolver: local references (`#/components/...`), followed until a node that is
not a reference. The loader, the validator, the schema-driven generator, the client rules, the
contract kit and the contract diff all resolve through here."""

from __future__ import annotations

from typing import Any

from mock_server.exceptions import ContractError


def target(document: dict[str, Any], node: Any) -> Any:
    """What `node` points at, following `$ref`s (repeated): the document's own object, not a copy."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            raise ContractError(f"unsupported or circular $ref {ref!r}")
        seen.add(ref)
        node = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def resolve(document: dict[str, Any], node: Any) -> Any:
    """`target`, as a shallow copy when it is an object (the caller may add to it)."""
    node = target(document, node)
    return dict(node) if isinstance(node, dict) else node
