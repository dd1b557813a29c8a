"""What a finding says: what was received, what the contract expects, in words, with the status.

schemathesis' own failure messages are written for its CLI (a JSON Schema dump, "Server error" with
no detail, "must be valid JSON with Content-Type: application/json" for an empty body): here each
kind the kit meets is reworded from the failure's fields and the response itself. Each wording also
gives the finding's *cause*: the same sentence without the status and the values received, so that
one drift seen on several statuses and many requests is one finding (findings.Recorder groups by
check and cause).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from schemathesis.core.transport import Response

from mock_server.contract.document import Operation

EXCERPT = 120  # characters of a body quoted inside a sentence


def reword(check: str, failure: Any, response: Response) -> tuple[str, str, str]:
    """(title, message, cause) of a schemathesis failure on `response`."""
    kind = type(failure).__name__
    status = response.status_code
    if kind in ("ServerError", "ContentTypeServerError"):
        return (
            "Server error",
            f"received {status} with {body_words(response)}; the contract expects a documented answer to this request, not a {status}",
            "server error",
        )
    if kind == "MalformedJson":
        received = (
            "an empty body" if not response.content.strip() else f"a body that is not JSON: {quote(response.content)}"
        )
        return (
            "Body is not JSON",
            f"received {status} with Content-Type {content_type(response) or '(none)'} and {received}; the contract expects a JSON body",
            "empty body" if not response.content.strip() else "body is not JSON",
        )
    if kind == "JsonSchemaError" and check == "response_schema_conformance":
        where = path_words(failure.instance_path)
        keyword = str(failure.schema_path[-1]) if failure.schema_path else ""
        schema = failure.schema  # the schema holding the failing keyword
        any_item = re.sub(r"\[[0-9]+\]", "[*]", where)  # one cause for every item of a list
        return (
            "Body breaks the contract's schema",
            f"received {status} where {schema_problem(where, keyword, schema, failure.instance)}",
            f"{any_item}: {keyword}",
        )
    if kind == "MissingContentType":
        return (
            "Missing Content-Type",
            f"received {status} with no Content-Type header and {body_words(response)}; the contract documents {', '.join(failure.media_types)}",
            "no Content-Type",
        )
    if kind == "UndefinedContentType":
        return (
            "Undocumented Content-Type",
            f"received {status} with Content-Type {failure.content_type}; the contract documents only {', '.join(failure.defined_content_types)}",
            f"Content-Type {normalize(failure.content_type)}",
        )
    if kind == "MissingHeaders":
        return (
            "Missing response headers",
            f"received {status} without the header(s) {', '.join(failure.missing_headers)}; the contract requires them on {status}",
            f"missing {', '.join(failure.missing_headers)}",
        )
    if kind == "MissingHeaderNotRejected":
        expected = " or ".join(str(s) for s in failure.expected_statuses)
        return (
            "A request without a required header was not rejected as documented",
            f"received {status} with {body_words(response)} for a request without the required header {failure.header_name}; the contract expects {expected}",
            f"missing {failure.header_name} not rejected with {status}",
        )
    if kind == "UndefinedStatusCode":
        documented = ", ".join(str(s) for s in failure.defined_status_codes)
        return (
            "Undocumented status code",
            f"received {status} with {body_words(response)}; the contract documents only {documented} for this operation",
            f"undocumented status {status}",
        )
    if kind == "RejectedPositiveData":
        return (
            "A request the contract accepts was rejected",
            f"received {status} with {body_words(response)} for a request that follows the contract; the contract expects {' or '.join(failure.allowed_statuses)}",
            "valid request rejected",
        )
    if kind == "AcceptedNegativeData":
        detail = (failure.message.strip().splitlines() or [""])[0]
        return (
            "A request that breaks the contract was accepted",
            f"received {status} for a request the contract rejects ({detail.rstrip('.')}); the contract expects {' or '.join(failure.expected_statuses)}",
            f"invalid request accepted: {normalize(detail)}",
        )
    message = (failure.message or "").strip() or "(schemathesis gave no detail)"
    return (failure.title, f"received {status}: {message}", normalize((message.splitlines() or [""])[0]))


def auth_wording(label: str, response: Response, op: Operation) -> tuple[str, str, str]:
    """(title, message, cause) of auth_enforced: a 2xx means the key is not checked; another status
    means it is checked, with the wrong status (a 403 is the contract's "no credits", not "no key")."""
    status = response.status_code
    expected = next((v for v in op.examples(401).values() if isinstance(v, dict)), None)
    wanted = "401" + (f" with {orjson.dumps(expected).decode()}" if expected else "")
    received = f"received {status} with {body_words(response)} for a request with {label}"
    if 200 <= status < 300:
        return (
            "Authentication is not enforced",
            f"{received}: it was served; the contract expects {wanted}",
            "served without a valid key",
        )
    meaning = (op.responses.get(str(status)) or {}).get("description")
    documented = (
        f" (the contract's {status} means: {meaning.strip()})" if isinstance(meaning, str) and meaning.strip() else ""
    )
    return (
        f"A missing or invalid key gets {status}, not 401",
        f"{received}{documented}; the contract expects {wanted}",
        f"wrong status {status} for a missing or invalid key",
    )


def schema_problem(where: str, keyword: str, schema: dict[str, Any], instance: Any) -> str:
    """`where` is `value`; the contract expects `what the schema says`, for the keyword that failed."""
    if keyword == "required" and isinstance(instance, dict):
        missing = [name for name in schema.get("required", []) if name not in instance]
        return f"{where} has no {', '.join(repr(m) for m in missing) or 'required'} field; the contract requires {', '.join(repr(r) for r in schema.get('required', []))}"
    if keyword == "additionalProperties" and isinstance(instance, dict):
        extra = [k for k in instance if k not in (schema.get("properties") or {})]
        return f"{where} has the field(s) {', '.join(repr(e) for e in extra)}; the contract allows only {', '.join(repr(p) for p in schema.get('properties') or {})}"
    return f"{where} is {value_words(instance)}; the contract expects {schema_words(schema)}"


def schema_words(schema: Any) -> str:
    """A JSON Schema in words: 'an integer or null', 'a string of digits', 'one of 'API', 'WEB''."""
    if not isinstance(schema, dict):
        return "nothing" if schema is False else "any value"
    if "enum" in schema:
        return "one of " + ", ".join(orjson.dumps(v).decode() for v in schema["enum"])
    if "const" in schema:
        return "exactly " + orjson.dumps(schema["const"]).decode()
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(dict.fromkeys(schema_words(s) for s in schema[key]))
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    if schema.get("nullable") and "null" not in names:
        names.append("null")
    words = " or ".join(_type_word(t, schema) for t in names) or "a value"
    if "pattern" in schema:
        words += f" matching {schema['pattern']}"
    if "minLength" in schema:
        words += f" of at least {schema['minLength']} character(s)"
    if "minimum" in schema or "maximum" in schema:
        words += f" from {schema.get('minimum', '-inf')} to {schema.get('maximum', 'inf')}"
    return words


def _type_word(name: str, schema: dict[str, Any]) -> str:
    return {
        "integer": "an integer",
        "number": "a number",
        "string": "a string",
        "boolean": "a boolean",
        "array": "an array",
        "object": "an object",
        "null": "null",
    }.get(name, name)


def value_words(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {orjson.dumps(value).decode()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_cut(orjson.dumps(value).decode())}"
    if isinstance(value, list):
        return f"an array of {len(value)} item(s)"
    return f"an object {_cut(orjson.dumps(value).decode())}"


def path_words(path: Any) -> str:
    """['aweme_list', 0, 'create_time'] -> 'aweme_list[0].create_time'; [] -> 'the body'."""
    text = ""
    for part in list(path or []):
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the body"


def body_words(response: Response) -> str:
    """How a body looks, in a few words: 'an empty body', 'the JSON body {...}', 'a text/plain body '...''."""
    content = response.content or b""
    if not content.strip():
        return "an empty body" + (f" (Content-Type {content_type(response)})" if content_type(response) else "")
    try:
        orjson.loads(content)
    except orjson.JSONDecodeError:
        kind = content_type(response)
        return f"a {kind} body {quote(content)}" if kind else f"a body without Content-Type: {quote(content)}"
    return f"the JSON body {_cut(content.decode('utf-8', 'replace'))}"


def content_type(response: Response) -> str:
    for name, values in response.headers.items():
        if name.lower() == "content-type":
            return ", ".join(values) if isinstance(values, list) else str(values)
    return ""


def quote(content: bytes) -> str:
    return _cut(repr(content.decode("utf-8", "replace")))


def normalize(text: str) -> str:
    """A sentence without the values in it: quoted strings, JSON objects and numbers stand out."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", text)
    text = re.sub(r"\{.*\}", "{…}", text)
    return re.sub(r"\d+", "N", text)[:160]


def _cut(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"
