"""The effective contract: the vendor's OpenAPI YAML with the prose overlay applied.

Everything the mock does for an operation (its route, the body it accepts, its statuses, its
error bodies, its headers, its credit cost) is read from here, never copied into code.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import yaml

from mock_server.contract.overlay import apply_overlay
from mock_server.contract.refs import resolve
from mock_server.exceptions import ContractError, OverlayError

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, with its `$ref`s resolved where the mock needs them."""

    operation_id: str
    method: str  # upper case, e.g. "POST"
    path: str
    request_schema: dict[str, Any] | None
    request_required: bool
    responses: dict[str, dict[str, Any]]  # status ("200", "default") -> resolved response object
    secured: bool
    credit_cost: int
    raw: dict[str, Any] = field(repr=False)

    @functools.cached_property
    def statuses(self) -> tuple[int, ...]:
        """The numeric statuses documented for this operation, sorted."""
        return tuple(sorted(int(code) for code in self.responses if code.isdigit()))

    def examples(self, status: int) -> dict[str, Any]:
        """Named example bodies of a documented status, in document order. OpenAPI's singular
        `example:` counts too, under the name `example` (after the named ones)."""
        media = _json_media(self.responses.get(str(status), {}))
        named = {name: ex.get("value") for name, ex in (media.get("examples") or {}).items() if isinstance(ex, dict)}
        if "example" in media and "example" not in named:
            named["example"] = media["example"]
        return named

    def placeholders(self, status: int, name: str) -> dict[str, str]:
        """What a named example's `[placeholder]`s are filled with (its `x-placeholders`)."""
        media = _json_media(self.responses.get(str(status), {}))
        example = (media.get("examples") or {}).get(name)
        values = example.get("x-placeholders") if isinstance(example, dict) else None
        return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}

    def response_schema(self, status: int) -> dict[str, Any] | None:
        return self._per_status[status][0] if status in self._per_status else self._response_schema(status)

    def header_names(self, status: int) -> tuple[str, ...]:
        return self._per_status[status][1] if status in self._per_status else self._header_names(status)

    def _response_schema(self, status: int) -> dict[str, Any] | None:
        response = self.responses.get(str(status)) or self.responses.get("default") or {}
        return _json_media(response).get("schema")

    def _header_names(self, status: int) -> tuple[str, ...]:
        return tuple((self.responses.get(str(status)) or {}).get("headers") or {})

    @functools.cached_property
    def _per_status(self) -> dict[int, tuple[dict[str, Any] | None, tuple[str, ...]]]:
        """(schema, header names) of each documented status, read once: every response needs them."""
        return {status: (self._response_schema(status), self._header_names(status)) for status in self.statuses}


@dataclass(frozen=True)
class Contract:
    document: dict[str, Any] = field(repr=False)
    operations: tuple[Operation, ...]

    def operation(self, method: str, path: str) -> Operation | None:
        for op in self.operations:
            if op.method == method.upper() and op.path == path:
                return op
        return None

    def by_id(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise KeyError(operation_id)

    @functools.cached_property
    def json_bytes(self) -> bytes:
        return orjson.dumps(self.document, option=orjson.OPT_INDENT_2)

    @functools.cached_property
    def yaml_text(self) -> str:
        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True)

    @functools.cached_property
    def error_messages(self) -> dict[int, list[str]]:
        """Every documented error message, by status: the catalog drift checks compare against."""
        catalog: dict[int, list[str]] = {}
        for op in self.operations:
            for status in op.statuses:
                if status >= 400:
                    for value in op.examples(status).values():
                        if isinstance(value, dict) and isinstance(value.get("error"), str):
                            catalog.setdefault(status, []).append(value["error"])
        return catalog


def bundled_path(name: str) -> Path:
    """A file of the bundled contract (the top-level openapi/ folder, shipped in the wheel)."""
    return Path(str(resources.files("mock_server.openapi").joinpath(name)))


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ContractError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ContractError(f"{path}: expected a mapping at the top level")
    return data


