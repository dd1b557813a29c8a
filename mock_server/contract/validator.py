"""THE validator: one place that checks requests and responses against the effective contract.

The mock (request stage and its own responses), verify-client, the proxy and the contract kit all
call this module, so they can never disagree about what the contract allows. Schemas are OpenAPI
3.0 (Draft 4 plus `nullable`); they are rewritten to JSON Schema once and compiled with
jsonschema_rs, with `$ref`s resolved against the whole document.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import orjson

from mock_server.contract.document import Contract, Operation
from mock_server.contract.refs import target
from mock_server.server.memo import BodyMemo

NAMED_SCHEMAS = ("properties", "patternProperties", "definitions", "schemas")  # name -> schema mappings
PLACEHOLDER = re.compile(
    r"\\\[[^\]]+\\\]"
)  # an escaped "[handle]" inside re.escape()d text (may be filled with "": an empty handle)


@dataclass(frozen=True)
class Violation:
    """One way a request or response departs from the contract."""

    where: str  # "request.body", "request.headers", "response.status", "response.body", ...
    pointer: str  # JSON pointer inside `where`, "" for the whole thing
    message: str
    kind: str = "contract"  # "contract": the YAML says so; "documentation": the prose/examples say so

    def __str__(self) -> str:
        at = f"{self.where}{self.pointer}" if self.pointer else self.where
        return f"{at}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "pointer": self.pointer, "message": self.message, "kind": self.kind}


def to_json_schema(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 schema keywords that JSON Schema Draft 4 reads differently."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        # the values of `properties` & co. are keyed by name: a property may be called "example"
        key: {name: to_json_schema(sub) for name, sub in value.items()}
        if key in NAMED_SCHEMAS and isinstance(value, dict)
        else to_json_schema(value)
        for key, value in node.items()
        if key not in ("example", "examples")
    }
    if out.pop("nullable", False) is True and "$ref" not in out:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


class ContractValidator:
    """Compiled validators for every schema of a contract (compiled once, reused per request)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._root = to_json_schema({"components": contract.document.get("components") or {}})
        self._cache: dict[int, jsonschema_rs.Validator] = {}
        self._keep: list[Any] = []  # keeps cached schemas alive so their id() stays unique
        self._bodies: BodyMemo[tuple[list[Violation], list[Violation]]] = BodyMemo()
        self._known: dict[int, set[str]] = {}
        self._header_cache: dict[tuple[str, str, int], list[tuple[str, bool, dict[str, Any] | None]]] = {}
        catalog = contract.error_messages
        self._messages = {
            status: [re.compile("^" + PLACEHOLDER.sub(".*", re.escape(m)) + "$", re.S) for m in messages]
            for status, messages in catalog.items()
        }

    def _compiled(self, schema: dict[str, Any]) -> jsonschema_rs.Validator:
        key = id(schema)
        validator = self._cache.get(key)
        if validator is None:
            document = dict(self._root, **to_json_schema(copy.deepcopy(schema)))
            validator = jsonschema_rs.Draft4Validator(document, validate_formats=False)
            self._cache[key] = validator
            self._keep.append(schema)
        return validator

    def schema_violations(self, schema: dict[str, Any] | None, instance: Any, where: str) -> list[Violation]:
        if schema is None:
            return []
        validator = self._compiled(schema)
        if validator.is_valid(instance):
            return []
        return [
            Violation(where, _pointer(error.instance_path), error.message) for error in validator.iter_errors(instance)
        ]

    # --- requests -------------------------------------------------------------------------------
    def request_body(self, op: Operation, body: Any) -> list[Violation]:
        return self.schema_violations(op.request_schema, body, "request.body")

    def unknown_fields(self, op: Operation, body: Any) -> list[str]:
        """Top-level body fields the contract does not name (allowed, but worth a warning)."""
        schema = op.request_schema or {}
        known = self._known.get(id(schema))
        if known is None:
            self._keep.append(schema)
            known = self._known[id(schema)] = set(target(self.contract.document, schema).get("properties") or {})
        return sorted(k for k in body if k not in known) if isinstance(body, dict) and known else []

    # --- responses ------------------------------------------------------------------------------
    def response(
        self,
        op: Operation,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[Violation]:
        """Check a response as a client would receive it: status, content type, headers, body."""
        documented = str(status) in op.responses or "default" in op.responses
        if not documented:
            return [Violation("response.status", "", f"status {status} is not documented for {op.operation_id}")]
        found: list[Violation] = []
        lowered = {k.lower(): v for k, v in headers.items()}
        found += self._headers(op, status, lowered)
        schema = op.response_schema(status)
        if schema is None:
            return found
        content_type = lowered.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            found.append(
                Violation("response.headers", "/content-type", f"expected application/json, got {content_type!r}")
            )
            return found
        in_schema, in_messages = self._body(op, schema, status, body)
        found += in_schema
        if status >= 400 and not found:
            found += in_messages
        return found

    def _body(
        self, op: Operation, schema: dict[str, Any], status: int, body: bytes
    ) -> tuple[list[Violation], list[Violation]]:
        """(schema violations, undocumented error message) of a JSON body. The verdict depends only
        on (operation, schema, status, bytes), so it is worked out once per distinct body."""
        self._compiled(schema)  # also keeps `schema` alive, so that its id() names it
        body = bytes(body)

        def verdict() -> tuple[list[Violation], list[Violation]]:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                return [Violation("response.body", "", "body is not valid JSON")], []
            messages = self.error_message(op, status, parsed) if status >= 400 else []
            return self.schema_violations(schema, parsed, "response.body"), messages

        in_schema, in_messages = self._bodies.get((op.method, op.path, id(schema), status, body), body, verdict)
        return list(in_schema), list(in_messages)

    def _headers(self, op: Operation, status: int, headers: Mapping[str, str]) -> list[Violation]:
        found = []
        for name, required, schema in self._header_specs(op, status):
            value = headers.get(name.lower())
            if value is None:
                if required:
                    found.append(Violation("response.headers", f"/{name}", "required header is missing"))
                continue
            if schema is not None:  # an integer header: the only kind of header schema checked
                try:
                    number = int(value)
                except ValueError:
                    found.append(Violation("response.headers", f"/{name}", f"{value!r} is not an integer"))
                    continue
                found += self.schema_violations(schema, number, "response.headers")
        return found

    def _header_specs(self, op: Operation, status: int) -> list[tuple[str, bool, dict[str, Any] | None]]:
        """(name, required, integer schema or None) of a response's documented headers, worked
        out once per (operation, status): every response of the mock is checked."""
        key = (op.method, op.path, status)
        specs = self._header_cache.get(key)
        if specs is None:
            specs = []
            for name, spec in (op.responses.get(str(status), {}).get("headers") or {}).items():
                schema = target(self.contract.document, spec.get("schema") or {})
                specs.append((name, bool(spec.get("required")), schema if schema.get("type") == "integer" else None))
            self._header_cache[key] = specs
        return specs

    def error_message(self, op: Operation, status: int, body: Any) -> list[Violation]:
        """Documentation drift: an error message that is not one of the page's documented messages."""
        patterns = self._messages.get(status)
        if not patterns or not isinstance(body, dict) or not isinstance(body.get("error"), str):
            return []
        if any(p.match(body["error"]) for p in patterns):
            return []
        return [
            Violation(
                "response.body",
                "/error",
                f"{body['error']!r} is not a documented {status} message",
                kind="documentation",
            )
        ]


def _pointer(path: Iterable[Any]) -> str:
    return "".join(f"/{part}" for part in path)