def load_contract(
    vendor: Path | None = None, overlay: Path | None | bool = None, validation: str = "documented"
) -> Contract:
    """Vendor YAML (default: the bundled one) + overlay (False: none). By default the bundled
    prose overlay applies to the bundled YAML only: its targets are that file's, so another
    vendor's YAML is served as it is unless an overlay is given. `validation="vendor"`: request
    bodies are the vendor YAML's own (`--validation vendor`), responses keep the overlay."""
    vendor_path = vendor or bundled_path("vendor.yaml")
    if overlay is None and vendor is not None and vendor.resolve() != bundled_path("vendor.yaml").resolve():
        overlay = False
    original = document = read_yaml(vendor_path)
    if overlay is not False:
        overlay_path = overlay if isinstance(overlay, Path) else bundled_path("prose.overlay.yaml")
        overlay_document = read_yaml(overlay_path)  # its ContractError names the path already
        try:
            document = apply_overlay(document, overlay_document)
        except ValueError as exc:  # OverlayError, or a value apply_overlay could not merge
            raise OverlayError(f"{overlay_path}: {exc}") from None
    if validation == "vendor":
        document = vendor_requests(document, original)
    return build_contract(document)


def vendor_requests(document: dict[str, Any], vendor: dict[str, Any]) -> dict[str, Any]:
    """`document` with the vendor's own request bodies, and the components they reach, put back:
    the mock then accepts every request the vendor's YAML accepts (what the overlay's prose and
    the mock's assumptions add to requests is dropped), and `/openapi.json` says so."""
    result = copy.deepcopy(document)
    reached: list[Any] = []
    for path, item in (vendor.get("paths") or {}).items():
        for method in HTTP_METHODS:
            raw = (item or {}).get(method)
            target = ((result.get("paths") or {}).get(path) or {}).get(method)
            if isinstance(raw, dict) and isinstance(target, dict) and "requestBody" in raw:
                target["requestBody"] = copy.deepcopy(raw["requestBody"])
                reached.append(raw["requestBody"])
    seen: set[str] = set()
    while reached:
        node = reached.pop()
        if isinstance(node, list):
            reached += node
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/") and ref not in seen and ref.count("/") == 3:
                seen.add(ref)
                _, _, kind, name = ref.split("/")
                original = ((vendor.get("components") or {}).get(kind) or {}).get(name)
                if original is not None:
                    result.setdefault("components", {}).setdefault(kind, {})[name] = copy.deepcopy(original)
                    reached.append(original)
            reached += node.values()
    return result


def build_contract(document: dict[str, Any]) -> Contract:
    if not str(document.get("openapi", "")).startswith("3."):
        raise ContractError("only OpenAPI 3.x documents are supported (no 'openapi: 3.x' field)")
    global_security = document.get("security") or []
    operations = []
    for path, item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            raw = (item or {}).get(method)
            if not isinstance(raw, dict):
                continue
            body = resolve(document, raw.get("requestBody") or {})
            responses = {str(code): resolve(document, resp) for code, resp in (raw.get("responses") or {}).items()}
            for response in responses.values():
                response["headers"] = {
                    name: resolve(document, header) for name, header in (response.get("headers") or {}).items()
                }
            security = raw["security"] if "security" in raw else global_security
            operations.append(
                Operation(
                    operation_id=raw.get("operationId") or f"{method}_{path}",
                    method=method.upper(),
                    path=path,
                    request_schema=_json_media(body).get("schema"),
                    request_required=bool(body.get("required")),
                    responses=responses,
                    secured=bool(security),
                    credit_cost=int(raw.get("x-credit-cost", 0)),
                    raw=raw,
                )
            )
    return Contract(document=document, operations=tuple(operations))


def _json_media(container: dict[str, Any]) -> dict[str, Any]:
    content = container.get("content") or {}
    for media_type, media in content.items():
        if media_type.split(";")[0].strip().endswith("json"):
            return media or {}
    return {}
